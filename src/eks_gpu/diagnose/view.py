"""The facts every rule reads, computed once from a ClusterState: which nodes have GPUs,
which pods run where, which DaemonSets are the NVIDIA device plugin, and their logs.

Reading is cheap and linear (one pass over pods); only pods on GPU nodes and pending pods
are looked at in detail, so 100,000 pods cost a fraction of reading the dump.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from eks_gpu.catalog.instance_types import all_instance_types
from eks_gpu.inventory import pods as inventory_pods
from eks_gpu.manifests.cluster_state import ClusterState, PodLog, is_device_plugin
from eks_gpu.names import LABEL_GPU_COUNT, LABEL_GPU_MANUFACTURER, LABEL_INSTANCE_TYPE

Obj = dict[str, Any]
BOTTLEROCKET_OS = "Bottlerocket OS"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``metadata`` (empty when missing or malformed)."""
    return _map(obj.get("metadata"))


def name_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def ref(obj: Mapping[str, Any]) -> str:
    """``Kind/name`` or ``Kind/namespace/name``: a diagnosis subject."""
    namespace = meta(obj).get("namespace")
    kind = str(obj.get("kind") or "Object")
    return f"{kind}/{namespace}/{name_of(obj)}" if namespace else f"{kind}/{name_of(obj)}"


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return _map(meta(obj).get("labels"))


def gpu_amounts(resources: Any) -> dict[str, Decimal]:
    """The GPU resources of a ``capacity``/``allocatable`` mapping (``status``'s counting)."""
    return inventory_pods.gpu_amounts(resources)


def requests_gpu(pod: Mapping[str, Any]) -> bool:
    """Whether the pod requests a GPU resource, as kube-scheduler counts it (``status``'s
    counting: requests defaulted from limits, init containers included)."""
    return bool(inventory_pods.pod_gpu_requests(dict(pod)))


def owner_kind(obj: Mapping[str, Any]) -> str:
    """The controller owner's kind (``DaemonSet``, ``ReplicaSet``, ...), or ``""``."""
    for owner in _list(meta(obj).get("ownerReferences")):
        if isinstance(owner, Mapping) and owner.get("controller"):
            return str(owner.get("kind") or "")
    return ""


def owner_name(obj: Mapping[str, Any]) -> str:
    for owner in _list(meta(obj).get("ownerReferences")):
        if isinstance(owner, Mapping) and owner.get("controller"):
            return str(owner.get("name") or "")
    return ""


def conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``status.conditions`` by type."""
    out: dict[str, Mapping[str, Any]] = {}
    for condition in _list(_map(obj.get("status")).get("conditions")):
        if isinstance(condition, Mapping) and condition.get("type"):
            out[str(condition["type"])] = condition
    return out


@dataclass(frozen=True)
class ClusterView:
    """Derived facts over one state; build with :func:`view_of`."""

    state: ClusterState
    nodes: Mapping[str, Obj]
    pods_on: Mapping[str, tuple[Obj, ...]]
    pending: tuple[Obj, ...]
    logs: Mapping[tuple[str, str], tuple[PodLog, ...]] = field(default_factory=dict)

    @cached_property
    def plugin_daemonsets(self) -> tuple[Obj, ...]:
        return tuple(ds for ds in self.state.of("DaemonSet") if is_device_plugin(ds))

    @cached_property
    def _plugin_keys(self) -> frozenset[tuple[str, str]]:
        return frozenset(
            (str(meta(ds).get("namespace") or ""), name_of(ds)) for ds in self.plugin_daemonsets
        )

    def is_plugin_pod(self, pod: Mapping[str, Any]) -> bool:
        if owner_kind(pod) != "DaemonSet":
            return False
        return (str(meta(pod).get("namespace") or ""), owner_name(pod)) in self._plugin_keys

    def plugin_pods_on(self, node: str) -> list[Obj]:
        return [pod for pod in self.pods_on.get(node, ()) if self.is_plugin_pod(pod)]

    @cached_property
    def gpu_nodes(self) -> tuple[Obj, ...]:
        """Nodes with a GPU resource in capacity, or of an NVIDIA GPU instance type."""
        return tuple(n for n in self.nodes.values() if has_gpu_resource(n) or nvidia_type(n))

    def logs_of(self, pod: Mapping[str, Any]) -> tuple[PodLog, ...]:
        return self.logs.get((str(meta(pod).get("namespace") or ""), name_of(pod)), ())

    @cached_property
    def nodepools(self) -> Mapping[str, Obj]:
        return {name_of(np): np for np in self.state.of("NodePool")}


def has_gpu_resource(node: Mapping[str, Any]) -> bool:
    capacity = gpu_amounts(_map(node.get("status")).get("capacity"))
    return any(amount > 0 for amount in capacity.values())


def instance_type(node: Mapping[str, Any]) -> str:
    return str(labels_of(node).get(LABEL_INSTANCE_TYPE) or "")


def nvidia_type(node: Mapping[str, Any]) -> bool:
    """Whether the node's instance type carries NVIDIA GPUs: Karpenter's labels on the node,
    else the catalog (nodes from other provisioners lack Karpenter's labels)."""
    labels = labels_of(node)
    count = labels.get(LABEL_GPU_COUNT)
    if count is not None:
        return str(labels.get(LABEL_GPU_MANUFACTURER) or "nvidia") == "nvidia" and count != "0"
    known = all_instance_types().get(instance_type(node))
    if known is None:
        return False
    return (
        known.labels.get(LABEL_GPU_MANUFACTURER) == "nvidia"
        and known.labels.get(LABEL_GPU_COUNT, "0") != "0"
    )


def is_bottlerocket(node: Mapping[str, Any]) -> bool:
    info = _map(_map(node.get("status")).get("nodeInfo"))
    return str(info.get("osImage") or "").startswith(BOTTLEROCKET_OS)


def view_of(state: ClusterState) -> ClusterView:
    """The view of ``state``: nodes by name, running pods by node, pending pods, logs."""
    nodes = {name_of(node): node for node in state.of("Node")}
    pods_on: dict[str, list[Obj]] = {}
    pending: list[Obj] = []
    for pod in state.of("Pod"):
        spec = _map(pod.get("spec"))
        phase = _map(pod.get("status")).get("phase")
        if phase in ("Succeeded", "Failed"):
            continue
        node = spec.get("nodeName")
        if node:
            pods_on.setdefault(str(node), []).append(pod)
        elif phase in (None, "Pending"):
            pending.append(pod)
    logs: dict[tuple[str, str], list[PodLog]] = {}
    for log in state.logs:
        logs.setdefault((log.namespace, log.pod), []).append(log)
    return ClusterView(
        state,
        nodes,
        {k: tuple(v) for k, v in pods_on.items()},
        tuple(pending),
        {k: tuple(v) for k, v in logs.items()},
    )


__all__ = [
    "ClusterView",
    "conditions",
    "gpu_amounts",
    "has_gpu_resource",
    "instance_type",
    "is_bottlerocket",
    "labels_of",
    "meta",
    "name_of",
    "nvidia_type",
    "owner_kind",
    "ref",
    "requests_gpu",
    "view_of",
]
