"""Planned NodeClaims and the index the solver scans them through (pure).

Karpenter tries a pod on the NodeClaims it has already planned, fewest pods first, and
takes the first that can hold it (``scheduler.go`` ``addToInflightNode``, after sorting
``newNodeClaims`` by pod count). Trying every open NodeClaim for every pod is quadratic;
:class:`OpenClaims` gives the same answer while skipping NodeClaims that provably cannot
hold the pod: one whose candidate types have no GPU left is never offered to a GPU pod.

A NodeClaim's candidates are a suffix of a price-ordered list (:class:`Candidates`):
requests only grow, so a type that stops fitting never fits again and the first fitting
type only moves right. Per suffix the list keeps the most room any of its types has per
resource, an upper bound that decides in O(resources) that a pod cannot fit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.instance_model import Offering, SimInstanceType
from eks_gpu.scheduling.min_values import MinValues
from eks_gpu.scheduling.pools import PoolModel
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import fits
from eks_gpu.scheduling.workloads import SimPod

_ZERO = Decimal(0)
Resources = Mapping[str, Decimal]


def free_on(pool: PoolModel, instance_type: SimInstanceType) -> dict[str, Decimal] | None:
    """``instance_type``'s allocatable less the pool's DaemonSet overhead on it, or None
    when the DaemonSets alone do not fit (no pod can then use the type)."""
    overhead = pool.overhead_for(instance_type.name)
    if not overhead:
        return dict(instance_type.allocatable)
    free = dict(instance_type.allocatable)
    for key, amount in overhead.items():
        free[key] = free.get(key, _ZERO) - amount
        if free[key] < 0:
            return None
    return free


class Candidates:
    """Price-ordered candidate types with their free resources and per-suffix maxima.

    ``fits(requests, free[i])`` is Karpenter's per-type fit (requests plus the type's
    DaemonSet overhead against its allocatable, ``filterInstanceTypesByRequirements``).
    """

    __slots__ = ("free", "most", "types")

    def __init__(self, types: Sequence[SimInstanceType], free: Sequence[Resources]) -> None:
        self.types = tuple(types)
        self.free = tuple(free)
        most: list[dict[str, Decimal]] = [{} for _ in range(len(types) + 1)]
        for i in range(len(types) - 1, -1, -1):
            best = dict(most[i + 1])
            for key, amount in free[i].items():
                if amount > best.get(key, amount - 1):
                    best[key] = amount
            most[i] = best
        self.most = tuple(most)

    def __len__(self) -> int:
        return len(self.types)

    def first_fit(self, requests: Resources, start: int = 0) -> int:
        """The index of the first type from ``start`` that ``requests`` fit (len if none)."""
        index, free = start, self.free
        while index < len(free) and not fits(requests, free[index]):
            index += 1
        return index

    def fitting(self, requests: Resources, start: int = 0) -> list[SimInstanceType]:
        """Every type from ``start`` that ``requests`` fit, cheapest first."""
        return [t for t, free in zip(self.types[start:], self.free[start:], strict=True)
                if fits(requests, free)]  # fmt: skip


@dataclass(eq=False)
class Claim:
    """A planned NodeClaim: its pods, their summed requests (DaemonSet overhead not
    included: it depends on the type), and the types that may still hold them
    (``options.types[start:]``; the first of them fits).

    ``round`` is the provisioning pass in which Karpenter opens it (1 = first) and
    ``held_by`` the limit (``limits.<resource>``) that kept it out of earlier passes.
    ``launched`` is set once a later pass has counted it as a node of that type.
    """

    pool: PoolModel
    requirements: Requirements
    requests: dict[str, Decimal]
    options: Candidates
    start: int
    pods: list[SimPod]
    seq: int
    min_values: MinValues = ()
    round: int = 1
    held_by: str | None = None
    launched: tuple[SimInstanceType, Offering] | None = field(default=None, repr=False)

    @property
    def candidates(self) -> list[SimInstanceType]:
        """The candidate types still in play, cheapest first."""
        return list(self.options.types[self.start :])

    def room(self, key: str) -> Decimal:
        """The most of ``key`` any candidate still has after the claim's requests."""
        return self.options.most[self.start].get(key, _ZERO) - self.requests.get(key, _ZERO)

    def may_hold(self, requests: Resources) -> bool:
        """False when no candidate can take ``requests`` on top (a cheap necessary test)."""
        most = self.options.most[self.start]
        mine = self.requests
        for key, amount in requests.items():
            if amount and amount > most.get(key, _ZERO) - mine.get(key, _ZERO):
                return False
        return True

    def launch(self) -> tuple[SimInstanceType, Offering]:
        """Karpenter's pick: the cheapest type that fits, GPU and metal types only when no
        other remains (the provider's exotic filter, skipped under minValues)."""
        if self.launched is not None:
            return self.launched
        fitting = self.options.fitting(self.requests, self.start)
        # priced by the offerings the claim allows (cloudprovider/types.go OrderByPrice), not
        # the type's cheapest: an on-demand-only claim must not rank a type by its spot price
        fitting = sorted(fitting, key=lambda t: _rank_under(t, self.requirements))
        chosen = fitting[0] if self.min_values else pick(fitting)
        offering = chosen.offering_for(self.requirements)
        if offering is None:  # candidates are filtered on offerings, so this cannot happen
            raise AssertionError(f"{chosen.name} has no offering under its claim")
        return chosen, offering


