"""``instances``: the GPU instance catalog with specs and prices, filtered and sorted.

``-o json`` is an ``InstanceList`` whose ``items`` are one object per instance type (the
bare array of earlier versions is now behind the envelope, docs/json-output.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.price_source import price_book
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_OK

if TYPE_CHECKING:
    from eks_gpu.catalog.prices import CapacityType, PriceBook
    from eks_gpu.catalog.query import PricedType, SortKey

KIND = "InstanceList"


def price_source(prices: PriceBook) -> str:
    """A short machine-readable source tag, e.g. ``bundled:us-east-1:2026-07-20``."""
    return f"{prices.source}:{prices.region}:{prices.date}" if prices.source != "none" else "none"


def instance_record(row: PricedType, capacity_type: str, source: str) -> dict[str, Any]:
    """One item of the list: the documented contract keys first, then extras."""
    from eks_gpu.catalog.notes import notes_for

    spec = row.spec
    return {
        "instance_type": spec.instance_type,
        "family": spec.family,
        "gpu_manufacturer": spec.gpu_manufacturer,
        "gpu_name": spec.gpu_name,
        "gpu_count": spec.gpu_count,
        "gpu_memory_mib": spec.gpu_memory_mib,
        "vcpu": spec.vcpu,
        "memory_mib": spec.memory_mib,
        "local_nvme_gb": spec.local_nvme_gb,
        "architecture": spec.architecture,
        "price_per_hour": row.price,
        "price_source": source,
        "capacity_type": capacity_type,
        "price_per_gpu_hour": row.price_per_gpu,
        "gpu_model": spec.gpu_model,
        "gpu_partition": spec.gpu_partition,
        "compute_capability": spec.compute_capability,
        "local_nvme_count": spec.local_nvme_count,
        "network": spec.network,
        "efa_max_interfaces": spec.efa_max_interfaces,
        "max_pods": spec.max_pods,
        "notes": list(notes_for(spec.family).notes),
    }


@dataclass(frozen=True)
class InstanceListResult:
    """The matching instance types in the chosen order, and the prices they were shown with."""

    rows: tuple[PricedType, ...]
    prices: PriceBook
    capacity_type: CapacityType

    @property
    def price_description(self) -> str:
        """Which prices these are, and what is unknown (one line)."""
        return self.prices.describe(self.capacity_type)

    @property
    def messages(self) -> tuple[str, ...]:
        return (f"{len(self.rows)} instance types; {self.price_description}",)

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """The InstanceList document: one item per type."""
        source = price_source(self.prices)
        items = [instance_record(row, self.capacity_type, source) for row in self.rows]
        return envelope(KIND, {"items": items})


def instances(
    *,
    families: Sequence[str] = (),
    gpus: Sequence[str] = (),
    min_gpus: int = 0,
    min_gpu_memory_gib: float = 0.0,
    arch: str | None = None,
    region: str | None = None,
    capacity_type: CapacityType = "on-demand",
    sort: SortKey = "price",
) -> InstanceListResult:
    """The GPU instance types that match, priced for ``region`` and ``capacity_type``."""
    from eks_gpu.catalog.query import InstanceQuery, query_instances

    query = InstanceQuery(
        families=tuple(families),
        gpus=tuple(name.lower() for name in gpus),
        min_gpus=min_gpus,
        min_gpu_memory_gib=min_gpu_memory_gib,
        arch=arch,
        capacity_type=capacity_type,
        sort=sort,
    )
    prices = price_book(region)
    return InstanceListResult(tuple(query_instances(query, prices)), prices, capacity_type)


__all__ = ["KIND", "InstanceListResult", "instance_record", "instances", "price_source"]
