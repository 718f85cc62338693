"""``plan``: the first command to run. Composes ``render``, ``validate`` and ``simulate``:
what would be created, whether it is valid, what Karpenter would launch for the guide's test
pods (and the user's workloads), what that costs per hour, and whether GPU pools keep CPU
pods out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eks_gpu.commands.config_source import DEFAULT_SOURCE, RenderSource
from eks_gpu.commands.render import RenderResult, render
from eks_gpu.commands.result import envelope
from eks_gpu.commands.simulate import SimulationResult, simulate
from eks_gpu.commands.validate import ValidationResult, validate
from eks_gpu.errors import EXIT_FINDINGS, EXIT_OK

KIND = "Plan"


@dataclass(frozen=True)
class PlanResult:
    """The three results a plan is made of; it is OK only when all three are."""

    rendered: RenderResult
    validation: ValidationResult
    simulation: SimulationResult
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
) -> PlanResult:
    """Render ``source``, validate the objects, simulate the test pods plus ``workloads``
    (``eks_admission``: model EKS's ExtendedResourceToleration admission in both)."""
    rendered = render(source, example_cluster=True)
    validation = validate(
        manifests=rendered.manifests,
        crd_paths=crd_paths,
        karpenter_version=karpenter_version,
        eks_admission=eks_admission,
    )
    tests = [o for o in rendered.objects if o.get("kind") == "Pod"]
    simulation = simulate(
        objects=rendered.objects,
        workloads=workloads,
        extra_workloads=tests,
        zones=zones,
        region=region,
        eks_admission=eks_admission,
    )
    return PlanResult(rendered, validation, simulation)


__all__ = ["KIND", "PlanResult", "plan"]