def _rank_under(instance_type: SimInstanceType, requirements: Requirements) -> float:
    offering = instance_type.offering_for(requirements)
    return math.inf if offering is None else offering.rank


def pick(candidates: Sequence[SimInstanceType]) -> SimInstanceType:
    """The exotic filter: GPU/metal types only when no ordinary type remains
    (aws/karpenter-provider-aws ``ExoticInstanceTypeFilter``)."""
    return next((t for t in candidates if not t.exotic), candidates[0])


def try_order(claim: Claim) -> tuple[int, int]:
    """Fewest pods first, then the order the claims were opened."""
    return len(claim.pods), claim.seq


class OpenClaims:
    """The NodeClaims of one pass, per pool; GPU pods only see claims with GPU room left.

    Karpenter sorts ``newNodeClaims`` by pod count with Go's ``sort.Slice`` before each
    pod; we order ties by opening order (``sort.Slice`` is not stable, so Karpenter's order
    among equal counts is an implementation detail no offline model can reproduce).
    """

    def __init__(self, key: str = RESOURCE_NVIDIA_GPU) -> None:
        self.key = key
        self.claims: list[Claim] = []
        self._all: dict[str, dict[int, Claim]] = {}
        self._roomy: dict[str, dict[int, Claim]] = {}

    def add(self, claim: Claim) -> None:
        """A newly opened claim."""
        self.claims.append(claim)
        self._all.setdefault(claim.pool.name, {})[claim.seq] = claim
        if claim.room(self.key) > 0:
            self._roomy.setdefault(claim.pool.name, {})[claim.seq] = claim

    def grew(self, claim: Claim) -> None:
        """``claim`` took a pod: once its GPU room is gone it never comes back."""
        if claim.room(self.key) <= 0:
            self._roomy.get(claim.pool.name, {}).pop(claim.seq, None)

    def scan(self, pools: Sequence[str], requests: Resources) -> Iterator[Claim]:
        """The claims of ``pools`` that may hold ``requests``, in Karpenter's try order."""
        source = self._roomy if requests.get(self.key, _ZERO) > 0 else self._all
        found = [c for name in pools for c in source.get(name, {}).values()]
        found.sort(key=try_order)
        return (c for c in found if c.may_hold(requests))


__all__ = ["Candidates", "Claim", "OpenClaims", "free_on", "pick", "try_order"]
