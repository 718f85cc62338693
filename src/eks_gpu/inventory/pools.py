"""Per NodePool: its GPU nodes' sums and cost, and its ``spec.limits`` with what Karpenter
counts against them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eks_gpu.inventory.pods import is_gpu_resource, labels_of, quantity
from eks_gpu.manifests.cluster_state import ClusterState
from eks_gpu.names import LABEL_NODEPOOL

if TYPE_CHECKING:
    from eks_gpu.inventory.gpus import LaunchingClaim, NodeRow

Obj = dict[str, Any]


@dataclass(frozen=True)
class PoolRow:
    """One NodePool: its GPU nodes' sums, cost, and its ``spec.limits`` with their use."""

    name: str
    nodes: int
    gpus_capacity: float
    gpus_allocatable: float
    gpus_requested: float
    gpus_idle: float
    cost_per_hour: float
    idle_cost_per_hour: float
    unpriced: int
    limits: Mapping[str, Decimal] = field(default_factory=dict)
    limits_used: Mapping[str, Decimal] = field(default_factory=dict)
    found: bool = True  # a NodePool object exists (else only its label on nodes)


def _limit_usage(
    state: ClusterState, wanted: Mapping[str, Mapping[str, Decimal]]
) -> dict[str, dict[str, Decimal]]:
    """Per NodePool in ``wanted``, its limited resources used: the capacity of its nodes plus
    of its NodeClaims without a node yet, and one ``nodes`` each, as Karpenter counts them
    (v1.14.1 ``state/statenode.go`` ``StateNode.Capacity``; ``state/cluster.go``
    ``nodePoolResources``)."""
    used: dict[str, dict[str, Decimal]] = {pool: {} for pool in wanted}
    node_names = set()

    def count(labels: Mapping[str, str], capacity: Any, where: str) -> None:
        sums = used.get(labels.get(LABEL_NODEPOOL) or "")
        if sums is None or not isinstance(capacity, Mapping):
            return
        for resource in wanted[labels[LABEL_NODEPOOL]]:
            value = "1" if resource == "nodes" else capacity.get(resource)
            if value is not None:
                sums[resource] = sums.get(resource, Decimal(0)) + quantity(value, where)

    for node in state.of("Node"):
        node_names.add((node.get("metadata") or {}).get("name"))
        count(labels_of(node), (node.get("status") or {}).get("capacity") or {}, "Node.capacity")
    for claim in state.of("NodeClaim"):
        status = claim.get("status") or {}
        if not status.get("nodeName") or status.get("nodeName") not in node_names:
            count(labels_of(claim), status.get("capacity") or {}, "NodeClaim.status.capacity")
    return used


def _limits(pool: Obj) -> dict[str, Decimal]:
    name = (pool.get("metadata") or {}).get("name")
    raw = (pool.get("spec") or {}).get("limits") or {}
    where = f"NodePool {name}.spec.limits"
    return {str(r): quantity(v, f"{where}.{r}") for r, v in raw.items()} if raw else {}


def pool_rows(
    state: ClusterState,
    nodes: tuple[NodeRow, ...],
    launching: tuple[LaunchingClaim, ...],
    selected: bool,
) -> tuple[PoolRow, ...]:
    """Pools with GPU nodes or launching GPU claims shown, plus (without a selector) every
    NodePool whose limits name a GPU resource."""
    pools = {str((p.get("metadata") or {}).get("name")): p for p in state.of("NodePool")}
    names = {n.nodepool for n in nodes if n.nodepool} | {
        c.nodepool for c in launching if c.nodepool
    }
    if not selected:
        names |= {n for n, pool in pools.items() if any(map(is_gpu_resource, _limits(pool)))}
    limits_of = {name: _limits(pools[name]) if name in pools else {} for name in names}
    usage = _limit_usage(state, limits_of)
    rows = []
    for name in sorted(names):
        members = [n for n in nodes if n.nodepool == name]
        limits = limits_of[name]
        used = usage.get(name, {})
        rows.append(
            PoolRow(
                name,
                len(members),
                sum(n.gpus_capacity for n in members),
                sum(n.gpus_allocatable for n in members),
                sum(n.gpus_requested for n in members),
                sum(n.gpus_idle for n in members),
                sum(n.price_per_hour or 0.0 for n in members),
                sum(n.idle_cost_per_hour or 0.0 for n in members),
                sum(n.price_per_hour is None for n in members),
                limits,
                {r: used.get(r, Decimal(0)) for r in limits},
                name in pools,
            )
        )
    return tuple(rows)


__all__ = ["PoolRow", "pool_rows"]
