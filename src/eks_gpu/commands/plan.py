"""``plan``: the first command to run. Composes ``render``, ``validate`` and ``simulate``:
what would be created, whether it is valid, what Karpenter would launch for the guide's test
pods (and the user's workloads), what that costs per hour, and whether GPU pools keep CPU
pods out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eks_gpu.commands.config_source import DEFAULT_SOURCE, RenderSource
from eks_gpu.commands.price_source import price_book
from eks_gpu.commands.render import RenderResult, render
from eks_gpu.commands.result import envelope
from eks_gpu.commands.simulate import SimulationResult, simulate
from eks_gpu.commands.validate import ValidationResult, validate
from eks_gpu.errors import EXIT_FINDINGS, EXIT_OK

KIND = "Plan"


@dataclass(frozen=True)
class PlanCost:
    """What the NodeClaims cost per hour, honest about what is unknown.

    ``known`` sums the NodeClaims with a price; ``ceiling`` is every NodeClaim at its
    on-demand price (spot never costs more), None when some type has no on-demand price;
    ``unpriced`` counts NodeClaims without a price (spot without a refresh).
    """

    known: float
    ceiling: float | None
    unpriced: int
    claims: int

    def line(self) -> str:
        """``Cost: ...``: the exact figure when every price is known, else the ceiling."""
        if not self.unpriced:
            return f"Cost: ${self.known:.3f}/h for {self.claims} NodeClaim(s)"
        ceiling = (
            f"at most ${self.ceiling:.3f}/h (every NodeClaim at on-demand rates)"
            if self.ceiling is not None
            else "unknown (some types have no on-demand price either)"
        )
        return (
            f"Cost: {ceiling}; spot prices unknown for {self.unpriced} of {self.claims} "
            "NodeClaim(s): run `eks-gpu catalog refresh` for spot prices"
        )


def plan_cost(claims: Sequence[Mapping[str, Any]], on_demand: Mapping[str, float]) -> PlanCost:
    """The cost of the simulation's NodeClaims, with ``on_demand`` prices for the ceiling."""
    known = sum(c["price_per_hour"] for c in claims if c["price_per_hour"] is not None)
    unpriced = sum(1 for c in claims if c["price_per_hour"] is None)
    ceilings = [
        on_demand.get(c["instance_type"]) if c["capacity_type"] == "spot" or
        c["price_per_hour"] is None else c["price_per_hour"]
        for c in claims
    ]  # fmt: skip
    ceiling = None if None in ceilings else sum(x for x in ceilings if x is not None)
    return PlanCost(round(known, 6), ceiling, unpriced, len(claims))


@dataclass(frozen=True)
class PlanResult:
    """The three results a plan is made of; it is OK only when all three are."""

    rendered: RenderResult
    validation: ValidationResult
    simulation: SimulationResult
    cost: PlanCost
    messages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Valid objects, every pod placed, every GPU pool isolated."""
        return self.validation.count("error") == 0 and not self.simulation.failed

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FINDINGS

    def to_json(self) -> dict[str, Any]:
        """The Plan document: objects, a ValidationReport, a Simulation, isolation, ok."""
        isolation = [
            {"nodepool": r.nodepool, "isolated": r.isolated, "message": r.message}
            for r in self.simulation.isolation
        ]
        return envelope(
            KIND,
            {
                "objects": self.rendered.objects,
                "validation": self.validation.to_json(),
                "simulation": self.simulation.to_json(),
                "isolation": isolation,
                "ok": self.ok,
            },
        )


def plan(
    source: RenderSource = DEFAULT_SOURCE,
    *,
    workloads: Sequence[str] = (),
    karpenter_version: str | None = None,
    crd_paths: Sequence[str] = (),
    zones: Sequence[str] = (),
    region: str | None = None,
    eks_admission: bool = True,
    skip_crd_checks: bool = False,
) -> PlanResult:
    """Render ``source``, validate the objects, simulate the test pods plus ``workloads``
    (``eks_admission``: model EKS's ExtendedResourceToleration admission in both)."""
    rendered = render(source, example_cluster=True)
    validation = validate(
        manifests=rendered.manifests,
        crd_paths=crd_paths,
        karpenter_version=karpenter_version,
        eks_admission=eks_admission,
        skip_crd_checks=skip_crd_checks,
    )
    tests = [o for o in rendered.objects if o.get("kind") == "Pod"]
    # read once: the simulation and the cost ceiling share it
    prices = price_book(region, estimate=True)
    simulation = simulate(
        objects=rendered.objects,
        workloads=workloads,
        extra_workloads=tests,
        zones=zones,
        region=region,
        eks_admission=eks_admission,
        prices=prices,
    )
    cost = plan_cost(simulation.document["nodeclaims"], prices.on_demand)
    return PlanResult(rendered, validation, simulation, cost)


__all__ = ["KIND", "PlanCost", "PlanResult", "plan", "plan_cost"]
