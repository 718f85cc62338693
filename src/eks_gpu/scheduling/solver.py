"""What Karpenter would launch for a set of pods, and why a pod would stay Pending.

The loop follows Karpenter's provisioner (STYLE.md): pods sorted by CPU then memory,
descending; each pod tries existing nodes, then the planned NodeClaims (fewest pods first),
then a new NodeClaim from the NodePools by weight; preferences are relaxed one step at a
time; failed pods are retried until a pass makes no progress. A NodeClaim keeps every
instance type that could still hold its pods, cheapest first, and launches the cheapest
(GPU and metal types only when nothing else remains, as Karpenter's exotic filter does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eks_gpu.names import LABEL_CAPACITY_TYPE, LABEL_ZONE, RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.instance_model import Offering, SimInstanceType
from eks_gpu.scheduling.pod_requirements import pod_requirement_variants
from eks_gpu.scheduling.pools import PoolModel, order_pools
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import add, fits, format_quantity
from eks_gpu.scheduling.snapshot import SnapshotNode
from eks_gpu.scheduling.taints import PREFER_NO_SCHEDULE_TOLERATION, taint_str, untolerated
from eks_gpu.scheduling.workloads import SimPod

LIMITED = ("cpu", "memory", RESOURCE_NVIDIA_GPU)
Tolerations = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Reason:
    """Why one NodePool (or ``-``) could not take a pod."""

    nodepool: str
    code: str
    message: str


@dataclass
class Claim:
    """A planned NodeClaim: its pods, their summed requests, and the types that still fit."""

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


def _short(types: Sequence[SimInstanceType], requests: Mapping[str, Decimal]) -> str:
    """The resources no compatible type has enough of, e.g. ``nvidia.com/gpu (needs 16, ...)``."""
    parts = []
    for key, needed in sorted(requests.items()):
        best = max((t.allocatable.get(key, Decimal(0)) for t in types), default=Decimal(0))
        if best < needed:
            parts.append(
                f"{key} (needs {format_quantity(needed, key)}, the most any type offers is "
                f"{format_quantity(best, key)})"
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
            if fits(pod.requests, node.free):
                continue
            node.free = {k: v - pod.requests.get(k, Decimal(0)) for k, v in node.free.items()}
            node.pods.append(pod.ref)
            return True
        return False

    def _on_claim(self, pod: SimPod, requirements: Requirements, tolerations: Tolerations) -> bool:
        for claim in sorted(self.claims, key=lambda c: len(c.pods)):
            pool = claim.pool
            if untolerated(pool.taints, tolerations):
                continue
            if not pool.requirements.is_compatible(requirements):
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
        while index < len(candidates) and fits(totals, candidates[index].allocatable):
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
            self._compatible[key] = [
                t for t in pool.types
                if t.requirements.is_intersecting(requirements)
            ]  # fmt: skip
        return self._compatible[key]

    def _new_claim(
        self, pod: SimPod, pool: PoolModel, requirements: Requirements, tolerations: Tolerations
    ) -> Reason | None:
        missing = untolerated(pool.taints, tolerations)
        if missing:
            taint = taint_str(missing[0])
            return Reason(pool.name, "taint-not-tolerated", f"the pod does not tolerate {taint}")
        problems = pool.requirements.compatible(requirements)
        if problems:
            return _requirement_reason(pool, requirements, problems)
        merged = pool.requirements.add(requirements)
        compatible = self._types(pool, merged)
        if not compatible:
            message = "no instance type of the pool matches the pod's requirements"
            return Reason(pool.name, "no-instance-type-fits", message)
        totals = add(pool.overhead, pod.requests)
        fitting = [t for t in compatible if not fits(totals, t.allocatable)]
        if not fitting:
            return Reason(
                pool.name, "no-instance-type-fits", "not enough " + _short(compatible, totals)
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

    def _place(self, pod: SimPod, variants: list[tuple[Requirements, str]]) -> list[Reason]:
        """Try each relaxation step; last, tolerate PreferNoSchedule if a pool uses it."""
        tolerations: Tolerations = list(pod.spec.get("tolerations") or [])
        reasons: list[Reason] = []
        for requirements, _note in variants:
            reasons = self._attempt(pod, requirements, tolerations)
            if not reasons:
                return []
        if self._prefer_no_schedule and variants:
            relaxed = [*tolerations, PREFER_NO_SCHEDULE_TOLERATION]
            if not self._attempt(pod, variants[-1][0], relaxed):
                return []
        return reasons

    def solve(self, pods: Sequence[SimPod]) -> Plan:
        """Place every pod it can; the rest are unschedulable with one reason per NodePool."""
        variants = {pod.ref: pod_requirement_variants(pod.spec) for pod in pods}
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


def _requirement_reason(pool: PoolModel, requirements: Requirements, problems: list[str]) -> Reason:
    undefined = [p for p in problems if "does not have known values" in p]
    if undefined:
        return Reason(pool.name, "label-undefined", undefined[0])
    conflict = pool.requirements.conflict(requirements)
    if conflict is not None:
        key, node_side, pod_side = conflict
        message = f"{key}: the pod needs {pod_side}, the pool allows {node_side}"
        return Reason(pool.name, "requirement-conflict", message)
    return Reason(pool.name, "requirement-conflict", problems[0])


def _offering_message(requirements: Requirements) -> str:
    return (
        "no offering matches capacity type "
        f"{requirements.get(LABEL_CAPACITY_TYPE)} and zone {requirements.get(LABEL_ZONE)}"
    )


__all__ = ["Claim", "ExistingNode", "Plan", "Reason", "Solver", "pick"]
