"""Pending GPU pods, explained by the simulator (the one placement model, with EKS admission
and Karpenter's limit accounting), and the NodePool limits that hold them back.

The simulator runs once per diagnosis over the pending GPU pods and the existing nodes; its
reason codes are the same ones ``simulate -o json`` prints. What the cluster's own
components said (the scheduler's ``FailedScheduling``, Karpenter's ``incompatible with
nodepool`` / ``exceed limits`` events) is added as evidence, whatever their version's wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eks_gpu.diagnose.context import Context
from eks_gpu.diagnose.finding import Diagnosis
from eks_gpu.diagnose.view import ClusterView, meta, name_of, ref, requests_gpu
from eks_gpu.errors import EksGpuError
from eks_gpu.manifests import Manifest
from eks_gpu.scheduling.simulate import Inputs, simulate
from eks_gpu.scheduling.snapshot import snapshot_from_manifests

Obj = dict[str, Any]
LIMIT_CODE = "nodepool-limit-exceeded"
EVENT_REASONS = ("FailedScheduling",)
FIXES = {
    "taint-not-tolerated": "add the toleration to the pod (on EKS, a pod that requests "
    "nvidia.com/gpu gets the nvidia.com/gpu toleration from admission) or change the pool's taint",
    "label-undefined": "remove the nodeSelector/affinity key no NodePool sets, or add it to the "
    "GPU NodePool's template labels",
    "requirement-conflict": "align the pod's nodeSelector/affinity with the NodePool's "
    "requirements",
    "nodepool-admits-no-type": "widen the NodePool's requirements (instance-family, "
    "instance-gpu-name, capacity-type): as written they admit no instance type",
    "pod-excludes-nodepool-types": "the pod's node selection excludes every type the pool "
    "admits; widen one of them",
    "no-instance-type-fits": "request less (memory after the 7.5% VM overhead and DaemonSet "
    "overhead), or allow bigger instance types or more GPUs per type",
    "no-offering": "allow more zones or capacity types (spot and on-demand)",
    LIMIT_CODE: "raise the NodePool's spec.limits (at least the largest candidate type's "
    "capacity above current usage), or narrow the pool to smaller types",
    "min-values-unsatisfied": "lower minValues or widen the requirement it applies to",
    "no-nodepool": "create a GPU NodePool (`eks-gpu render` / `eks-gpu apply`)",
}


class NotRun(EksGpuError):
    """A rule could not look at its input (the engine reports it as not run)."""


@dataclass(frozen=True)
class _Outcome:
    unschedulable: dict[str, list[Mapping[str, Any]]]
    launching: dict[str, str]  # pod ref -> "nodepool/instance-type"


def _manifests(view: ClusterView, pending: list[Obj]) -> list[Manifest]:
    """Every node (NodePool limits count each one's capacity), the pods bound to GPU nodes
    (a GPU pod fits nowhere else, so other nodes' free room is irrelevant) and the pending
    GPU pods: a tenth of a big cluster's pods, parsed instead of all of them."""
    objs: list[Obj] = list(view.nodes.values())
    objs += [pod for node in view.gpu_nodes for pod in view.pods_on.get(name_of(node), ())]
    objs += pending
    return [Manifest(obj, "cluster", index) for index, obj in enumerate(objs)]


def _outcome(view: ClusterView, ctx: Context, pending: list[Obj]) -> _Outcome:
    try:
        snapshot = snapshot_from_manifests(_manifests(view, pending))
        inputs = Inputs(
            nodepools=view.state.of("NodePool"),
            nodeclasses=view.state.of("EC2NodeClass"),
            nodeoverlays=view.state.of("NodeOverlay"),
            workloads=list(view.state.of("DaemonSet")),
            prices=ctx.prices,
            nodes=snapshot.nodes,
            pending=snapshot.pending,
        )
        document = simulate(inputs).document
    except EksGpuError as error:
        raise NotRun(f"the simulator cannot read the cluster: {error.message}") from None
    unschedulable = {u["pod"]: u["reasons"] for u in document["unschedulable"]}
    launching = {
        pod: f"{claim['nodepool']}/{claim['instance_type']}"
        for claim in document["nodeclaims"]
        for pod in claim["pods"]
    }
    return _Outcome(unschedulable, launching)


def _events_for(view: ClusterView, pod: Mapping[str, Any]) -> list[str]:
    namespace, name = meta(pod).get("namespace"), name_of(pod)
    out = []
    for event in view.state.of("Event"):
        involved = event.get("involvedObject")
        if not isinstance(involved, Mapping) or involved.get("kind") != "Pod":
            continue
        if involved.get("name") != name or involved.get("namespace") != namespace:
            continue
        message = str(event.get("message") or "")
        if event.get("reason") in EVENT_REASONS or "nodepool" in message:
            out.append(f"event {event.get('reason')}: {message}")
    return out[-2:]


def pending_gpu_pods(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``pending-gpu-pod`` for each pending pod that requests a GPU, and
    ``nodepool-gpu-limit-reached`` for each NodePool whose limits hold one back."""
    pending = [pod for pod in view.pending if requests_gpu(pod)]
    if not pending:
        return []
    outcome = _outcome(view, ctx, pending)
    out: list[Diagnosis] = []
    limited: dict[str, list[str]] = {}
    for pod in pending:
        key = ref(pod).removeprefix("Pod/")
        events = _events_for(view, pod)
        reasons = outcome.unschedulable.get(key)
        if reasons is None:
            target = outcome.launching.get(key, "an existing node")
            out.append(
                Diagnosis(
                    "pending-gpu-pod",
                    "info",
                    ref(pod),
                    f"pending, but it fits: Karpenter should place it on {target}; a node may "
                    "still be launching or initializing",
                    tuple(events) or ("the simulator finds room for it",),
                    "wait a few minutes (GPU nodes take 3-6 min to become ready); if it stays "
                    "Pending, check NodeClaims (`kubectl get nodeclaims`) and the device plugin",
                )
            )
            continue
        lines = [f"{r['nodepool']}: {r['code']}: {r['message']}" for r in reasons]
        for r in reasons:
            if r["code"] == LIMIT_CODE:
                limited.setdefault(str(r["nodepool"]), []).append(key)
        codes = list(dict.fromkeys(str(r["code"]) for r in reasons))
        out.append(
            Diagnosis(
                "pending-gpu-pod",
                "error",
                ref(pod),
                "no NodePool can launch a node for this GPU pod",
                (*lines, *events),
                "; ".join(FIXES.get(code, code) for code in codes),
            )
        )
    out.extend(_limit_diagnoses(view, outcome, limited))
    return out


def _limit_diagnoses(
    view: ClusterView, outcome: _Outcome, limited: dict[str, list[str]]
) -> list[Diagnosis]:
    out = []
    for pool, pods in sorted(limited.items()):
        nodepool = view.nodepools.get(pool, {})
        spec = nodepool.get("spec") if isinstance(nodepool.get("spec"), Mapping) else {}
        status = nodepool.get("status") if isinstance(nodepool.get("status"), Mapping) else {}
        limits = dict((spec or {}).get("limits") or {})
        used = dict((status or {}).get("resources") or {})
        message = next(
            str(r["message"])
            for p in pods
            for r in outcome.unschedulable[p]
            if r["nodepool"] == pool and r["code"] == LIMIT_CODE
        )
        out.append(
            Diagnosis(
                "nodepool-gpu-limit-reached",
                "error",
                f"NodePool/{pool}",
                f"NodePool {pool}'s limits keep {len(pods)} pending GPU pod(s) from a node",
                (
                    f"limits: {limits}",
                    f"in use (status.resources): {used or 'unknown'}",
                    message,
                    "Karpenter charges each new NodeClaim its largest candidate type, so a "
                    "remaining limit below that type opens no NodeClaim even when the sum "
                    "looks fine (aws/karpenter-provider-aws#8068)",
                ),
                FIXES[LIMIT_CODE],
            )
        )
    return out


__all__ = ["NotRun", "pending_gpu_pods"]
