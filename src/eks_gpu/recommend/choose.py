"""Choose the cheapest GPU instance types that hold a workload, and say why.

A type fits when ``n`` of its NVIDIA GPUs hold the required memory, ``n`` being the
smallest tensor-parallel degree (1, 2, 4, 8) that does. You pay for the whole node, so
options are ranked by the node's hourly price (then fewer GPUs, then name). Types that
cannot serve ``nvidia.com/gpu`` pods (AMD, fractional) or lack a price are left out and
the assumptions say so. For training, GPUs without bf16 (T4, V100: compute capability
below 8.0) are ranked too, with the caveat: fp16 mixed precision with loss scaling trains on
them (the guide's training pick is p3.2xlarge, a V100).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eks_gpu.catalog.gpu_types import GpuInstanceType, gpu_instance_types
from eks_gpu.catalog.instance_types import all_instance_types
from eks_gpu.catalog.notes import notes_for
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.names import (
    LABEL_CAPACITY_TYPE,
    LABEL_GPU_COUNT,
    LABEL_GPU_MEMORY,
    LABEL_GPU_NAME,
    LABEL_INSTANCE_FAMILY,
    RESOURCE_AMD_GPU,
    RESOURCE_NVIDIA_GPU,
)

PARALLEL_DEGREES = (1, 2, 4, 8)


@dataclass(frozen=True)
class Constraints:
    """What the workload needs and what the user allows."""

    required_gib: float
    capacity_types: tuple[str, ...]
    gpus: int | None = None
    max_price: float | None = None
    families: tuple[str, ...] = ()
    architecture: str = "amd64"
    bf16_compute_capability: float | None = None  # training: GPUs below get a no-bf16 caveat
    limit: int = 5


@dataclass(frozen=True)
class Option:
    """One ranked instance type."""

    spec: GpuInstanceType
    gpus_used: int
    price: float
    reason: str


@dataclass(frozen=True)
class Choice:
    """The ranked options, the price basis and what was left out."""

    options: tuple[Option, ...]
    price_basis: str
    notes: tuple[str, ...]


def gpus_needed(spec: GpuInstanceType, required_gib: float, fixed: int | None) -> int | None:
    """The fewest of ``spec``'s GPUs (a parallel degree, or ``fixed``) that hold the memory."""
    degrees = (fixed,) if fixed else PARALLEL_DEGREES
    for count in degrees:
        if count <= spec.nvidia_gpus and count * spec.gpu_memory_gib >= required_gib:
            return count
    return None


def _price_basis(prices: PriceBook, capacity_types: Sequence[str]) -> tuple[str, str | None]:
    """Which price ranks the options, and a note when spot was wanted but is unknown."""
    if "spot" in capacity_types and prices.spot:
        return "spot", None
    if "spot" in capacity_types:
        return "on-demand", (
            "ranked by on-demand price: spot prices are unknown without "
            "`eks-gpu catalog refresh` (spot usually costs less, and varies by zone)"
        )
    return "on-demand", None


def _eligible(spec: GpuInstanceType, constraints: Constraints) -> bool:
    return (
        spec.nvidia_gpus > 0
        and spec.architecture == constraints.architecture
        and (not constraints.families or spec.family in constraints.families)
    )


def lacks_bf16(spec: GpuInstanceType, constraints: Constraints) -> bool:
    """Training on a GPU below the bf16 floor (T4, V100): it needs fp16 mixed precision."""
    floor = constraints.bf16_compute_capability
    return floor is not None and float(spec.compute_capability or 0) < floor


def _reason(
    spec: GpuInstanceType, gpus: int, required: float, price: float, best: float,
    constraints: Constraints,
) -> str:  # fmt: skip
    each = spec.gpu_memory_gib
    if gpus == 1:
        text = f"one {spec.gpu_model} ({each:.1f} GiB) holds {required:.1f} GiB"
    else:
        of = f" of its {spec.gpu_count}" if gpus < spec.gpu_count else ""
        text = (
            f"{gpus}{of} {spec.gpu_model} GPUs ({gpus} x {each:.1f} = {gpus * each:.1f} GiB) "
            f"hold {required:.1f} GiB split across them"
        )
    text += "; cheapest fit" if price == best else f"; {price / best:.2f}x the cheapest"
    if lacks_bf16(spec, constraints):
        text += (
            f"; no bf16 (compute capability {spec.compute_capability}): train with fp16 "
            "mixed precision and loss scaling"
        )
    notes = notes_for(spec.family)
    if notes.legacy:
        text += "; legacy V100: driver R580 and CUDA 12.x only"
    if notes.min_driver:
        text += f"; needs NVIDIA driver >= {notes.min_driver}"
    return text


