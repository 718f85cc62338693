"""Prices and zone offerings: a refreshed per-region cache, the bundled us-east-1 table, or,
for another region without a refresh, that table as an estimate with the region's own zones
(:func:`estimate_price_book`).

Every command that shows a price says where it came from (:meth:`PriceBook.describe`).
Spot prices are never invented: without a refreshed cache they are unknown (``None``).
The cache file's text is :meth:`PriceBook.to_json`; ``eks-gpu catalog refresh``
(:mod:`eks_gpu.loaders.aws_refresh`) writes it and :mod:`eks_gpu.loaders.price_cache`
reads it back, so this module never touches the disk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from eks_gpu.errors import CatalogError

if TYPE_CHECKING:
    from eks_gpu.catalog.gpu_types import GpuInstanceType

BUNDLED_REGION = "us-east-1"
CACHE_FORMAT = 1
CapacityType = Literal["on-demand", "spot"]


@dataclass(frozen=True)
class PriceBook:
    """On-demand and spot prices (USD/hour) and zone offerings for one region."""

    region: str
    source: Literal["bundled", "aws", "estimate", "none"]
    date: str
    on_demand: Mapping[str, float] = field(default_factory=dict)
    spot: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    zones: Mapping[str, tuple[str, ...]] | None = None
    zones_source: str | None = None  # where ``zones`` came from, when not AWS (never cached)
    notes: tuple[str, ...] = ()  # what else the simulation should say (never cached)

    def price(self, instance_type: str, capacity_type: CapacityType = "on-demand") -> float | None:
        """The hourly price, or None when unknown; spot is the cheapest zone's latest price."""
        if capacity_type == "on-demand":
            return self.on_demand.get(instance_type)
        by_zone = self.spot.get(instance_type)
        return min(by_zone.values()) if by_zone else None

    def offered(self, instance_type: str) -> bool | None:
        """Whether the type is offered in the region (None: unknown, no refresh done)."""
        if self.zones is None:
            return None
        return bool(self.zones.get(instance_type))

    def describe(self, capacity_type: CapacityType = "on-demand") -> str:
        """One line saying which prices these are, and what is unknown."""
        if self.source == "none":
            return (
                f"no prices for {self.region}: the bundled table covers {BUNDLED_REGION} only; "
                f"run `eks-gpu catalog refresh --region {self.region}`"
            )
        if self.source == "estimate":
            text = (
                f"prices: {BUNDLED_REGION} on-demand used as an estimate for {self.region} "
                f"(bundled table, {self.date}); run `eks-gpu catalog refresh --region "
                f"{self.region}` for its own prices"
            )
            if capacity_type == "spot":
                text += " and spot prices"
            return text
        if self.source == "bundled":
            text = (
                f"on-demand prices: bundled {BUNDLED_REGION} table (AWS Pricing API via "
                f"Karpenter, {self.date})"
            )
            if capacity_type == "spot":
                text += "; spot prices unknown: run `eks-gpu catalog refresh` with AWS credentials"
            return text
        parts = [
            f"on-demand for {len(self.on_demand)} types" if self.on_demand else "on-demand unknown",
            f"spot for {len(self.spot)} types" if self.spot else "spot unknown",
        ]
        return f"prices: AWS APIs for {self.region}, fetched {self.date} ({'; '.join(parts)})"

    def to_json(self) -> str:
        """The cache file's text."""
        document: dict[str, Any] = {
            "format": CACHE_FORMAT,
            "region": self.region,
            "source": self.source,
            "date": self.date,
            "on_demand": dict(sorted(self.on_demand.items())),
            "spot": {k: dict(sorted(v.items())) for k, v in sorted(self.spot.items())},
            "zones": None
            if self.zones is None
            else {k: list(v) for k, v in sorted(self.zones.items())},
        }
        return json.dumps(document, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, origin: str) -> PriceBook:
        """Parse a cache file; a damaged one is a :class:`CatalogError` naming the file."""
        try:
            raw = json.loads(text)
            if raw.get("format") != CACHE_FORMAT:
                raise ValueError(f"unsupported format {raw.get('format')!r}")
            zones = raw["zones"]
            return cls(
                region=str(raw["region"]),
                source=raw["source"],
                date=str(raw["date"]),
                on_demand={k: float(v) for k, v in raw["on_demand"].items()},
                spot={k: {z: float(p) for z, p in v.items()} for k, v in raw["spot"].items()},
                zones=None if zones is None else {k: tuple(v) for k, v in zones.items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CatalogError(
                f"{origin}: not a valid price cache ({error})",
                hint=f"delete it, or run `eks-gpu catalog refresh` again: {origin}",
            ) from None


def bundled_price_book() -> PriceBook:
    """The us-east-1 on-demand table shipped with eks-gpu."""
    from eks_gpu.catalog.instance_types import catalog_price_date, on_demand_prices

    return PriceBook(BUNDLED_REGION, "bundled", catalog_price_date(), on_demand=on_demand_prices())


def estimate_price_book(region: str) -> PriceBook:
    """``region`` without a refresh: the bundled us-east-1 on-demand prices, labelled as an
    estimate, with the region's zones and GPU offerings from the bundled AWS facts
    (:mod:`eks_gpu.catalog.offerings`; an unknown region is a ``UsageError``)."""
    from eks_gpu.catalog.gpu_types import gpu_instance_types
    from eks_gpu.catalog.instance_types import all_instance_types
    from eks_gpu.catalog.offerings import offerings_source, region_offerings

    gpus = gpu_instance_types()
    names = {t.instance_type for t in gpus}
    facts = region_offerings(region, names)
    zones = {name: facts.zones_of(name, name in names) for name in all_instance_types()}
    absent = [t for t in gpus if t.instance_type in zones and not zones[t.instance_type]]
    notes = (f"GPU types not offered in {region}: {not_offered_summary(absent, gpus)}",)
    bundled = bundled_price_book()
    return PriceBook(
        region, "estimate", bundled.date, bundled.on_demand, zones=zones,
        zones_source=offerings_source(), notes=notes if absent else (),
    )  # fmt: skip


def not_offered_summary(absent: Sequence[GpuInstanceType], every: Sequence[GpuInstanceType]) -> str:
    """``absent`` in few words: a family none of whose sizes is offered by its name alone
    (``g6e (every size)``), other types by name."""
    missing = {t.instance_type for t in absent}
    families: dict[str, list[str]] = {}
    for spec in every:
        families.setdefault(spec.family, []).append(spec.instance_type)
    whole = [f for f, names in families.items() if all(n in missing for n in names)]
    parts = [f"{f} (every size)" for f in whole]
    parts += [t.instance_type for t in absent if t.family not in whole]
    return ", ".join(parts)


__all__ = [
    "BUNDLED_REGION",
    "CapacityType",
    "PriceBook",
    "bundled_price_book",
    "estimate_price_book",
    "not_offered_summary",
]
