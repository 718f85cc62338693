"""The GPU inventory of a cluster: per GPU node, per NodePool, totals, NodeClaims still
launching and pending GPU pods, from a :class:`ClusterState`, the catalog and a PriceBook.

GPU amounts are in GPUs (:mod:`eks_gpu.inventory.units` says how shared and MIG units
count); when a node's GPU count is unknown a unit counts as one GPU and the node is noted.
Idle is allocatable minus requested; capacity minus allocatable is unhealthy (lost devices),
never idle.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from eks_gpu.catalog.prices import PriceBook
from eks_gpu.inventory.pods import PendingPod, PodLedger, gpu_amounts, labels_of, quantity
from eks_gpu.inventory.pools import PoolRow, pool_rows
from eks_gpu.inventory.selector import Selector
from eks_gpu.inventory.units import (
    capacity_type,
    catalog_gpus,
    gpus_per_unit,
    hourly_price,
    in_gpus,
)
from eks_gpu.manifests.cluster_state import KIND_NODE_METRICS, ClusterState, parse_time
from eks_gpu.names import (
    LABEL_GPU_COUNT,
    LABEL_GPU_NAME,
    LABEL_INSTANCE_TYPE,
    LABEL_NODEPOOL,
    LABEL_NVIDIA_GPU_PRODUCT,
    LABEL_ZONE,
    RESOURCE_NVIDIA_GPU,
)
from eks_gpu.scheduling.taints import taint_str

Obj = dict[str, Any]
Amounts = Mapping[str, Decimal]


@dataclass(frozen=True)
class NodeRow:
    """One GPU node. GPU amounts are per resource (device-plugin units); ``gpus_*`` in GPUs."""

    name: str
    nodepool: str | None
    instance_type: str | None
    capacity_type: str | None
    zone: str | None
    gpu_name: str | None
    capacity: Amounts
    allocatable: Amounts
    requested: Amounts
    gpu_pods: int
    per_unit: Mapping[str, float]
    price_per_hour: float | None
    cpu_used: Decimal | None = None
    memory_used: Decimal | None = None
    cpu_allocatable: Decimal | None = None
    memory_allocatable: Decimal | None = None
    created: str = ""
    taints: tuple[str, ...] = ()
    unschedulable: bool = False
    gpu_count_known: bool = True

    @cached_property
    def gpus_capacity(self) -> float:
        return in_gpus(self.capacity, self.per_unit)

    @cached_property
    def gpus_allocatable(self) -> float:
        return in_gpus(self.allocatable, self.per_unit)

    @cached_property
    def gpus_requested(self) -> float:
        return in_gpus(self.requested, self.per_unit)

    @cached_property
    def gpus_idle(self) -> float:
        """Allocatable minus requested (never below zero)."""
        return max(0.0, self.gpus_allocatable - self.gpus_requested)

    @cached_property
    def gpus_unhealthy(self) -> float:
        """Capacity the device plugin reports but cannot allocate (unhealthy devices)."""
        return max(0.0, self.gpus_capacity - self.gpus_allocatable)

    @cached_property
    def idle_cost_per_hour(self) -> float | None:
        """The idle GPUs' share of the node's price."""
        if self.price_per_hour is None:
            return None
        capacity = self.gpus_capacity
        return self.price_per_hour * self.gpus_idle / capacity if capacity else 0.0


@dataclass(frozen=True)
class Totals:
    """The cluster's sums over the GPU nodes shown."""

    nodes: int
    gpus_capacity: float
    gpus_allocatable: float
    gpus_requested: float
    gpus_idle: float
    gpus_unhealthy: float
    idle_cost_per_hour: float
    cost_per_hour: float
    unpriced: int


@dataclass(frozen=True)
class LaunchingClaim:
    """A NodeClaim without a node yet, or whose node is not initialized."""

    name: str
    nodepool: str | None
    instance_type: str | None
    capacity_type: str | None
    zone: str | None
    gpus: Amounts
    created: str
    conditions: tuple[tuple[str, str, str], ...]  # (type, status, reason or message)


