"""The GPU requests of pods, per node and pending: the one pass over every pod ``status`` makes.

At 100,000 pods this is the hot loop, so it reads only ``spec.nodeName``, ``status.phase`` and
the GPU keys of each container's ``resources``, and parses each distinct quantity string once
(:func:`quantity`). A :class:`PodLedger` can also be updated one pod at a time, which is how
``status --watch`` keeps the sums current without a pass over every pod per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eks_gpu.manifests import ManifestError
from eks_gpu.names import PREFIX_NVIDIA, PREFIX_NVIDIA_MIG, RESOURCE_NVIDIA_GPU
from eks_gpu.names import RESOURCE_NVIDIA_GPU_SHARED as SHARED
from eks_gpu.scheduling.resources import parse_quantity, pod_requests

Obj = dict[str, Any]
Amounts = dict[str, Decimal]
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
_QUANTITIES: dict[str, Decimal] = {}


def labels_of(obj: Obj) -> Mapping[str, str]:
    """``metadata.labels`` (empty when missing)."""
    labels = (obj.get("metadata") or {}).get("labels")
    return labels if type(labels) is dict else {}  # JSON gives dicts: no ABC check per node


def is_gpu_resource(name: str) -> bool:
    """``nvidia.com/gpu``, ``nvidia.com/gpu.shared`` (time-slicing renamed) or a MIG slice."""
    return name in (RESOURCE_NVIDIA_GPU, SHARED) or name.startswith(PREFIX_NVIDIA_MIG)


def quantity(value: Any, where: str = "") -> Decimal:
    """A Kubernetes quantity, parsed once per distinct string (pods repeat ``"1"`` a lot).

    Raises:
        ManifestError: naming ``where`` when the value is not a quantity.
    """
    if isinstance(value, str):
        cached = _QUANTITIES.get(value)
        if cached is not None:
            return cached
    try:
        parsed = parse_quantity(value)
    except ValueError as error:
        raise ManifestError(f"{where}: {error}", hint="fix the object, or re-capture it") from None
    if isinstance(value, str) and len(_QUANTITIES) < 4096:
        _QUANTITIES[value] = parsed
    return parsed


def gpu_amounts(mapping: Any, where: str = "") -> Amounts:
    """The GPU resources of a ``capacity``/``allocatable``/``requests`` mapping."""
    if not mapping or not isinstance(mapping, Mapping):
        return {}
    found = _gpu_keys(mapping)
    return (
        {name: quantity(value, f"{where}.{name}") for name, value in found.items()} if found else {}
    )


def _gpu_keys(mapping: Any) -> Amounts | None:
    """The GPU entries of a requests/limits mapping, unparsed (None: none), cheaply."""
    found = None
    if mapping:
        for name in mapping:
            if name.startswith(PREFIX_NVIDIA) and is_gpu_resource(name):
                if found is None:
                    found = {}
                found[name] = mapping[name]
    return found


def pod_gpu_requests(pod: Obj) -> Amounts:
    """What a pod requests of each GPU resource, as kube-scheduler counts it (empty: none).

    The hot loop of ``status``: the common case (no init containers) is the sum over the
    containers of their GPU requests, each defaulted from its limit (API defaulting); with
    init containers the full rule of :func:`eks_gpu.scheduling.resources.pod_requests`
    applies.
    """
    spec = pod.get("spec")
    if not isinstance(spec, Mapping):
        return {}
    if spec.get("initContainers"):
        try:
            every = pod_requests(spec)
        except ValueError as error:
            raise ManifestError(f"{_pod_name(pod)}: {error}") from None
        return {name: amount for name, amount in every.items() if is_gpu_resource(name) and amount}
    total: Amounts = {}
    for container in spec.get("containers") or ():
        resources = container.get("resources") if isinstance(container, Mapping) else None
        if not resources or not isinstance(resources, Mapping):
            continue
        found = _gpu_keys(resources.get("limits"))
        requested = _gpu_keys(resources.get("requests"))
        if requested:
            found = {**(found or {}), **requested}
        for name, value in (found or {}).items():
            amount = quantity(value, f"{_pod_name(pod)}: {name}")
            total[name] = total.get(name, Decimal(0)) + amount
    return {name: amount for name, amount in total.items() if amount}


def _pod_name(pod: Obj) -> str:
    metadata = pod.get("metadata") or {}
    return f"Pod {metadata.get('namespace') or 'default'}/{metadata.get('name') or '?'}"


def _scheduling_message(pod: Obj) -> str:
    """Why the scheduler has not placed the pod (its PodScheduled condition), when it said."""
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if (
            isinstance(condition, Mapping)
            and condition.get("type") == "PodScheduled"
            and condition.get("status") != "True"
        ):
            return str(condition.get("message") or condition.get("reason") or "")
    return ""


@dataclass(frozen=True)
class PendingPod:
    """An unbound pod that asks for a GPU."""

    namespace: str
    name: str
    requests: Mapping[str, Decimal]
    created: str
    message: str


@dataclass
class NodeUse:
    """The GPU requests of the pods bound to one node, and how many pods ask for GPUs."""

    requested: Amounts = field(default_factory=dict)
    pods: int = 0


class PodLedger:
    """GPU requests by node and the pending GPU pods, updatable one pod at a time."""

    def __init__(self) -> None:
        self.by_node: dict[str, NodeUse] = {}
        self.pending: dict[str, PendingPod] = {}
        self._bound: dict[str, tuple[str, Amounts]] = {}

    @classmethod
    def of(cls, pods: Iterable[Obj]) -> PodLedger:
        """The ledger of every pod in ``pods`` (terminal ones are skipped)."""
        ledger = cls()
        for pod in pods:
            ledger._count(pod)
        return ledger

    def add(self, pod: Obj) -> None:
        """Count ``pod`` (again: an update replaces what the pod counted before)."""
        self.remove(pod)
        self._count(pod)

    def _count(self, pod: Obj) -> None:
        status = pod.get("status") or {}
        phase = status.get("phase") if isinstance(status, Mapping) else None
        if phase in TERMINAL_PHASES:
            return
        requests = pod_gpu_requests(pod)
        if not requests:
            return
        key = _key(pod)
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            self._bound[key] = (node, requests)
            use = self.by_node.setdefault(node, NodeUse())
            for name, amount in requests.items():
                use.requested[name] = use.requested.get(name, Decimal(0)) + amount
            use.pods += 1
        elif phase in (None, "Pending"):
            metadata = pod.get("metadata") or {}
            self.pending[key] = PendingPod(
                str(metadata.get("namespace") or "default"),
                str(metadata.get("name") or ""),
                requests,
                str(metadata.get("creationTimestamp") or ""),
                _scheduling_message(pod),
            )

    def remove(self, pod: Obj) -> None:
        """Stop counting ``pod`` (deleted, or about to be re-added)."""
        key = _key(pod)
        self.pending.pop(key, None)
        bound = self._bound.pop(key, None)
        if bound is None:
            return
        node, requests = bound
        use = self.by_node[node]
        for name, amount in requests.items():
            left = use.requested.get(name, Decimal(0)) - amount
            if left:
                use.requested[name] = left
            else:
                use.requested.pop(name, None)
        use.pods -= 1
        if use.pods <= 0:
            del self.by_node[node]


def _key(pod: Obj) -> str:
    metadata = pod.get("metadata") or {}
    return f"{metadata.get('namespace') or 'default'}/{metadata.get('name') or ''}"


__all__ = [
    "NodeUse",
    "PendingPod",
    "PodLedger",
    "gpu_amounts",
    "is_gpu_resource",
    "pod_gpu_requests",
    "quantity",
]
