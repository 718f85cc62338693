"""The NVIDIA device plugin: missing, kept off a GPU node by a taint, not ready, or doubled
on Bottlerocket (nvidia.md section 8, P2, P3, P8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eks_gpu.diagnose.context import Context
from eks_gpu.diagnose.finding import Diagnosis
from eks_gpu.diagnose.view import (
    ClusterView,
    is_bottlerocket,
    meta,
    name_of,
    ref,
    requests_gpu,
)
from eks_gpu.names import (
    TAINT_NETWORK_UNAVAILABLE,
    TAINT_NOT_READY,
    TAINT_PREFIX_NODE,
    TAINT_UNREACHABLE,
)
from eks_gpu.scheduling.taints import taint_str, toleration_str, untolerated

Obj = dict[str, Any]
APPLY_HINT = "`eks-gpu apply` installs it (or `kubectl apply` NVIDIA's static manifest, v0.16+)"


def daemon_tolerations(pod_spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The template's tolerations plus those the DaemonSet controller adds to every daemon pod
    (k8s.io/kubernetes v1.35 ``pkg/controller/daemon/util/daemonset_util.go``
    ``AddOrUpdateDaemonPodTolerations``)."""
    added: list[Mapping[str, Any]] = [
        {"key": TAINT_NOT_READY, "operator": "Exists", "effect": "NoExecute"},
        {"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute"},
    ]
    for condition in ("disk-pressure", "memory-pressure", "pid-pressure", "unschedulable"):
        added.append(
            {"key": f"{TAINT_PREFIX_NODE}{condition}", "operator": "Exists", "effect": "NoSchedule"}
        )
    if pod_spec.get("hostNetwork") is True:
        added.append(
            {"key": TAINT_NETWORK_UNAVAILABLE, "operator": "Exists", "effect": "NoSchedule"}
        )
    own = pod_spec.get("tolerations")
    listed = own if isinstance(own, list) else []
    return [*(t for t in listed if isinstance(t, Mapping)), *added]


