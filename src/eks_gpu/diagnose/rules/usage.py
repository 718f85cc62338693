"""How GPU nodes are used: CPU pods on them (isolation), or no GPU pods at all (idle)."""

from __future__ import annotations

from typing import Any

from eks_gpu.diagnose.context import Context, age_text, parse_time
from eks_gpu.diagnose.finding import Diagnosis
from eks_gpu.diagnose.view import (
    ClusterView,
    gpu_amounts,
    instance_type,
    labels_of,
    meta,
    name_of,
    owner_kind,
    ref,
    requests_gpu,
)
from eks_gpu.inventory.units import capacity_type, hourly_price
from eks_gpu.names import LABEL_NODEPOOL, LABEL_ZONE, TAINT_NVIDIA_GPU

SHOWN = 5


def _tainted_for_gpus(node: dict[str, Any]) -> bool:
    taints = (node.get("spec") or {}).get("taints") or []
    return any(isinstance(t, dict) and t.get("key") == TAINT_NVIDIA_GPU for t in taints)


def isolation_violated(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``isolation-violated``: pods that request no GPU run on a GPU node (DaemonSet pods and
    mirror pods excepted): they keep an expensive node alive and take its CPU and memory."""
    out = []
    for node in view.gpu_nodes:
        intruders = [
            pod
            for pod in view.pods_on.get(name_of(node), ())
            if not requests_gpu(pod)
            and owner_kind(pod) not in ("DaemonSet", "Node")
            and not view.is_plugin_pod(pod)
        ]
        if not intruders:
            continue
        shown = ", ".join(ref(p).removeprefix("Pod/") for p in intruders[:SHOWN])
        more = f" and {len(intruders) - SHOWN} more" if len(intruders) > SHOWN else ""
        tainted = _tainted_for_gpus(node)
        why = (
            "the node has the nvidia.com/gpu taint, so these pods tolerate it on purpose or "
            "with a blanket toleration (operator: Exists without key)"
            if tainted
            else "the node has no nvidia.com/gpu taint"
        )
        fix = (
            "remove the broad toleration from those workloads"
            if tainted
            else "taint the GPU NodePool: spec.template.spec.taints [{key: nvidia.com/gpu, "
            'value: "true", effect: NoSchedule}] (GPU pods get the toleration from EKS\'s '
            "ExtendedResourceToleration admission)"
        )
        out.append(
            Diagnosis(
                "isolation-violated",
                "warning",
                ref(node),
                f"{len(intruders)} pod(s) without a GPU request run on GPU node {name_of(node)}",
                (f"pods: {shown}{more}", why),
                fix + "; then let Karpenter move them (consolidation) or `kubectl drain` the node",
            )
        )
    return out


def idle_gpus(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``idle-gpus``: GPU nodes older than ``ctx.idle_after`` with no pod that requests a GPU,
    with what they cost per hour. Only the node's age is known from a snapshot, so "idle for"
    is a lower bound: the node has no GPU pod now and has existed that long."""
    out = []
    for node in view.gpu_nodes:
        allocatable = gpu_amounts((node.get("status") or {}).get("allocatable"))
        if not any(v > 0 for v in allocatable.values()):
            continue  # unregistered or unhealthy: other rules say why
        if any(requests_gpu(pod) for pod in view.pods_on.get(name_of(node), ())):
            continue
        created = parse_time(meta(node).get("creationTimestamp"))
        if created is None or ctx.now - created < ctx.idle_after:
            continue
        labels = labels_of(node)
        capacity = capacity_type(labels) or "on-demand"
        zone = labels.get(LABEL_ZONE)
        price = hourly_price(ctx.prices, instance_type(node), capacity, zone)
        cost = f"${price:.3f}/h" if price is not None else "an unknown price"
        pool = labels.get(LABEL_NODEPOOL)
        out.append(
            Diagnosis(
                "idle-gpus",
                "warning",
                ref(node),
                f"{sum(allocatable.values())} GPU(s) idle: no GPU pod on {name_of(node)} "
                f"({instance_type(node) or 'unknown type'}, {capacity}), costing {cost}",
                (
                    f"node age {age_text(ctx.now - created)}, no pod requests a GPU",
                    f"NodePool: {pool}" if pool else "not a Karpenter node",
                ),
                "let Karpenter remove empty GPU nodes: disruption.consolidationPolicy "
                "WhenEmptyOrUnderutilized (or WhenEmpty) with a short consolidateAfter; check "
                "no karpenter.sh/do-not-disrupt pod or non-GPU pod keeps it",
            )
        )
    return out


__all__ = ["idle_gpus", "isolation_violated"]