def launchable(spec: GpuInstanceType) -> bool:
    """Whether the instance-type model has ``spec``: Karpenter v1.14's list plus the GPU
    types it lacks (p3), derived from EC2 facts with Karpenter's formulas.

    The list is the one ``scheduling.instance_model.catalog_types`` is built from (a test
    holds them equal); asked by name here, because building every type's requirements
    would cost ``recommend`` more than the rest of its work.
    """
    return spec.instance_type in all_instance_types()


@dataclass
class _Sorted:
    """The eligible types that hold the workload, by outcome."""

    fits: list[tuple[float, int, GpuInstanceType]]
    unpriced: list[str]
    unlisted: list[str]
    not_offered: list[str]
    region: str = ""


def _sort_types(constraints: Constraints, prices: PriceBook, basis: str) -> _Sorted:
    out = _Sorted([], [], [], [], prices.region)
    for spec in gpu_instance_types():
        gpus = gpus_needed(spec, constraints.required_gib, constraints.gpus)
        if not _eligible(spec, constraints) or gpus is None:
            continue
        if not launchable(spec):
            out.unlisted.append(spec.instance_type)
            continue
        if prices.offered(spec.instance_type) is False:
            out.not_offered.append(spec.instance_type)
            continue
        price = prices.price(spec.instance_type, basis)  # type: ignore[arg-type]
        if price is None:
            out.unpriced.append(spec.instance_type)
        elif constraints.max_price is None or price <= constraints.max_price:
            out.fits.append((price, gpus, spec))
    out.fits.sort(key=lambda fit: (fit[0], fit[1], fit[2].instance_type))
    return out


def _notes(
    constraints: Constraints, basis: str, basis_note: str | None, found: _Sorted
) -> tuple[str, ...]:
    notes = [
        f"left out: AMD g4ad ({RESOURCE_AMD_GPU}) and fractional g6f/gr6f "
        f"(no {RESOURCE_NVIDIA_GPU} in Karpenter)",
        f"only {constraints.architecture} types (the guide's AMI)",
    ]
    if constraints.bf16_compute_capability is not None:
        notes.append(
            f"GPUs below compute capability {constraints.bf16_compute_capability:g} (T4, V100) "
            "have no bf16; they are ranked too, for fp16 mixed precision with loss scaling "
            "(the guide trains on p3.2xlarge, a V100), and their reasons say so"
        )
    if basis_note:
        notes.append(basis_note)
    if found.unlisted:
        notes.append(
            "fit but are not in Karpenter v1.14's instance-type list, so no NodePool "
            f"launches them: {', '.join(found.unlisted)}"
        )
    if found.not_offered:
        notes.append(f"fit but are not offered in {found.region}: {', '.join(found.not_offered)}")
    if found.unpriced:
        notes.append(
            f"fit but have no {basis} price, so are not ranked: {', '.join(found.unpriced)}"
        )
    return tuple(notes)


def choose(constraints: Constraints, prices: PriceBook) -> Choice:
    """Rank every eligible GPU type Karpenter can launch that holds the workload."""
    basis, basis_note = _price_basis(prices, constraints.capacity_types)
    found = _sort_types(constraints, prices, basis)
    best = found.fits[0][0] if found.fits else 0.0
    options = tuple(
        Option(
            spec,
            gpus,
            price,
            _reason(spec, gpus, constraints.required_gib, price, best, constraints),
        )
        for price, gpus, spec in found.fits[: constraints.limit]
    )
    return Choice(options, basis, _notes(constraints, basis, basis_note, found))


def _requirement(key: str, operator: str, values: list[str]) -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": values}


def nodepool_requirements(
    options: Sequence[Option], capacity_types: Sequence[str], required_gib: float
) -> list[dict[str, Any]]:
    """Karpenter requirements under which every launchable type holds the workload.

    The pod requests ``n`` = the best option's GPU count, so Karpenter only launches types
    with at least ``n`` GPUs; requiring each GPU to hold ``required / n`` then guarantees the
    fit. Families and GPU names are those of the options that use the same ``n``.
    """
    if not options:
        return []
    count = options[0].gpus_used
    same = [option for option in options if option.gpus_used == count]
    floor_mib = math.ceil(required_gib * 1024 / count)
    requirements = [
        _requirement(LABEL_INSTANCE_FAMILY, "In", sorted({o.spec.family for o in same})),
        _requirement(LABEL_GPU_NAME, "In", sorted({o.spec.gpu_name for o in same})),
        _requirement(LABEL_GPU_MEMORY, "Gt", [str(floor_mib - 1)]),
    ]
    if count > 1:
        requirements.append(_requirement(LABEL_GPU_COUNT, "Gt", [str(count - 1)]))
    requirements.append(_requirement(LABEL_CAPACITY_TYPE, "In", list(capacity_types)))
    return requirements


__all__ = [
    "Choice",
    "Constraints",
    "Option",
    "choose",
    "gpus_needed",
    "lacks_bf16",
    "launchable",
    "nodepool_requirements",
]
