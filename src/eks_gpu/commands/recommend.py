"""``recommend``: size a workload's GPU memory, rank the cheapest instance types that hold it,
and give the NodePool requirements that make Karpenter launch them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.price_source import price_book
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:
    from eks_gpu.catalog.advice import Workload
    from eks_gpu.catalog.prices import CapacityType
    from eks_gpu.recommend.choose import Choice
    from eks_gpu.recommend.memory import MemoryEstimate, Precision

KIND = "Recommendation"
TRAINING_MIN_CC = 8.0  # bf16 tensor cores; T4/V100 below it are ranked with an fp16 caveat
CAPACITY_TYPES = ("on-demand", "spot")


@dataclass(frozen=True)
class RecommendationResult:
    """The estimate, the ranked options (best first), the capacity types and the advice."""

    estimate: MemoryEstimate
    choice: Choice
    capacity_types: tuple[str, ...]
    advice: str
    price_note: str
    messages: tuple[str, ...] = ()
    estimated_from: str | None = None  # the prices are this region's, as an estimate

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.choice.options else EXIT_FINDINGS

    def document(self) -> dict[str, Any]:
        """The recommendation's keys (best option first), as ``-o json`` prints them."""
        from eks_gpu.recommend.choose import nodepool_requirements

        choice, estimate = self.choice, self.estimate
        return {
            "required_gpu_memory_gib": estimate.required_gib,
            "assumptions": [*estimate.assumptions, *choice.notes, self.price_note],
            "price_basis": choice.price_basis,
            "options": [
                {
                    "instance_type": option.spec.instance_type,
                    "gpus_used": option.gpus_used,
                    "gpu_name": option.spec.gpu_name,
                    "gpu_count": option.spec.gpu_count,
                    "gpu_memory_gib": round(option.spec.gpu_memory_gib, 1),
                    "price_per_hour": option.price,
                    "reason": option.reason,
                }
                for option in choice.options
            ],
            "pod_gpu_request": choice.options[0].gpus_used if choice.options else None,
            "nodepool_requirements": nodepool_requirements(
                choice.options, self.capacity_types, estimate.required_gib
            ),
            "guide_advice": self.advice,
        }

    def to_json(self) -> dict[str, Any]:
        """The Recommendation document."""
        return envelope(KIND, self.document())


def _capacity_types(wanted: Sequence[str], default: tuple[str, ...]) -> tuple[str, ...]:
    chosen = tuple(wanted) or default
    unknown = [c for c in chosen if c not in CAPACITY_TYPES]
    if unknown:
        raise UsageError(f"--capacity-type: unknown {', '.join(unknown)}",
                         hint="use on-demand, spot, or on-demand,spot")  # fmt: skip
    return chosen


def _estimate(
    workload: Workload, model_params: str | None, precision: Precision,
    gpu_memory: float | None, headroom: float, bytes_per_param: float,
) -> MemoryEstimate:  # fmt: skip
    from eks_gpu.recommend.memory import estimate_memory, given_memory, read_params

    if gpu_memory is not None:
        return given_memory(gpu_memory)
    params, note = read_params(model_params) if model_params else (None, None)
    estimate = estimate_memory(workload, params, precision, headroom, bytes_per_param)
    if note is None:
        return estimate
    return replace(estimate, assumptions=(note, *estimate.assumptions))


def recommend(
    workload: Workload,
    *,
    model_params: str | None = None,
    precision: Precision = "fp16",
    gpu_memory: float | None = None,
    gpus: int | None = None,
    capacity_types: Sequence[str] = (),
    max_price: float | None = None,
    families: Sequence[str] = (),
    headroom: float = 0.2,
    bytes_per_param: float = 16.0,
    region: str | None = None,
    limit: int = 5,
) -> RecommendationResult:
    """Rank the cheapest instance types that hold ``workload`` (the guide's capacity types
    for it unless ``capacity_types`` says otherwise)."""
    from eks_gpu.catalog.advice import guide_advice
    from eks_gpu.catalog.prices import BUNDLED_REGION
    from eks_gpu.catalog.query import InstanceQuery, validate_query
    from eks_gpu.recommend.choose import Constraints, choose

    advice = guide_advice()[workload]
    chosen = _capacity_types(capacity_types, advice.capacity_types)
    validate_query(InstanceQuery(families=tuple(families)))
    estimate = _estimate(workload, model_params, precision, gpu_memory, headroom, bytes_per_param)
    constraints = Constraints(
        required_gib=estimate.required_gib,
        capacity_types=chosen,
        gpus=gpus,
        max_price=max_price,
        families=tuple(families),
        bf16_compute_capability=TRAINING_MIN_CC if workload == "training" else None,
        limit=limit,
    )
    prices = price_book(region, estimate=True)
    choice = choose(constraints, prices)
    basis: CapacityType = "spot" if choice.price_basis == "spot" else "on-demand"
    zones = () if prices.zones_source is None else (f"offerings: {prices.zones_source}",)
    note = "; ".join((prices.describe(basis), *zones))
    estimated = BUNDLED_REGION if prices.source == "estimate" else None
    return RecommendationResult(
        estimate, choice, chosen, advice.advice, note, estimated_from=estimated
    )


__all__ = ["CAPACITY_TYPES", "KIND", "TRAINING_MIN_CC", "RecommendationResult", "recommend"]
