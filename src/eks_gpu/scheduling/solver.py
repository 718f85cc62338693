"""What Karpenter would launch for a set of pods, pass by pass, and why a pod stays Pending.

One pass follows Karpenter's scheduler (sigs.k8s.io/karpenter v1.14.1
``pkg/controllers/provisioning/scheduling/scheduler.go``): pods sorted by CPU then memory,
descending; each pod tries existing nodes, then the planned NodeClaims (fewest pods first,
``claims.OpenClaims``), then a new NodeClaim from the NodePools by weight; preferences are
relaxed one step at a time; failed pods are retried until a pass makes no progress. A
NodeClaim keeps every instance type that could still hold its pods, cheapest first, and
launches the cheapest (GPU and metal types only when nothing else remains, as the
provider's exotic filter does, unless a requirement has minValues).

NodePool limits are enforced per pass (``limits``): a new NodeClaim is charged the largest
capacity among its candidates, so pods can be refused in one pass and placed in the next,
once the launched NodeClaims count with their real type. :class:`Solver` runs passes until
one opens nothing or every pod is placed; each NodeClaim records its ``round`` and the
limit that ``held_by`` it back.

Whether a pool may take a pod at all (taints, requirements, a matching instance type) is
``placement``'s verdict, the same one validate gives; this module adds what depends on the
plan: resources, offerings, limits and minValues.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eks_gpu.names import LABEL_CAPACITY_TYPE, LABEL_INSTANCE_TYPE, LABEL_ZONE
from eks_gpu.scheduling import limits, min_values
from eks_gpu.scheduling.claims import Candidates, Claim, OpenClaims, free_on, pick
from eks_gpu.scheduling.new_claims import LIMIT_CODE, NewClaims
from eks_gpu.scheduling.placement import (
    NOTHING_MATCHES_MESSAGE,
    check_pool_term,
    is_pool_compatible,
)
from eks_gpu.scheduling.pod_view import Variant
from eks_gpu.scheduling.pools import PoolModel, order_pools
from eks_gpu.scheduling.reasons import Reason
from eks_gpu.scheduling.requirement import Requirement
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import add, fits
from eks_gpu.scheduling.snapshot import SnapshotNode
from eks_gpu.scheduling.taints import PREFER_NO_SCHEDULE_TOLERATION, untolerated
from eks_gpu.scheduling.workloads import SimPod

Tolerations = Sequence[Mapping[str, Any]]
MAX_ROUNDS = 50
"""A bound on the passes simulated; each pass that continues opens at least one node."""


@dataclass
class ExistingNode:
    """A snapshot node the pass tries before any NodeClaim."""

    node: SnapshotNode
    requirements: Requirements
    free: dict[str, Decimal]
    pods: list[str] = field(default_factory=list)
    taints: tuple[Mapping[str, Any], ...] = ()


@dataclass
class InFlightNode:
    """A NodeClaim an earlier pass launched: to Karpenter an existing node of its real type
    (``NewExistingNode``), tried after the snapshot's nodes."""

    claim: Claim
    requirements: Requirements
    free: dict[str, Decimal]
    pods: list[str] = field(default_factory=list)
    taints: tuple[Mapping[str, Any], ...] = ()


@dataclass
class Plan:
    """The outcome: NodeClaims to launch (every pass), pods on existing nodes, the rest."""

    claims: list[Claim]
    existing: list[ExistingNode]
    unschedulable: dict[str, list[Reason]]
    rounds: int = 1
    """The provisioning pass that opens the last NodeClaim (1 when all open in the first)."""


def _snapshot_node(node: SnapshotNode) -> ExistingNode:
    hard = tuple(t for t in node.taints if t.get("effect") in ("NoSchedule", "NoExecute"))
    free = {k: v - node.used.get(k, Decimal(0)) for k, v in node.allocatable.items()}
    return ExistingNode(node, Requirements.from_labels(node.labels), free, taints=hard)


def _in_flight(claim: Claim) -> InFlightNode:
    """A launched NodeClaim as the next pass sees it: its type's labels and allocatable
    less the DaemonSet overhead, the pool's taints (``NewExistingNode``)."""
    chosen, offering = claim.launch()
    requirements = claim.requirements.add(
        chosen.requirements,
        Requirement.create(LABEL_INSTANCE_TYPE, "In", [chosen.name]),
        Requirement.create(LABEL_ZONE, "In", [offering.zone]),
        Requirement.create(LABEL_CAPACITY_TYPE, "In", [offering.capacity_type]),
    )
    hard = tuple(t for t in claim.pool.taints if t.get("effect") in ("NoSchedule", "NoExecute"))
    free = free_on(claim.pool, chosen) or {}
    return InFlightNode(claim, requirements, free, taints=hard)