def _template_spec(ds: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = ds.get("spec") if isinstance(ds.get("spec"), Mapping) else {}
    template = (spec or {}).get("template")
    pod_spec = template.get("spec") if isinstance(template, Mapping) else None
    return pod_spec if isinstance(pod_spec, Mapping) else {}


def missing(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``device-plugin-missing``: GPU nodes (not Bottlerocket, which ships its own plugin) or
    pending GPU pods, and no NVIDIA device plugin DaemonSet at all."""
    if view.plugin_daemonsets or not view.state.knows("DaemonSet"):
        return []
    nodes = [name_of(n) for n in view.gpu_nodes if not is_bottlerocket(n)]
    pending = [ref(p) for p in view.pending if requests_gpu(p)]
    if not nodes and not pending:
        return []
    evidence = ["no DaemonSet runs an nvidia/k8s-device-plugin image"]
    if nodes:
        evidence.append(f"{len(nodes)} GPU node(s): {', '.join(nodes[:5])}")
    if pending:
        evidence.append(f"{len(pending)} pending GPU pod(s): {', '.join(pending[:5])}")
    return [
        Diagnosis(
            "device-plugin-missing",
            "error",
            "DaemonSet/nvidia-device-plugin",
            "no NVIDIA device plugin: GPU nodes never advertise nvidia.com/gpu, so GPU pods stay "
            "Pending and Karpenter's NodeClaims never initialize",
            tuple(evidence),
            f"deploy the device plugin: {APPLY_HINT}; the EKS AL2023 NVIDIA AMI has the driver "
            "but not the plugin",
        )
    ]


def untolerated_taint(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``device-plugin-untolerated-taint``: a GPU node with no plugin pod whose NoSchedule or
    NoExecute taint a plugin DaemonSet does not tolerate."""
    out = []
    for node in view.gpu_nodes:
        if is_bottlerocket(node) or view.plugin_pods_on(name_of(node)):
            continue
        spec = node.get("spec") if isinstance(node.get("spec"), Mapping) else {}
        taints = [
            t
            for t in (spec or {}).get("taints") or []
            if isinstance(t, Mapping) and t.get("effect") in ("NoSchedule", "NoExecute")
        ]
        for ds in view.plugin_daemonsets:
            pod_spec = _template_spec(ds)
            blocking = untolerated(taints, daemon_tolerations(pod_spec))
            if not blocking:
                continue
            own = (
                pod_spec.get("tolerations") if isinstance(pod_spec.get("tolerations"), list) else []
            )
            shown = ", ".join(toleration_str(t) for t in own or [] if isinstance(t, Mapping))
            first = blocking[0]
            patch = (
                f'{{"key": "{first.get("key")}", "operator": "Exists", '
                f'"effect": "{first.get("effect")}"}}'
            )
            out.append(
                Diagnosis(
                    "device-plugin-untolerated-taint",
                    "error",
                    ref(node),
                    f"the device plugin {ref(ds)} does not tolerate the node's taint "
                    f"{taint_str(first)}, so no plugin pod runs there and its GPUs are never "
                    "registered",
                    (
                        "node taints: " + ", ".join(taint_str(t) for t in taints),
                        f"{ref(ds)} tolerations: {shown or '(none)'}",
                        f"no pod of {ref(ds)} on {name_of(node)}",
                    ),
                    f"add the toleration {patch} to {ref(ds)} .spec.template.spec.tolerations "
                    f"(kubectl -n {meta(ds).get('namespace')} edit ds {name_of(ds)}), or taint "
                    "GPU NodePools with nvidia.com/gpu:NoSchedule, which the plugin tolerates",
                )
            )
    return out


def _container_states(pod: Mapping[str, Any]) -> list[str]:
    status = pod.get("status") if isinstance(pod.get("status"), Mapping) else {}
    out = []
    for cs in (status or {}).get("containerStatuses") or []:
        if not isinstance(cs, Mapping) or cs.get("ready") is True:
            continue
        state = cs.get("state") if isinstance(cs.get("state"), Mapping) else {}
        for phase, detail in (state or {}).items():
            detail = detail if isinstance(detail, Mapping) else {}
            why = detail.get("reason") or ""
            code = f", exit code {detail['exitCode']}" if "exitCode" in detail else ""
            message = f": {detail['message']}" if detail.get("message") else ""
            out.append(
                f"container {cs.get('name')}: {phase} {why}{code}{message} "
                f"(restarts: {cs.get('restartCount', 0)})".replace("  ", " ")
            )
    return out


def not_ready(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``device-plugin-not-ready``: a plugin pod on a GPU node that is not Running and Ready."""
    out = []
    for node in view.gpu_nodes:
        for pod in view.plugin_pods_on(name_of(node)):
            status = pod.get("status") if isinstance(pod.get("status"), Mapping) else {}
            phase = (status or {}).get("phase") or "Pending"
            states = _container_states(pod)
            if phase == "Running" and not states:
                continue
            namespace, name = meta(pod).get("namespace"), name_of(pod)
            out.append(
                Diagnosis(
                    "device-plugin-not-ready",
                    "error",
                    ref(pod),
                    f"the device plugin pod on GPU node {name_of(node)} is {phase}, not ready: "
                    "the node's GPUs are not (re)registered",
                    (f"phase: {phase}", *states),
                    f"read why: kubectl -n {namespace} describe pod {name}; kubectl -n "
                    f"{namespace} logs {name} --previous; for ImagePullBackOff check the image "
                    "and the node's registry access",
                )
            )
    return out


def duplicate(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``duplicate-device-plugin``: our plugin DaemonSet runs on a Bottlerocket node, whose
    NVIDIA variants ship the plugin as a host service (bottlerocket-os/bottlerocket#4309)."""
    out = []
    for node in view.gpu_nodes:
        if not is_bottlerocket(node):
            continue
        for pod in view.plugin_pods_on(name_of(node)):
            info = (node.get("status") or {}).get("nodeInfo") or {}
            out.append(
                Diagnosis(
                    "duplicate-device-plugin",
                    "warning",
                    ref(node),
                    "two device plugins on a Bottlerocket node: its own host service and "
                    f"{ref(pod)}; they race for the GPUs at boot",
                    (f"osImage: {info.get('osImage')}", f"plugin pod: {ref(pod)}"),
                    "keep the DaemonSet off Bottlerocket nodes: a required nodeAffinity on a "
                    "label only the AL2023 GPU NodePools set (for example karpenter.sh/nodepool "
                    "In [<AL2023 GPU pools>])",
                )
            )
    return out


__all__ = ["daemon_tolerations", "duplicate", "missing", "not_ready", "untolerated_taint"]
