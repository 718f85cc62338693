"""Instance types as Karpenter sees them when it plans: requirements, allocatable, offerings.

The one instance-type model of simulate, validate and recommend. The catalog is Karpenter
v1.14's own list plus the GPU types that list lacks (p3.2xlarge/8xlarge/16xlarge), derived
from EC2 facts with Karpenter's formulas (``InstanceType.derived``). Two views of it:

* :class:`CatalogType` (:func:`catalog_types`, :func:`admitted_types`): name, catalog facts
  and requirements only, built once per process and independent of prices and kubelet
  settings; enough for "which types may this NodePool launch" (validate, recommend);
* :class:`SimInstanceType` (:func:`build_instance_types`): the same requirements plus
  capacity and allocatable under given kubelet and storage settings, priced offerings, and
  the NodeOverlays that apply (the simulator).

Every instance type defines every label key the catalog knows, as ``In {value}`` or
``DoesNotExist`` (so ``instance-gpu-count Gt 0`` never matches a CPU type); zones and
capacity types are its offerings'. Capacity and allocatable are Karpenter's
(:mod:`eks_gpu.scheduling.allocatable`); ``nvidia.com/gpu`` comes from NVIDIA GPU count only,
unless a NodeOverlay sets it (:mod:`eks_gpu.scheduling.overlays`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from eks_gpu.catalog.instance_types import InstanceType, all_instance_types
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.names import (
    EXOTIC_RESOURCES,
    LABEL_ARCH,
    LABEL_CAPACITY_RESERVATION_ID,
    LABEL_CAPACITY_RESERVATION_INTERRUPTIBLE,
    LABEL_CAPACITY_RESERVATION_TYPE,
    LABEL_CAPACITY_TYPE,
    LABEL_INSTANCE_CPU,
    LABEL_INSTANCE_MEMORY,
    LABEL_INSTANCE_TENANCY,
    LABEL_WINDOWS_BUILD,
    LABEL_ZONE,
)
from eks_gpu.scheduling.allocatable import InstanceFacts, KubeletSettings, Storage, estimate
from eks_gpu.scheduling.requirement import Requirement
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import parse_quantity

DEFAULT_ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
# listing resources that are allocatable estimates, not EC2 facts (the rest are capacity)
ESTIMATED = ("cpu", "memory", "ephemeral-storage", "pods")
# Well-known keys no modelled offering sets: Linux nodes, no capacity reservations.
ABSENT_KEYS = (
    LABEL_WINDOWS_BUILD,
    LABEL_CAPACITY_RESERVATION_ID,
    LABEL_CAPACITY_RESERVATION_TYPE,
    LABEL_CAPACITY_RESERVATION_INTERRUPTIBLE,
)


@dataclass(frozen=True)
class Offering:
    """Where and how a type can be bought; ``rank`` orders offerings (``price`` may be unknown)."""

    zone: str
    capacity_type: str
    price: float | None
    rank: float


@dataclass(frozen=True)
class SimInstanceType:
    """One instance type, ready for the solver."""

    name: str
    requirements: Requirements
    allocatable: Mapping[str, Decimal]
    capacity: Mapping[str, Decimal]
    offerings: tuple[Offering, ...]  # cheapest first
    exotic: bool

    def offering_for(self, requirements: Requirements) -> Offering | None:
        """The cheapest offering whose zone and capacity type ``requirements`` allow."""
        zones, capacity = requirements.get(LABEL_ZONE), requirements.get(LABEL_CAPACITY_TYPE)
        for offering in self.offerings:
            if zones.has(offering.zone) and capacity.has(offering.capacity_type):
                return offering
        return None

    @property
    def rank(self) -> float:
        return self.offerings[0].rank if self.offerings else math.inf


@dataclass(frozen=True)
class CatalogType:
    """One catalog instance type with its requirements (no prices, no allocatable)."""

    name: str
    requirements: Requirements
    spec: InstanceType


@cache
def _label_keys() -> tuple[str, ...]:
    return tuple(sorted({k for t in all_instance_types().values() for k in t.labels}))


@cache
def catalog_types() -> tuple[CatalogType, ...]:
    """Every catalog instance type with its requirements, by name; built once per process."""
    return tuple(
        CatalogType(spec.name, _requirements(spec), spec)
        for _, spec in sorted(all_instance_types().items())
    )


@cache
def _by_name() -> dict[str, CatalogType]:
    return {t.name: t for t in catalog_types()}


def type_requirements(name: str) -> Requirements:
    """The requirements of catalog type ``name`` (KeyError if the catalog has no such type)."""
    return _by_name()[name].requirements


def admitted_types(requirements: Requirements) -> list[CatalogType]:
    """The catalog types whose requirements intersect ``requirements``, by name.

    Pass a NodePool's requirements (``pools.pool_requirements``) to get the types it may
    launch as far as labels go (Karpenter drops a type whose requirements do not intersect
    the NodeClaim template's). Keys instance types do not define (zone, capacity type,
    custom labels) are ignored here: they constrain offerings or the node's own labels.
    """
    return [t for t in catalog_types() if t.requirements.is_intersecting(requirements)]


@cache
def _single(key: str, value: str | None) -> Requirement:
    """``key In [value]`` (``DoesNotExist`` for None), shared: 1,363 types repeat few of them,
    and building each once makes the catalog model ~8x cheaper to build."""
    if value is None:
        return Requirement.create(key, "DoesNotExist")
    return Requirement.create(key, "In", [value])


def _requirements(spec: InstanceType) -> Requirements:
    items = [_single(key, spec.labels.get(key)) for key in _label_keys()]
    items += [_single(key, None) for key in ABSENT_KEYS]
    items.append(_single(LABEL_INSTANCE_TENANCY, "default"))
    # zone and capacity type live on the offerings (offering_for), so that "no type fits"
    # and "no offering in that zone / capacity type" stay two different answers
    return Requirements(items)


def _offerings(
    name: str, prices: PriceBook, zones: Sequence[str], capacity_types: Sequence[str]
) -> tuple[Offering, ...]:
    """Spot ranks at the on-demand price when its own price is unknown (stated assumption)."""
    on_demand = prices.on_demand.get(name)
    offered = prices.zones.get(name, ()) if prices.zones is not None else zones
    out = []
    for zone in offered:
        if zone not in zones:
            continue
        for capacity_type in capacity_types:
            price = (
                on_demand if capacity_type == "on-demand" else prices.spot.get(name, {}).get(zone)
            )
            rank = (
                price if price is not None else (on_demand if on_demand is not None else math.inf)
            )
            out.append(Offering(zone, capacity_type, price, rank))
    # spot before on-demand at equal rank: Karpenter prefers spot when both are allowed
    return tuple(sorted(out, key=lambda o: (o.rank, o.capacity_type != "spot", o.zone)))


def instance_facts(spec: InstanceType) -> InstanceFacts:
    """The EC2 facts of a catalog type: the listing's labels, its ENI-limited ``pods`` (the
    listing assumes no ``maxPods``) and extended resources, and the instance-store size."""
    labels, listed = spec.labels, spec.resources
    return InstanceFacts(
        vcpu=int(labels[LABEL_INSTANCE_CPU]),
        memory_mib=int(labels[LABEL_INSTANCE_MEMORY]),
        arch=labels[LABEL_ARCH],
        eni_pods=int(listed["pods"]),
        instance_store_gb=spec.instance_store_gb,
        extended={k: parse_quantity(v) for k, v in listed.items() if k not in ESTIMATED},
    )


@cache
def _facts(name: str) -> InstanceFacts:
    return instance_facts(all_instance_types()[name])


def build_instance_types(
    prices: PriceBook,
    zones: Sequence[str] = DEFAULT_ZONES,
    capacity_types: Sequence[str] = ("spot", "on-demand"),
    kubelet: KubeletSettings | None = None,
    raid0: bool = False,
    root_volume: Decimal | None = None,
) -> list[SimInstanceType]:
    """Every catalog instance type with at least one offering, cheapest first.

    ``kubelet``, ``raid0`` (``instanceStorePolicy: RAID0``) and ``root_volume`` (bytes, from
    ``blockDeviceMappings``) are the EC2NodeClass's. NodeOverlays depend on the NodePool
    too: :mod:`eks_gpu.scheduling.overlays` applies them to a pool's types.
    """
    kubelet, storage = kubelet or KubeletSettings(), Storage(raid0, root_volume)
    out = []
    for spec in all_instance_types().values():
        offerings = _offerings(spec.name, prices, zones, capacity_types)
        if not offerings:
            continue
        result = estimate(_facts(spec.name), kubelet, storage)
        exotic = "metal" in spec.name or any(
            result.capacity.get(key, 0) > 0 for key in EXOTIC_RESOURCES
        )
        out.append(
            SimInstanceType(
                spec.name,
                type_requirements(spec.name),
                result.allocatable,
                result.capacity,
                offerings,
                exotic,
            )
        )
    return sorted(out, key=lambda t: (t.rank, t.name))


__all__ = [
    "DEFAULT_ZONES",
    "CatalogType",
    "Offering",
    "SimInstanceType",
    "admitted_types",
    "build_instance_types",
    "catalog_types",
    "instance_facts",
    "type_requirements",
]
