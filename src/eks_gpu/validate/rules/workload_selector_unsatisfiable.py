"""``workload-selector-unsatisfiable``: no NodePool of the set can run this workload.

Either its ``nodeSelector``/required node affinity matches nothing any NodePool can launch
(a label the pool does not set, a family it does not allow...), or it asks for
``nvidia.com/gpu`` and tolerates the taints of no pool that could give it one. Either way
Karpenter never launches a node for it and it stays Pending. Sets without NodePools are
skipped: the nodes may come from elsewhere.

The verdict per pool is ``placement.check_pool``, the simulator's (taints, requirement
compatibility, an instance type intersecting pool and pod), on the pool's types that give
``nvidia.com/gpu`` for a GPU pod; the selector is judged on the pool as if untainted, so the
finding can say which of the two is in the way.

Pods are judged as EKS's ``ExtendedResourceToleration`` admission stores them (a GPU pod
tolerates ``nvidia.com/gpu:NoSchedule``; ``scheduling.admission``) unless the set says
otherwise (``--no-eks-admission``). Where that admission alone turns an error into a pass,
an ``info`` finding says so, with the error a cluster without the plugin would give.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.admission import admit, toleration_str
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.scheduling.taints import taint_str
from eks_gpu.validate.findings import Finding, object_ref
from eks_gpu.validate.rules.placement import (
    blocking_taints,
    exists_toleration,
    has_node_constraints,
    selector_reasons,
    view_of,
)
from eks_gpu.validate.rules.pools import Pool, pools_of
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.workloads import in_pod_spec

SELECTOR_FIX = (
    "select only labels a NodePool sets (its spec.template.metadata.labels or requirements, "
    "e.g. node-type: gpu), or add the label/value to the NodePool"
)


def _selector_path(pod_spec: dict[str, Any]) -> str:
    affinity = pod_spec.get("affinity")
    if isinstance(affinity, dict) and affinity.get("nodeAffinity"):
        return ".affinity.nodeAffinity"
    return ".nodeSelector"


def _taint_finding(obj: dict[str, Any], view: PodView, pools: list[Pool]) -> Finding:
    blocked = {p.ref: blocking_taints(view, p) for p in pools}
    shown = "; ".join(f"{ref} ({', '.join(map(taint_str, t))})" for ref, t in blocked.items())
    first = blocked[pools[0].ref][0]
    return RULE.finding(
        obj,
        in_pod_spec(obj, ".tolerations"),
        f"asks for {RESOURCE_NVIDIA_GPU} but tolerates no GPU pool's taints: {shown}",
        f"add the toleration {exists_toleration(first)} to the pod template",
    )


def _selector_finding(
    obj: dict[str, Any], pod_spec: dict[str, Any], view: PodView, reasons: dict[str, list[str]]
) -> Finding:
    detail = "; ".join(f"{ref}: {', '.join(why)}" for ref, why in reasons.items())
    if not has_node_constraints(view):
        return RULE.finding(
            obj,
            in_pod_spec(obj, ".containers"),
            f"asks for {RESOURCE_NVIDIA_GPU} but no NodePool launches NVIDIA GPU instances: "
            f"{detail}",
            "add a GPU NodePool (eks-gpu render) or allow NVIDIA GPU families in one",
        )
    return RULE.finding(
        obj,
        in_pod_spec(obj, _selector_path(pod_spec)),
        f"no NodePool can satisfy its node selector/affinity, so it stays Pending: {detail}",
        SELECTOR_FIX,
    )


def _verdict(
    obj: dict[str, Any], pod_spec: dict[str, Any], pools: list[Pool], eks_admission: bool
) -> Finding | None:
    """The error for one workload, or None when some pool can run it."""
    view = view_of(pod_spec, eks_admission)
    if view is None:
        return None
    gpu = view.gpus > 0
    if not gpu and not has_node_constraints(view):
        return None
    reasons = {p.ref: [r.message for r in selector_reasons(view, p)] for p in pools}
    matching = [p for p in pools if not reasons[p.ref]]
    if not matching:
        return _selector_finding(obj, pod_spec, view, reasons)
    if not gpu or any(not blocking_taints(view, p) for p in matching):
        return None
    return _taint_finding(obj, view, matching)


def _workload_finding(
    obj: dict[str, Any], pod_spec: dict[str, Any], pools: list[Pool], eks_admission: bool
) -> Finding | None:
    """The error for one workload; or, when only EKS's admission lets it run, an ``info``
    finding saying so; None otherwise."""
    finding = _verdict(obj, pod_spec, pools, eks_admission)
    if finding is not None or not eks_admission:
        return finding
    added = admit(pod_spec).added
    without = _verdict(obj, pod_spec, pools, False) if added else None
    if without is None:
        return None
    tolerations = ", ".join(toleration_str(t) for t in added)
    return Finding(
        RULE.id,
        "info",
        object_ref(obj),
        in_pod_spec(obj, ".tolerations"),
        f"runs only because EKS's ExtendedResourceToleration admission adds {tolerations}; "
        f"on a cluster without that plugin (--no-eks-admission) it would stay Pending: it "
        f"{without.message}",
        f"nothing to do on EKS; elsewhere add {tolerations} to the pod template",
    )


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    pools = pools_of(manifests)
    if not pools:
        return
    for obj, pod_spec in manifests.workloads():
        finding = _workload_finding(obj, pod_spec, pools, manifests.eks_admission)
        if finding is not None:
            yield finding


RULE = Rule(
    id="workload-selector-unsatisfiable",
    severity="error",
    summary="a workload's selector/affinity no NodePool satisfies, or a GPU pod that "
    "tolerates no GPU pool's taints",
    check=_check,
)

__all__ = ["RULE"]
