"""The solver as it was before the claim index and per-pass limits (main, 2026-11-28).

Kept verbatim (below this docstring) as the literal quadratic oracle for workloads without
NodePool limits or minValues, where the new solver must give the very same plans
(tests/test_solver_index.py; ``benchmarks/scheduling.py --check``). With limits the new
solver follows Karpenter's passes, so this one is not an oracle there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eks_gpu.names import LABEL_CAPACITY_TYPE, LABEL_ZONE, RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.instance_model import Offering, SimInstanceType
from eks_gpu.scheduling.placement import (
    NOTHING_MATCHES_MESSAGE,
    check_pool_term,
    compatible_types,
    is_pool_compatible,
)
from eks_gpu.scheduling.pod_view import Variant
from eks_gpu.scheduling.pools import PoolModel, order_pools
from eks_gpu.scheduling.reasons import Reason
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import add, fits, format_quantity
from eks_gpu.scheduling.snapshot import SnapshotNode
from eks_gpu.scheduling.taints import PREFER_NO_SCHEDULE_TOLERATION, untolerated
from eks_gpu.scheduling.workloads import SimPod

LIMITED = ("cpu", "memory", RESOURCE_NVIDIA_GPU)
Tolerations = Sequence[Mapping[str, Any]]


@dataclass
class Claim:
    """A planned NodeClaim: its pods, their summed requests (DaemonSet overhead not
    included: it depends on the type), and the types that still fit."""

    pool: PoolModel
    requirements: Requirements
    requests: dict[str, Decimal]
    candidates: list[SimInstanceType]
    pods: list[SimPod] = field(default_factory=list)

    def launch(self) -> tuple[SimInstanceType, Offering]:
        """Karpenter's pick: the cheapest candidate, non-exotic ones first if any remain."""
        chosen = pick(self.candidates)
        offering = chosen.offering_for(self.requirements)
        if offering is None:  # candidates are filtered on offerings, so this cannot happen
            raise AssertionError(f"{chosen.name} has no offering under its claim")
        return chosen, offering


def pick(candidates: Sequence[SimInstanceType]) -> SimInstanceType:
    """The exotic filter: GPU/metal types only when no ordinary type remains."""
    return next((t for t in candidates if not t.exotic), candidates[0])


@dataclass
class ExistingNode:
    node: SnapshotNode
    requirements: Requirements
    free: dict[str, Decimal]
    pods: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """The outcome: NodeClaims to launch, pods placed on existing nodes, and the rest."""

    claims: list[Claim]
    existing: list[ExistingNode]
    unschedulable: dict[str, list[Reason]]


def _capacity(instance_type: SimInstanceType) -> dict[str, Decimal]:
    out = {key: instance_type.capacity.get(key, Decimal(0)) for key in LIMITED}
    out["nodes"] = Decimal(1)
    return out


def _over_limit(pool: PoolModel, extra: Mapping[str, Decimal]) -> str | None:
    for key, limit in sorted(pool.limits.items()):
        total = pool.used.get(key, Decimal(0)) + extra.get(key, Decimal(0))
        if total > limit:
            return (
                f"limits.{key} is {format_quantity(limit, key)}; this NodeClaim would bring the "
                f"pool to {format_quantity(total, key)}"
            )
    return None


def _fits(pool: PoolModel, requests: Mapping[str, Decimal], t: SimInstanceType) -> bool:
    """``requests`` plus the DaemonSet overhead on ``t`` fit ``t``'s allocatable
    (Karpenter ``filterInstanceTypesByRequirements``, per ``DaemonOverheadGroup``)."""
    overhead = pool.overhead_for(t.name)
    return fits(add(requests, overhead) if overhead else requests, t.allocatable)


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


