"""``startup-taint-undeclared``: a taint some agent adds to Karpenter's nodes after launch,
not declared in the NodePool (``taints`` or ``startupTaints``), that pending pods do not
tolerate. Karpenter then decides the pods no longer fit the node it launched for them and
launches another (aws/karpenter-provider-aws#6355); declaring it in ``startupTaints`` makes
Karpenter expect it and wait."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eks_gpu.diagnose.context import Context
from eks_gpu.diagnose.finding import Diagnosis
from eks_gpu.diagnose.view import ClusterView, labels_of, ref, requests_gpu
from eks_gpu.names import LABEL_NODEPOOL, PREFIX_KARPENTER, TAINT_PREFIX_NODE
from eks_gpu.scheduling.taints import is_ephemeral, taint_str, untolerated

Obj = dict[str, Any]


def _declared(nodepool: Mapping[str, Any]) -> set[tuple[str, str]]:
    spec = nodepool.get("spec") if isinstance(nodepool.get("spec"), Mapping) else {}
    template = (spec or {}).get("template") or {}
    pod_spec = template.get("spec") if isinstance(template, Mapping) else {}
    out = set()
    for field in ("taints", "startupTaints"):
        for taint in (pod_spec or {}).get(field) or []:
            if isinstance(taint, Mapping):
                out.add((str(taint.get("key")), str(taint.get("effect"))))
    return out


def _system(taint: Mapping[str, Any]) -> bool:
    """Taints Kubernetes or Karpenter add themselves (conditions, disruption, start-up)."""
    key = str(taint.get("key") or "")
    return is_ephemeral(taint) or key.startswith((TAINT_PREFIX_NODE, PREFIX_KARPENTER))


def _tolerations(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = pod.get("spec") if isinstance(pod.get("spec"), Mapping) else {}
    listed = (spec or {}).get("tolerations") or []
    return [t for t in listed if isinstance(t, Mapping)]


def startup_taint_undeclared(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    pending = [pod for pod in view.pending if requests_gpu(pod)]
    if not pending:
        return []
    out = []
    for node in view.nodes.values():
        pool = labels_of(node).get(LABEL_NODEPOOL)
        nodepool = view.nodepools.get(str(pool)) if pool else None
        if nodepool is None:
            continue
        declared = _declared(nodepool)
        taints = (node.get("spec") or {}).get("taints") or []
        extra = [
            t
            for t in taints
            if isinstance(t, Mapping)
            and not _system(t)
            and (str(t.get("key")), str(t.get("effect"))) not in declared
        ]
        for taint in extra:
            blocked = [ref(p) for p in pending if untolerated([taint], _tolerations(p))]
            if not blocked:
                continue
            out.append(
                Diagnosis(
                    "startup-taint-undeclared",
                    "warning",
                    ref(node),
                    f"taint {taint_str(taint)} was added after launch and NodePool {pool} does "
                    "not declare it: Karpenter may keep launching nodes for the pods it blocks",
                    (
                        f"node taint {taint_str(taint)} is not in NodePool {pool}'s taints or "
                        "startupTaints",
                        f"pending GPU pods that do not tolerate it: {', '.join(blocked[:5])}",
                    ),
                    f"add {{key: {taint.get('key')}, effect: {taint.get('effect')}}} to NodePool "
                    f"{pool} spec.template.spec.startupTaints (if the agent removes it once "
                    "ready) or to taints with a toleration on the pods",
                )
            )
    return out


__all__ = ["startup_taint_undeclared"]