@dataclass(frozen=True)
class Inventory:
    """Everything ``status`` shows."""

    nodes: tuple[NodeRow, ...]
    pools: tuple[PoolRow, ...]
    totals: Totals
    launching: tuple[LaunchingClaim, ...]
    pending: tuple[PendingPod, ...]
    metrics: str | None  # None: read; else why CPU/memory use is unavailable
    notes: tuple[str, ...] = ()


def _model(labels: Mapping[str, str], instance_type: str | None) -> str | None:
    """Karpenter's ``instance-gpu-name``, else GFD's ``gpu.product``, else the catalog."""
    named = labels.get(LABEL_GPU_NAME) or labels.get(LABEL_NVIDIA_GPU_PRODUCT)
    if named:
        return named
    known = catalog_gpus().get(instance_type or "")
    return known.gpu_name if known else None


def _physical(labels: Mapping[str, str], instance_type: str | None) -> int | None:
    count = labels.get(LABEL_GPU_COUNT)
    if count and count.isdigit():
        return int(count)
    known = catalog_gpus().get(instance_type or "")
    return known.gpu_count if known and known.gpu_count else None


def _taint(taint: Any) -> str:
    return taint_str(taint) if isinstance(taint, Mapping) else str(taint)


def _metrics(state: ClusterState) -> tuple[dict[str, Obj], str | None]:
    if KIND_NODE_METRICS in state.missing:
        return {}, state.missing[KIND_NODE_METRICS]
    if not state.knows(KIND_NODE_METRICS):
        return {}, "no NodeMetrics in the input"
    found = {str((m.get("metadata") or {}).get("name")): m for m in state.of(KIND_NODE_METRICS)}
    return found, None


def _usage(metrics: Obj | None, resource: str, where: str) -> Decimal | None:
    value = ((metrics or {}).get("usage") or {}).get(resource)
    return None if value is None else quantity(value, f"{where}.usage.{resource}")


def _plain(mapping: Any, resource: str, where: str) -> Decimal | None:
    value = mapping.get(resource) if isinstance(mapping, Mapping) else None
    return None if value is None else quantity(value, f"{where}.{resource}")


def node_row(
    node: Obj, ledger: PodLedger, prices: PriceBook, metrics: Mapping[str, Obj] | None
) -> NodeRow | None:
    """The node's row, or None when it is not a GPU node (no GPU resource, not a GPU type)."""
    metadata = node.get("metadata") or {}
    name = str(metadata.get("name") or "")
    labels = labels_of(node)
    status = node.get("status") or {}
    where = f"Node {name}.status"
    capacity = gpu_amounts(status.get("capacity"), f"{where}.capacity")
    instance_type = labels.get(LABEL_INSTANCE_TYPE)
    if not any(capacity.values()) and (instance_type or "") not in catalog_gpus():
        return None
    allocatable = gpu_amounts(status.get("allocatable"), f"{where}.allocatable")
    physical = _physical(labels, instance_type)
    use = ledger.by_node.get(name)
    capacity_kind = capacity_type(labels)
    zone = labels.get(LABEL_ZONE)
    spec = node.get("spec") or {}
    has_slices = any(r != RESOURCE_NVIDIA_GPU for r in capacity)
    return NodeRow(
        name=name,
        nodepool=labels.get(LABEL_NODEPOOL),
        instance_type=instance_type,
        capacity_type=capacity_kind,
        zone=zone,
        gpu_name=_model(labels, instance_type),
        capacity=capacity,
        allocatable=allocatable,
        requested=dict(use.requested) if use else {},
        gpu_pods=use.pods if use else 0,
        per_unit=gpus_per_unit(capacity, physical),
        price_per_hour=hourly_price(prices, instance_type, capacity_kind, zone),
        cpu_used=_usage(metrics.get(name), "cpu", name) if metrics is not None else None,
        memory_used=_usage(metrics.get(name), "memory", name) if metrics is not None else None,
        cpu_allocatable=_plain(status.get("allocatable"), "cpu", where),
        memory_allocatable=_plain(status.get("allocatable"), "memory", where),
        created=str(metadata.get("creationTimestamp") or ""),
        taints=tuple(_taint(t) for t in spec.get("taints") or ()),
        unschedulable=bool(spec.get("unschedulable")),
        gpu_count_known=physical is not None or not has_slices,
    )