def _launched_in(pool: PoolModel, launched: Sequence[Claim]) -> list[dict[str, Decimal]]:
    """The capacity of each NodeClaim launched from ``pool`` (``updateRemainingResources``)."""
    return [limits.node_capacity(c.launch()[0]) for c in launched if c.pool.name == pool.name]


class _Pass:
    """One provisioning pass (Karpenter's ``Scheduler.Solve``) over fixed nodes."""

    def __init__(self, solver: Solver, launched: Sequence[Claim], number: int) -> None:
        self.solver, self.number = solver, number
        self.existing = [_snapshot_node(n) for n in solver.nodes if not n.unschedulable]
        self.in_flight = [_in_flight(c) for c in launched]
        self.planned = OpenClaims()
        self.remaining = {
            pool.name: limits.remaining_at_start(
                pool.limits, [pool.used, *_launched_in(pool, launched)]
            )
            for pool in solver.pools
            if pool.limits
        }
        self.refused: dict[str, str] = {}  # pool -> the limit that refused a pod this pass
        self._seq = itertools.count()

    # --- existing nodes and open claims --------------------------------------------------

    def _on_existing(
        self, pod: SimPod, requirements: Requirements, tolerations: Tolerations
    ) -> bool:
        nodes: list[ExistingNode | InFlightNode] = [*self.existing, *self.in_flight]
        for node in nodes:
            if not fits(pod.requests, node.free):
                continue
            if node.taints and untolerated(node.taints, tolerations, ignore_ephemeral=True):
                continue
            if not node.requirements.is_compatible(requirements, frozenset()):
                continue
            node.free = {k: v - pod.requests.get(k, Decimal(0)) for k, v in node.free.items()}
            node.pods.append(pod.ref)
            if isinstance(node, InFlightNode):
                node.claim.pods.append(pod)
            return True
        return False

    def _on_claim(self, pod: SimPod, requirements: Requirements, tolerations: Tolerations) -> bool:
        pools = [p.name for p in self.solver.pools
                 if is_pool_compatible(p, requirements, tolerations)]  # fmt: skip
        for claim in self.planned.scan(pools, pod.requests):
            if self._try_claim(claim, pod, requirements):
                return True
        return False

    def _try_claim(self, claim: Claim, pod: SimPod, requirements: Requirements) -> bool:
        if not len(requirements):
            merged = claim.requirements
        elif not claim.requirements.is_intersecting(requirements):
            return False
        else:
            merged = claim.requirements.add(requirements)
        return self._grow(claim, pod, merged)

    def _grow(self, claim: Claim, pod: SimPod, merged: Requirements) -> bool:
        """Add ``pod`` if a candidate still fits (and minValues still holds)."""
        totals = add(claim.requests, pod.requests)
        options, start = claim.options, claim.start
        if merged is not claim.requirements:
            kept = [i for i in range(start, len(options))
                    if options.types[i].requirements.is_intersecting(merged)
                    and options.types[i].offering_for(merged)]  # fmt: skip
            options = Candidates([options.types[i] for i in kept], [options.free[i] for i in kept])
            start = 0
        index = options.first_fit(totals, start)
        if index == len(options):
            return False
        if (
            claim.min_values
            and self.solver.strict
            and min_values.shortfalls(options.fitting(totals, index), claim.min_values)
        ):
            return False
        claim.options, claim.start = options, index
        claim.requirements, claim.requests = merged, totals
        claim.pods.append(pod)
        self.planned.grew(claim)
        return True

    # --- new claims --------------------------------------------------------------------

    def _new_claim(
        self, pod: SimPod, pool: PoolModel, requirements: Requirements, tolerations: Tolerations
    ) -> Reason | None:
        """Levels 1-3 are ``placement.check_pool_term``; then limits, fit, offering, minValues."""
        problems = check_pool_term(pool, requirements, tolerations)
        if problems:
            return problems[0]
        remaining = self.remaining.get(pool.name, {})
        if limits.nodes_exhausted(remaining):
            self.refused.setdefault(pool.name, limits.NODES)
            message = limits.refusal_message(limits.NODES, pool.limits, remaining, Decimal(1))
            return Reason(pool.name, LIMIT_CODE, message)
        merged = pool.requirements.add(requirements)
        options = self.solver.new_claims.options(pool, merged, pod.requests, remaining)
        if isinstance(options, Reason):
            if options in self.solver.new_claims.limit_keys:
                self.refused.setdefault(pool.name, self.solver.new_claims.limit_keys[options])
            return options
        claim = Claim(
            pool,
            merged,
            dict(pod.requests),
            options,
            start=0,
            pods=[pod],
            seq=next(self._seq),
            min_values=self.solver.new_claims.wanted(pool),
            round=self.number,
        )
        limits.subtract_max(remaining, options.types)
        self.planned.add(claim)
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
        for pool in self.solver.pools:
            reason = self._new_claim(pod, pool, requirements, tolerations)
            if reason is None:
                return []
            reasons.append(reason)
        return reasons or [Reason("-", "no-nodepool", "no NodePool is defined")]

    def _place(self, pod: SimPod, variants: Sequence[Variant]) -> list[Reason]:
        """Try each relaxation step; last, tolerate PreferNoSchedule if a pool uses it."""
        if not variants:
            names = [pool.name for pool in self.solver.pools] or ["-"]
            return [
                Reason(name, "affinity-matches-nothing", NOTHING_MATCHES_MESSAGE) for name in names
            ]
        tolerations: Tolerations = pod.view.tolerations
        reasons: list[Reason] = []
        for requirements, _note in variants:
            reasons = self._attempt(pod, requirements, tolerations)
            if not reasons:
                return []
        if self.solver.prefer_no_schedule:
            # the last relaxation; its failure is what the pod reports, as Karpenter's
            # trySchedule returns the error of the last attempt
            relaxed = [*tolerations, PREFER_NO_SCHEDULE_TOLERATION]
            reasons = self._attempt(pod, variants[-1].requirements, relaxed)
        return reasons

    def run(self, pods: Sequence[SimPod]) -> dict[str, list[Reason]]:
        """Place every pod it can; the rest, with one reason per NodePool."""
        queue = sorted(pods, key=_order)
        failures: dict[str, list[Reason]] = {}
        while queue:
            retry = []
            for pod in queue:
                reasons = self._place(pod, self.solver.variants(pod))
                if reasons:
                    failures[pod.ref] = reasons
                    retry.append(pod)
                else:
                    failures.pop(pod.ref, None)
            if len(retry) == len(queue):
                break
            queue = retry
        self._launch_check(failures)
        return failures

    def _launch_check(self, failures: dict[str, list[Reason]]) -> None:
        """Drop the claims whose cheapest 60 candidates miss minValues (the provider's
        launch truncation; the core's 600-type cut is implied by it): their pods fail."""
        if not self.solver.strict:
            return
        for claim in [c for c in self.planned.claims if c.min_values]:
            fitting = claim.options.fitting(claim.requests, claim.start)
            short = min_values.shortfalls(fitting[: min_values.MAX_LAUNCH_TYPES], claim.min_values)
            if not short:
                continue
            where = f"by the {min_values.MAX_LAUNCH_TYPES} cheapest types sent to launch"
            reason = Reason(claim.pool.name, "min-values-unsatisfied",
                            min_values.message(short, claim.min_values, where))  # fmt: skip
            for pod in claim.pods:
                failures[pod.ref] = [reason]
            self.planned.claims.remove(claim)


