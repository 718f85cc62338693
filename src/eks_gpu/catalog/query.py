"""Filter, price and sort GPU instance types: the pure core of ``eks-gpu instances``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from eks_gpu.catalog.gpu_types import GpuInstanceType, gpu_instance_types
from eks_gpu.catalog.prices import CapacityType, PriceBook
from eks_gpu.errors import UsageError
from eks_gpu.spelling import did_you_mean

SortKey = Literal["price", "price-per-gpu", "gpu-memory", "price-per-gpu-gib"]
SORT_KEYS: tuple[SortKey, ...] = ("price", "price-per-gpu", "gpu-memory", "price-per-gpu-gib")


@dataclass(frozen=True)
class InstanceQuery:
    """What the user asked ``instances`` for; empty tuples mean "any"."""

    families: tuple[str, ...] = ()
    gpus: tuple[str, ...] = ()
    min_gpus: int = 0
    min_gpu_memory_gib: float = 0.0
    arch: str | None = None
    capacity_type: CapacityType = "on-demand"
    sort: SortKey = "price"


@dataclass(frozen=True)
class PricedType:
    """A GPU instance type with the price that applies to the query."""

    spec: GpuInstanceType
    price: float | None

    @property
    def gpu_equivalents(self) -> float:
        """Whole GPUs, or the fraction of one for g6f/gr6f (for per-GPU prices)."""
        return float(self.spec.gpu_count or self.spec.gpu_partition or 0)

    @property
    def price_per_gpu(self) -> float | None:
        """USD per GPU-hour (per whole-GPU equivalent for fractional types)."""
        if self.price is None or not self.gpu_equivalents:
            return None
        return self.price / self.gpu_equivalents

    @property
    def price_per_gpu_gib(self) -> float | None:
        """USD per GiB of GPU memory per hour."""
        if self.price is None or not self.spec.gpu_memory_total_gib:
            return None
        return self.price / self.spec.gpu_memory_total_gib


def _check_known(kind: str, wanted: Iterable[str], known: list[str]) -> None:
    for name in wanted:
        if name not in known:
            raise UsageError(
                f"unknown {kind} {name!r}{did_you_mean(name, known)}",
                hint=f"known: {', '.join(known)}",
            )


def validate_query(query: InstanceQuery) -> None:
    """Reject unknown families or GPU names before filtering silently finds nothing."""
    types = gpu_instance_types()
    _check_known("family", query.families, sorted({t.family for t in types}))
    _check_known("GPU name", query.gpus, sorted({t.gpu_name for t in types}))


def matches(spec: GpuInstanceType, query: InstanceQuery) -> bool:
    """Whether ``spec`` passes every filter of ``query``."""
    return (
        (not query.families or spec.family in query.families)
        and (not query.gpus or spec.gpu_name in query.gpus)
        and spec.gpu_count >= query.min_gpus
        and spec.gpu_memory_gib >= query.min_gpu_memory_gib
        and (query.arch is None or spec.architecture == query.arch)
    )


def _missing_last(value: float | None) -> tuple[bool, float]:
    return (value is None, value or 0.0)


def _sort_key(row: PricedType, key: SortKey) -> tuple[object, ...]:
    name = row.spec.instance_type
    if key == "price-per-gpu":
        return (*_missing_last(row.price_per_gpu), name)
    if key == "price-per-gpu-gib":
        return (*_missing_last(row.price_per_gpu_gib), name)
    if key == "gpu-memory":
        return (-row.spec.gpu_memory_total_gib, *_missing_last(row.price), name)
    return (*_missing_last(row.price), name)


def query_instances(query: InstanceQuery, prices: PriceBook) -> list[PricedType]:
    """The GPU types matching ``query``, priced from ``prices``, sorted (unknown prices last).

    When ``prices`` knows the region's offerings, types not offered there are left out.
    """
    validate_query(query)
    rows = [
        PricedType(spec, prices.price(spec.instance_type, query.capacity_type))
        for spec in gpu_instance_types()
        if matches(spec, query) and prices.offered(spec.instance_type) is not False
    ]
    return sorted(rows, key=lambda row: _sort_key(row, query.sort))


__all__ = [
    "SORT_KEYS",
    "InstanceQuery",
    "PricedType",
    "SortKey",
    "matches",
    "query_instances",
    "validate_query",
]