def _conditions(claim: Obj) -> tuple[tuple[str, str, str], ...]:
    out = []
    for condition in (claim.get("status") or {}).get("conditions") or ():
        if isinstance(condition, Mapping):
            why = str(condition.get("message") or condition.get("reason") or "")
            out.append((str(condition.get("type")), str(condition.get("status")), why))
    return tuple(out)


def _initialized(claim: Obj) -> bool:
    return any(
        isinstance(c, Mapping) and c.get("type") == "Initialized" and c.get("status") == "True"
        for c in (claim.get("status") or {}).get("conditions") or ()
    )


def launching_claim(claim: Obj) -> LaunchingClaim | None:
    """The claim as launching (no node yet, or not Initialized), if it is one for GPUs."""
    status = claim.get("status") or {}
    if status.get("nodeName") and _initialized(claim):
        return None
    labels = labels_of(claim)
    name = str((claim.get("metadata") or {}).get("name") or "")
    where = f"NodeClaim {name}"
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests")
    gpus = gpu_amounts(requests, f"{where}.spec.resources.requests")
    gpus = gpus or gpu_amounts(status.get("capacity"), f"{where}.status.capacity")
    instance_type = labels.get(LABEL_INSTANCE_TYPE)
    if not any(gpus.values()) and (instance_type or "") not in catalog_gpus():
        return None
    return LaunchingClaim(
        name,
        labels.get(LABEL_NODEPOOL),
        instance_type,
        capacity_type(labels),
        labels.get(LABEL_ZONE),
        gpus,
        str((claim.get("metadata") or {}).get("creationTimestamp") or ""),
        _conditions(claim),
    )


def totals_of(nodes: tuple[NodeRow, ...]) -> Totals:
    """The cluster totals over ``nodes``."""
    return Totals(
        len(nodes),
        sum(n.gpus_capacity for n in nodes),
        sum(n.gpus_allocatable for n in nodes),
        sum(n.gpus_requested for n in nodes),
        sum(n.gpus_idle for n in nodes),
        sum(n.gpus_unhealthy for n in nodes),
        sum(n.idle_cost_per_hour or 0.0 for n in nodes),
        sum(n.price_per_hour or 0.0 for n in nodes),
        sum(n.price_per_hour is None for n in nodes),
    )


def inventory(
    state: ClusterState,
    prices: PriceBook,
    selector: Selector | None = None,
    ledger: PodLedger | None = None,
) -> Inventory:
    """The GPU inventory of ``state`` (nodes matching ``selector``). ``ledger`` is the pods'
    GPU requests when kept current elsewhere (``--watch``); else it is made from the pods."""
    chosen = selector or Selector()
    pods = ledger if ledger is not None else PodLedger.of(state.of("Pod"))
    metrics, metrics_note = _metrics(state)
    rows = []
    for node in state.of("Node"):
        if not chosen.matches(labels_of(node)):
            continue
        row = node_row(node, pods, prices, None if metrics_note else metrics)
        if row is not None:
            rows.append(row)
    nodes = tuple(sorted(rows, key=lambda n: (n.nodepool or "", n.name)))
    launching = tuple(
        sorted(
            (
                claim
                for item in state.of("NodeClaim")
                if chosen.matches(labels_of(item)) and (claim := launching_claim(item)) is not None
            ),
            key=lambda c: c.name,
        )
    )
    pending = tuple(sorted(pods.pending.values(), key=lambda p: (p.namespace, p.name)))
    notes = [
        f"node {n.name}: GPU count unknown; its sliced GPU units are counted as whole GPUs"
        for n in nodes
        if not n.gpu_count_known
    ]
    return Inventory(
        nodes,
        pool_rows(state, nodes, launching, bool(chosen.requirements)),
        totals_of(nodes),
        launching,
        pending,
        metrics_note,
        tuple(notes),
    )


def age_seconds(created: str, now: datetime.datetime) -> float | None:
    """Seconds since an RFC 3339 ``creationTimestamp`` (None when absent or malformed)."""
    then = parse_time(created)
    return None if then is None else max(0.0, (now - then).total_seconds())


__all__ = [
    "Inventory",
    "LaunchingClaim",
    "NodeRow",
    "PoolRow",
    "Totals",
    "age_seconds",
    "inventory",
    "launching_claim",
    "node_row",
    "totals_of",
]