class Solver:
    """One simulation over fixed pools and nodes; ``solve`` may be called once."""

    def __init__(self, pools: Sequence[PoolModel], nodes: Sequence[SnapshotNode] = ()) -> None:
        self.pools = order_pools(pools)
        self.claims: list[Claim] = []
        self.existing = [
            ExistingNode(n, Requirements.from_labels(n.labels), _free(n))
            for n in nodes
            if not getattr(n, "unschedulable", False)
        ]
        self._compatible: dict[tuple[str, str], list[SimInstanceType]] = {}
        self._prefer_no_schedule = any(
            taint.get("effect") == "PreferNoSchedule"
            for pool in self.pools
            for taint in pool.taints
        )

    # --- existing nodes and open claims --------------------------------------------------

    def _on_existing(
        self, pod: SimPod, requirements: Requirements, tolerations: Tolerations
    ) -> bool:
        for node in self.existing:
            hard = [t for t in node.node.taints if t.get("effect") in ("NoSchedule", "NoExecute")]
            if untolerated(hard, tolerations, ignore_ephemeral=True):
                continue
            if not node.requirements.is_compatible(requirements, frozenset()):
                continue
            if not fits(pod.requests, node.free):
                continue
            node.free = {k: v - pod.requests.get(k, Decimal(0)) for k, v in node.free.items()}
            node.pods.append(pod.ref)
            return True
        return False

    def _on_claim(self, pod: SimPod, requirements: Requirements, tolerations: Tolerations) -> bool:
        for claim in sorted(self.claims, key=lambda c: len(c.pods)):
            if not is_pool_compatible(claim.pool, requirements, tolerations):
                continue
            if not len(requirements):
                merged = claim.requirements
            elif not claim.requirements.is_intersecting(requirements):
                continue
            else:
                merged = claim.requirements.add(requirements)
            if self._grow(claim, pod, merged):
                return True
        return False

    def _grow(self, claim: Claim, pod: SimPod, merged: Requirements) -> bool:
        """Add ``pod`` if a candidate still fits; prune candidates that never will again."""
        totals = add(claim.requests, pod.requests)
        candidates = claim.candidates
        if merged is not claim.requirements:
            candidates = [
                t for t in candidates
                if t.requirements.is_intersecting(merged) and t.offering_for(merged)
            ]  # fmt: skip
        index = 0
        while index < len(candidates) and not _fits(claim.pool, totals, candidates[index]):
            index += 1
        if index == len(candidates):
            return False
        old = _capacity(pick(claim.candidates))
        new = _capacity(pick(candidates[index:]))
        extra = {k: new[k] - old[k] for k in new}
        if _over_limit(claim.pool, extra):
            return False
        claim.candidates = candidates[index:]
        claim.requirements, claim.requests = merged, totals
        claim.pods.append(pod)
        claim.pool.used = add(claim.pool.used, extra)
        return True

    # --- new claims --------------------------------------------------------------------

    def _types(self, pool: PoolModel, requirements: Requirements) -> list[SimInstanceType]:
        key = (pool.name, str(sorted(str(r) for r in requirements)))
        if key not in self._compatible:
            self._compatible[key] = compatible_types(pool.types, requirements)
        return self._compatible[key]

    def _new_claim(
        self, pod: SimPod, pool: PoolModel, requirements: Requirements, tolerations: Tolerations
    ) -> Reason | None:
        """Levels 1-3 are ``placement.check_pool_term``; then fit, offering, limits."""
        problems = check_pool_term(pool, requirements, tolerations)
        if problems:
            return problems[0]
        merged = pool.requirements.add(requirements)
        compatible = self._types(pool, merged)
        totals = dict(pod.requests)
        fitting = [t for t in compatible if _fits(pool, totals, t)]
        if not fitting:
            return Reason(
                pool.name, "no-instance-type-fits", "not enough " + _short(pool, compatible, totals)
            )
        offered = [t for t in fitting if t.offering_for(merged)]
        if not offered:
            return Reason(pool.name, "no-offering", _offering_message(merged))
        over = _over_limit(pool, _capacity(pick(offered)))
        if over:
            return Reason(pool.name, "nodepool-limit-exceeded", over)
        claim = Claim(pool, merged, totals, offered, [pod])
        pool.used = add(pool.used, _capacity(pick(offered)))
        self.claims.append(claim)
        return None

    # --- the loop ------------------------------------------------------------------------

    def _attempt(
        self, pod: SimPod, requirements: Requirements, tolerations: Tolerations
    ) -> list[Reason]:
        """One placement attempt: existing nodes, open claims, then each pool in order."""
        if self._on_existing(pod, requirements, tolerations):
            return []
        if self._on_claim(pod, requirements, tolerations):
            return []
        reasons = []
        for pool in self.pools:
            reason = self._new_claim(pod, pool, requirements, tolerations)
            if reason is None:
                return []
            reasons.append(reason)
        return reasons or [Reason("-", "no-nodepool", "no NodePool is defined")]

    def _place(self, pod: SimPod, variants: Sequence[Variant]) -> list[Reason]:
        """Try each relaxation step; last, tolerate PreferNoSchedule if a pool uses it."""
        if not variants:
            names = [pool.name for pool in self.pools] or ["-"]
            return [
                Reason(name, "affinity-matches-nothing", NOTHING_MATCHES_MESSAGE) for name in names
            ]
        tolerations: Tolerations = pod.view.tolerations
        reasons: list[Reason] = []
        for requirements, _note in variants:
            reasons = self._attempt(pod, requirements, tolerations)
            if not reasons:
                return []
        if self._prefer_no_schedule:
            # the last relaxation; its failure is what the pod reports, as Karpenter's
            # trySchedule returns the error of the last attempt
            relaxed = [*tolerations, PREFER_NO_SCHEDULE_TOLERATION]
            reasons = self._attempt(pod, variants[-1].requirements, relaxed)
        return reasons

    def solve(self, pods: Sequence[SimPod]) -> Plan:
        """Place every pod it can; the rest are unschedulable with one reason per NodePool."""
        variants = {pod.ref: pod.view.variants() for pod in pods}
        queue = sorted(pods, key=_order)
        failures: dict[str, list[Reason]] = {}
        while queue:
            retry = []
            for pod in queue:
                reasons = self._place(pod, variants[pod.ref])
                if reasons:
                    failures[pod.ref] = reasons
                    retry.append(pod)
                else:
                    failures.pop(pod.ref, None)
            if len(retry) == len(queue):
                break
            queue = retry
        return Plan(self.claims, self.existing, failures)


def _order(pod: SimPod) -> tuple[Decimal, Decimal, str]:
    return (-pod.requests.get("cpu", Decimal(0)), -pod.requests.get("memory", Decimal(0)), pod.ref)


def _free(node: SnapshotNode) -> dict[str, Decimal]:
    return {k: v - node.used.get(k, Decimal(0)) for k, v in node.allocatable.items()}


def _offering_message(requirements: Requirements) -> str:
    return (
        "no offering matches capacity type "
        f"{requirements.get(LABEL_CAPACITY_TYPE)} and zone {requirements.get(LABEL_ZONE)}"
    )


__all__ = ["Claim", "ExistingNode", "Plan", "Solver", "pick"]