class Solver:
    """One simulation over fixed pools and nodes; ``solve`` may be called once.

    ``min_values_policy`` is Karpenter's ``--min-values-policy`` (``Strict``, the default,
    refuses a NodeClaim whose candidates miss minValues; ``BestEffort`` relaxes it).
    """

    def __init__(
        self,
        pools: Sequence[PoolModel],
        nodes: Sequence[SnapshotNode] = (),
        *,
        min_values_policy: str = min_values.STRICT,
        max_rounds: int = MAX_ROUNDS,
    ) -> None:
        self.pass_type: type[_Pass] = _Pass
        self.pools = order_pools(pools)
        self.nodes = tuple(nodes)
        self.strict = min_values_policy == min_values.STRICT
        self.max_rounds = max_rounds
        self.prefer_no_schedule = any(
            taint.get("effect") == "PreferNoSchedule"
            for pool in self.pools
            for taint in pool.taints
        )
        self.new_claims = NewClaims(strict=self.strict)
        self._variants: dict[str, tuple[Variant, ...]] = {}

    def variants(self, pod: SimPod) -> tuple[Variant, ...]:
        if pod.ref not in self._variants:
            self._variants[pod.ref] = pod.view.variants()
        return self._variants[pod.ref]

    def solve(self, pods: Sequence[SimPod]) -> Plan:
        """Run passes until every pod is placed or a pass opens no NodeClaim."""
        launched: list[Claim] = []
        held: dict[str, str] = {}
        number = 0
        while True:
            number += 1
            current = self.pass_type(self, launched, number)
            for claim in launched:
                claim.pods = []
            failures = current.run(pods)
            opened = current.planned.claims
            for claim in opened:
                if claim.pool.name in held:
                    claim.held_by = f"limits.{held[claim.pool.name]}"
            if not failures or not opened or number == self.max_rounds:
                claims = [*launched, *opened]
                last = max((c.round for c in claims), default=1)
                return Plan(claims, current.existing, failures, last)
            for claim in opened:
                claim.launched = claim.launch()
            launched += opened
            held = current.refused


def _order(pod: SimPod) -> tuple[Decimal, Decimal, str]:
    return (-pod.requests.get("cpu", Decimal(0)), -pod.requests.get("memory", Decimal(0)), pod.ref)


__all__ = ["MAX_ROUNDS", "Claim", "ExistingNode", "Plan", "Solver", "pick"]
