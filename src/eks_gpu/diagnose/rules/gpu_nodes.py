"""GPU nodes whose GPUs the kubelet does not offer: never registered, or marked unhealthy
(karpenter.md "Readiness"; nvidia.md section 8, P3 and P6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eks_gpu.diagnose.context import Context
from eks_gpu.diagnose.finding import Diagnosis
from eks_gpu.diagnose.rules.logs import matching
from eks_gpu.diagnose.view import (
    ClusterView,
    conditions,
    gpu_amounts,
    has_gpu_resource,
    instance_type,
    is_bottlerocket,
    labels_of,
    name_of,
    nvidia_type,
    ref,
)
from eks_gpu.names import LABEL_NODECLAIM

NOT_REGISTERED = "ResourceNotRegistered"
XID_LINES = ("XidCriticalError", "marked unhealthy", "marking device as unhealthy")
HARDWARE_CONDITION = "AcceleratedHardwareReady"
"""The EKS node monitoring agent's GPU condition: ``True`` is healthy, never a finding."""


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def _unregistered_claims(view: ClusterView) -> dict[str, Mapping[str, Any]]:
    """NodeClaims whose ``Initialized`` condition waits on an unregistered resource, by the
    node they launched (``status.nodeName``) or by their own name when it has none yet."""
    out: dict[str, Mapping[str, Any]] = {}
    for claim in view.state.of("NodeClaim"):
        initialized = conditions(claim).get("Initialized") or {}
        if initialized.get("status") != "True" and initialized.get("reason") == NOT_REGISTERED:
            out[str(_status(claim).get("nodeName") or name_of(claim))] = claim
    return out


def not_registered(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``gpu-not-registered``: an NVIDIA instance-type node with no GPU resource in capacity,
    or a NodeClaim ``Initialized`` waiting with reason ``ResourceNotRegistered``."""
    claims = _unregistered_claims(view)
    out = []
    plugin_hint = (
        "no device plugin DaemonSet exists (see device-plugin-missing)"
        if not view.plugin_daemonsets
        else "check the device plugin pod on the node and its log"
    )
    for node in view.nodes.values():
        name = name_of(node)
        claim = claims.pop(name, None) or claims.pop(
            str(labels_of(node).get(LABEL_NODECLAIM) or ""), None
        )
        gpu_type = nvidia_type(node) and not is_bottlerocket(node)
        if has_gpu_resource(node) or not (gpu_type or claim is not None):
            continue
        evidence = [f"instance type {instance_type(node) or '(unknown)'}: status.capacity has no "
                    "nvidia.com/gpu"]  # fmt: skip
        if claim is not None:
            message = (conditions(claim).get("Initialized") or {}).get("message") or ""
            evidence.append(f"{ref(claim)} Initialized: {NOT_REGISTERED} {message}".rstrip())
        plugin = view.plugin_pods_on(name)
        evidence.append(f"device plugin pod on the node: {ref(plugin[0]) if plugin else 'none'}")
        out.append(
            Diagnosis(
                "gpu-not-registered",
                "error",
                ref(node),
                "a GPU node that does not advertise nvidia.com/gpu: GPU pods cannot land and "
                "Karpenter never initializes (nor consolidates) the node",
                tuple(evidence),
                f"the device plugin must run on the node: {plugin_hint}; then `kubectl get node "
                f"{name} -o jsonpath='{{.status.allocatable.nvidia\\.com/gpu}}'` is above 0",
            )
        )
    for where, claim in claims.items():  # NodeClaims without a node in the state
        message = (conditions(claim).get("Initialized") or {}).get("message") or ""
        out.append(
            Diagnosis(
                "gpu-not-registered",
                "error",
                ref(claim),
                f"NodeClaim {name_of(claim)} waits for a resource the node never registered",
                (f"Initialized: {NOT_REGISTERED} {message}".rstrip(), f"node: {where}"),
                f"the device plugin must run on the node: {plugin_hint}",
            )
        )
    return out


def unhealthy(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``gpu-unhealthy``: allocatable below capacity for a GPU resource (an XID marked devices
    unhealthy), or the EKS monitoring agent's ``AcceleratedHardwareReady`` is not True."""
    out = []
    for node in view.gpu_nodes:
        status = _status(node)
        capacity = gpu_amounts(status.get("capacity"))
        allocatable = gpu_amounts(status.get("allocatable"))
        lost = {
            k: (v, allocatable.get(k, 0)) for k, v in capacity.items() if allocatable.get(k, 0) < v
        }
        hardware = conditions(node).get(HARDWARE_CONDITION)
        bad_hardware = hardware is not None and hardware.get("status") == "False"
        if not lost and not bad_hardware:
            continue
        evidence = [f"{k}: capacity {c}, allocatable {a}" for k, (c, a) in sorted(lost.items())]
        if bad_hardware and hardware is not None:
            evidence.append(
                f"{HARDWARE_CONDITION}=False: {hardware.get('reason', '')} "
                f"{hardware.get('message', '')}".rstrip()
            )
        for pod in view.plugin_pods_on(name_of(node)):
            evidence.extend(
                f"{ref(pod)}: {line}" for line in matching(view.logs_of(pod), XID_LINES)
            )
        none_left = bool(lost) and all(a == 0 for _, a in lost.values())
        out.append(
            Diagnosis(
                "gpu-unhealthy",
                "error" if none_left or bad_hardware else "warning",
                ref(node),
                "GPUs marked unhealthy: they stay out of allocatable until the plugin restarts",
                tuple(evidence),
                f"read the XID in the plugin log; for hardware XIDs (48, 63, 64, 74, 79, 92, 94, "
                f"95, 119, 120) cordon and replace the node (kubectl cordon {name_of(node)}; "
                "kubectl delete nodeclaim <its NodeClaim>); for a transient one restart the "
                "plugin pod on it",
            )
        )
    return out


__all__ = ["HARDWARE_CONDITION", "NOT_REGISTERED", "not_registered", "unhealthy"]
