"""What a new NodeClaim for one pod may launch, or why the pool cannot open one (pure).

Karpenter's ``addToNewNodeClaim`` (sigs.k8s.io/karpenter v1.14.1 ``scheduler.go``) builds a
NodeClaim from a pool's template with the instance types the remaining limits allow
(``filterByRemainingResources``), then ``CanAdd`` keeps those compatible with the pod, with
room for it plus the DaemonSet overhead, and with an offering (``nodeclaim.go``
``filterInstanceTypesByRequirements``), and checks minValues. The answer depends only on
the pool, the merged requirements, the pod's requests and what is left of the limits, so
:class:`NewClaims` memoizes it: pods of one shape pay for it once per pass state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from eks_gpu.names import LABEL_CAPACITY_TYPE, LABEL_ZONE
from eks_gpu.scheduling import limits, min_values
from eks_gpu.scheduling.claims import Candidates, free_on
from eks_gpu.scheduling.instance_model import SimInstanceType
from eks_gpu.scheduling.placement import compatible_types
from eks_gpu.scheduling.pools import PoolModel
from eks_gpu.scheduling.reasons import Reason
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import fits, format_quantity

LIMIT_CODE: Final = "nodepool-limit-exceeded"


def _short(
    pool: PoolModel, types: Sequence[SimInstanceType], requests: Mapping[str, Decimal]
) -> str:
    """The resources no compatible type has enough of, e.g. ``nvidia.com/gpu (needs 16, ...)``.

    Per resource, the type with the most room left after its DaemonSet overhead is shown:
    what the pods plus that overhead need, and what that type offers.
    """
    parts = []
    zero = Decimal(0)
    for key in sorted(set(requests) | {k for t in types for k in pool.overhead_for(t.name)}):
        room = [
            (t.allocatable.get(key, zero) - pool.overhead_for(t.name).get(key, zero), t)
            for t in types
        ]
        if not room:
            continue
        _, best = max(room, key=lambda pair: pair[0])
        offers = best.allocatable.get(key, zero)
        needed = requests.get(key, zero) + pool.overhead_for(best.name).get(key, zero)
        if offers < needed:
            parts.append(
                f"{key} (needs {format_quantity(needed, key)}, the most any type offers is "
                f"{format_quantity(offers, key)})"
            )
    return ", ".join(parts) or "no single type has enough of every resource at once"


class NewClaims:
    """Memoized candidates for new NodeClaims; ``strict`` is ``--min-values-policy Strict``."""

    def __init__(self, *, strict: bool = True) -> None:
        self.strict = strict
        self._compatible: dict[tuple[str, Requirements], list[SimInstanceType]] = {}
        self._options: dict[tuple[Any, ...], Candidates | Reason] = {}
        self._free: dict[tuple[str, str], dict[str, Decimal] | None] = {}
        self._wanted: dict[str, min_values.MinValues] = {}
        self.limit_keys: dict[Reason, str] = {}
        """A limit refusal -> the limited resource (what ``held_by`` names)."""

    def wanted(self, pool: PoolModel) -> min_values.MinValues:
        """The pool's minValues (pods cannot set any, so a claim's are its pool's)."""
        if pool.name not in self._wanted:
            self._wanted[pool.name] = min_values.min_values_of(pool.requirements)
        return self._wanted[pool.name]

    def free(self, pool: PoolModel, instance_type: SimInstanceType) -> dict[str, Decimal] | None:
        key = (pool.name, instance_type.name)
        if key not in self._free:
            self._free[key] = free_on(pool, instance_type)
        return self._free[key]

    def _types(self, pool: PoolModel, merged: Requirements) -> list[SimInstanceType]:
        key = (pool.name, merged)
        if key not in self._compatible:
            self._compatible[key] = compatible_types(pool.types, merged)
        return self._compatible[key]

    def options(
        self,
        pool: PoolModel,
        merged: Requirements,
        requests: Mapping[str, Decimal],
        remaining: Mapping[str, Decimal],
    ) -> Candidates | Reason:
        """A new NodeClaim's candidates for one pod, or why there are none (memoized per
        pool, requirements, request shape and what is left of the limits)."""
        key = (pool.name, merged, tuple(sorted(requests.items())), tuple(sorted(remaining.items())))
        if key not in self._options:
            self._options[key] = self._candidates(pool, merged, requests, remaining)
        return self._options[key]

    def _offered(
        self, pool: PoolModel, types: Sequence[SimInstanceType], merged: Requirements,
        requests: Mapping[str, Decimal],
    ) -> list[tuple[SimInstanceType, dict[str, Decimal]]]:  # fmt: skip
        out = []
        for t in types:
            free = self.free(pool, t)
            if free is not None and fits(requests, free) and t.offering_for(merged):
                out.append((t, free))
        return out

    def _candidates(
        self,
        pool: PoolModel,
        merged: Requirements,
        requests: Mapping[str, Decimal],
        remaining: Mapping[str, Decimal],
    ) -> Candidates | Reason:
        compatible = self._types(pool, merged)
        offered = self._offered(pool, limits.within(compatible, remaining), merged, requests)
        if not offered:
            return self._why_none(pool, compatible, merged, requests, remaining)
        wanted = self.wanted(pool)
        if wanted and self.strict:
            short = min_values.shortfalls([t for t, _ in offered], wanted)
            if short:
                where = "by the types that fit this pod"
                return Reason(pool.name, "min-values-unsatisfied",
                              min_values.message(short, wanted, where))  # fmt: skip
        return Candidates([t for t, _ in offered], [free for _, free in offered])

    def _why_none(
        self,
        pool: PoolModel,
        compatible: Sequence[SimInstanceType],
        merged: Requirements,
        requests: Mapping[str, Decimal],
        remaining: Mapping[str, Decimal],
    ) -> Reason:
        """No type within the limits: blame the limit if a type beyond it would do."""
        unlimited = self._offered(pool, compatible, merged, requests)
        if unlimited:
            key = limits.exceeds(unlimited[0][0], remaining) or limits.NODES
            smallest = min(t.capacity.get(key, Decimal(0)) for t, _ in unlimited)
            reason = Reason(
                pool.name, LIMIT_CODE, limits.refusal_message(key, pool.limits, remaining, smallest)
            )
            self.limit_keys[reason] = key
            return reason
        if not any((f := self.free(pool, t)) is not None and fits(requests, f) for t in compatible):
            return Reason(pool.name, "no-instance-type-fits",
                          "not enough " + _short(pool, compatible, requests))  # fmt: skip
        return Reason(pool.name, "no-offering", _offering_message(merged))


def _offering_message(requirements: Requirements) -> str:
    return (
        "no offering matches capacity type "
        f"{requirements.get(LABEL_CAPACITY_TYPE)} and zone {requirements.get(LABEL_ZONE)}"
    )


__all__ = ["LIMIT_CODE", "NewClaims"]
