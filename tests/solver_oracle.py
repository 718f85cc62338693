"""The quadratic reference for the solver's claim index (a test oracle, not product code).

:class:`QuadraticSolver` is :class:`~eks_gpu.scheduling.solver.Solver` with the claim scan
as it was before ``claims.OpenClaims``: every pod tries every open NodeClaim, sorted by pod
count (a stable sort, so ties keep opening order), checking the pool of each. Everything
else is shared, so any difference in the plans is the index's fault.

:func:`plan_key` reduces a plan to what a user sees: per NodeClaim its pool, launched type,
offering, round, limit and pods; per unschedulable pod its reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eks_gpu.scheduling.placement import is_pool_compatible
from eks_gpu.scheduling.pools import PoolModel
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.snapshot import SnapshotNode
from eks_gpu.scheduling.solver import Plan, Solver, _Pass
from eks_gpu.scheduling.workloads import SimPod


class QuadraticPass(_Pass):
    """A pass whose pods try every open NodeClaim, in Karpenter's order."""

    def _on_claim(
        self, pod: SimPod, requirements: Requirements, tolerations: Sequence[Mapping[str, Any]]
    ) -> bool:
        for claim in sorted(self.planned.claims, key=lambda c: len(c.pods)):
            if not is_pool_compatible(claim.pool, requirements, tolerations):
                continue
            if self._try_claim(claim, pod, requirements):
                return True
        return False


class QuadraticSolver(Solver):
    """The solver with :class:`QuadraticPass`."""

    def __init__(
        self, pools: Sequence[PoolModel], nodes: Sequence[SnapshotNode] = (), **kwargs: Any
    ) -> None:
        super().__init__(pools, nodes, **kwargs)
        self.pass_type = QuadraticPass


def plan_key(plan: Plan) -> tuple[Any, ...]:
    """What a user sees of ``plan``, as comparable tuples."""
    claims = []
    for claim in plan.claims:
        chosen, offering = claim.launch()
        pods = tuple(pod.ref for pod in claim.pods)
        claims.append((claim.pool.name, chosen.name, offering, claim.round, claim.held_by, pods))
    failed = tuple(sorted((ref, tuple(reasons)) for ref, reasons in plan.unschedulable.items()))
    existing = tuple((n.node.name if n.node else "-", tuple(n.pods)) for n in plan.existing)
    return tuple(claims), failed, existing, plan.rounds
