"""NodePool limits as one Karpenter provisioning pass sees them (pure).

Karpenter (sigs.k8s.io/karpenter v1.14.1, ``pkg/controllers/provisioning/scheduling/
scheduler.go``) starts each pass with ``remainingResources`` = ``spec.limits`` minus the
capacity of every node and in-flight NodeClaim of the pool (``updateRemainingResources``;
``StateNode.Capacity`` adds ``nodes: 1``). Within the pass it:

* refuses a new NodeClaim outright when the ``nodes`` left is exactly zero
  ("node limits have been exhausted for nodepool");
* drops every instance type whose capacity exceeds what is left of some limit
  (``filterByRemainingResources``; "all available instance types exceed limits for
  nodepool");
* charges each new NodeClaim the *largest* capacity among its candidate types
  (``subtractMax``), because it cannot know which one the cloud will launch. An instance
  type's capacity has no ``nodes``, so within one pass the ``nodes`` limit is never charged.

Pods refused that way wait for a later pass, when the launched NodeClaims count with their
real type (the solver's rounds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from eks_gpu.scheduling.instance_model import SimInstanceType
from eks_gpu.scheduling.resources import format_quantity

NODES = "nodes"
_ZERO = Decimal(0)

Remaining = dict[str, Decimal]


def node_capacity(instance_type: SimInstanceType) -> dict[str, Decimal]:
    """What a launched node of ``instance_type`` counts against limits (with ``nodes: 1``)."""
    return {**instance_type.capacity, NODES: Decimal(1)}


def remaining_at_start(
    limits: Mapping[str, Decimal], used: Iterable[Mapping[str, Decimal]]
) -> Remaining:
    """``limits`` minus each node's capacity, per limited resource (may go negative)."""
    out = dict(limits)
    for capacity in used:
        for key in out:
            out[key] -= capacity.get(key, _ZERO)
    return out


def exceeds(instance_type: SimInstanceType, remaining: Mapping[str, Decimal]) -> str | None:
    """The first limit (by name) that ``instance_type``'s capacity exceeds, else None."""
    for key in sorted(remaining):
        if instance_type.capacity.get(key, _ZERO) > remaining[key]:
            return key
    return None


def within(
    types: Sequence[SimInstanceType], remaining: Mapping[str, Decimal]
) -> list[SimInstanceType]:
    """``filterByRemainingResources``: the types no remaining limit rules out."""
    if not remaining:
        return list(types)
    return [t for t in types if exceeds(t, remaining) is None]


def nodes_exhausted(remaining: Mapping[str, Decimal]) -> bool:
    """The pass refuses every new NodeClaim of the pool: ``nodes`` left is exactly zero."""
    return NODES in remaining and remaining[NODES] == 0


def subtract_max(remaining: Remaining, types: Sequence[SimInstanceType]) -> None:
    """``subtractMax``: charge the largest capacity among ``types`` to every limit."""
    for key in remaining:
        remaining[key] -= max((t.capacity.get(key, _ZERO) for t in types), default=_ZERO)


def refusal_message(
    key: str, limits: Mapping[str, Decimal], remaining: Mapping[str, Decimal], smallest: Decimal
) -> str:
    """Why the pass had no type under ``limits.<key>``: the limit, what is left, the need."""
    limit, left = limits[key], remaining[key]
    if key == NODES:
        return (
            f"limits.nodes is {format_quantity(limit, key)}; no node is left for this NodePool "
            f"(all available instance types exceed limits for nodepool)"
        )
    return (
        f"limits.{key} is {format_quantity(limit, key)}; {format_quantity(max(left, _ZERO), key)} "
        f"left in this pass and the smallest type that fits has "
        f"{format_quantity(smallest, key)} (all available instance types exceed limits for "
        f"nodepool)"
    )


__all__ = [
    "NODES",
    "Remaining",
    "exceeds",
    "node_capacity",
    "nodes_exhausted",
    "refusal_message",
    "remaining_at_start",
    "subtract_max",
    "within",
]
