"""NodeOverlays (``karpenter.sh/v1alpha1``) as Karpenter v1.14 applies them to instance types.

With the feature gate ``NodeOverlay=true`` Karpenter decorates its cloud provider so that
every NodePool's instance types carry the overlays that select them
(``sigs.k8s.io/karpenter`` v1.14.1 ``pkg/cloudprovider/overlay``, ``pkg/controllers/nodeoverlay``
``controller.go`` and ``store.go``). This module follows that code:

- overlays are taken by ``weight`` descending, equal weights by name **descending**
  (``NodeOverlayList.OrderByWeight``); a missing weight is 0;
- an overlay whose ``capacity`` names cpu, memory, ephemeral-storage or pods fails runtime
  validation and is ignored (``validateCapacity``);
- an overlay selects a type of a pool when the type's requirements, plus the pool's name as
  ``karpenter.sh/nodepool`` and its template labels, are compatible with the overlay's
  requirements (keys the type does not define must be ``NotIn``/``DoesNotExist``), and then
  the type's offerings whose zone and capacity type the overlay allows
  (``getOverlaidOfferings``); no such offering, no effect;
- ``capacity``: the first overlay to set a resource wins, later ones only add resources not yet
  set; ``price`` (absolute) or else ``priceAdjustment`` (``+0.5``, ``-10%``; never below 0,
  ``AdjustedPrice``): the first overlay to reach an offering wins;
- an overlay that touches, in **any** pool, a resource or offering that an overlay of the
  **same weight** already set is a conflict: it is dropped everywhere and Karpenter marks it
  ``ValidationSucceeded=False`` (``Conflict``).

A capacity override keeps the type's overhead: allocatable = new capacity - the same
kube-reserved/system-reserved/eviction amounts (``InstanceType.computeAllocatable``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eks_gpu.manifests import ManifestError
from eks_gpu.names import EXOTIC_RESOURCES, LABEL_CAPACITY_TYPE, LABEL_NODEPOOL, LABEL_ZONE
from eks_gpu.scheduling.requirement import Requirement, RequirementError, absent_ok
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import parse_quantity

if TYPE_CHECKING:
    from eks_gpu.scheduling.instance_model import Offering, SimInstanceType

KIND = "NodeOverlay"
# v1.WellKnownResources: an overlay may not change these (validateCapacity)
RESTRICTED_CAPACITY = frozenset({"cpu", "memory", "ephemeral-storage", "pods"})
# keys Karpenter's instance-type requirements define but ours keep on the offerings
OFFERING_KEYS = frozenset({LABEL_ZONE, LABEL_CAPACITY_TYPE})
_PRICE = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?%?$")


@dataclass(frozen=True)
class Overlay:
    """One NodeOverlay's spec, parsed."""

    name: str
    weight: int
    requirements: Requirements
    capacity: Mapping[str, Decimal]
    price: str | None  # spec.price, else spec.priceAdjustment (AdjustedPrice's ``change``)

    @property
    def restricted(self) -> list[str]:
        """Capacity keys Karpenter refuses (runtime validation fails on any)."""
        return sorted(RESTRICTED_CAPACITY & set(self.capacity))


def _field(obj: Mapping[str, Any], *keys: str) -> Any:
    node: Any = obj
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def parse_overlay(obj: Mapping[str, Any]) -> Overlay:
    """A NodeOverlay object as :class:`Overlay`.

    Raises:
        ManifestError: naming ``NodeOverlay/<name>`` and the bad field.
    """
    name = str(_field(obj, "metadata", "name") or "")
    where = f"{KIND}/{name or '<unnamed>'}"
    if not name:
        raise ManifestError(f"{where}: metadata.name is required", hint="name the NodeOverlay")
    spec = _field(obj, "spec") or {}
    try:
        requirements = Requirements.from_dicts(spec.get("requirements") or [])
    except RequirementError as error:
        raise ManifestError(f"{where}: spec.{error}", hint="fix the requirement") from None
    capacity = {}
    for key, value in (spec.get("capacity") or {}).items():
        try:
            capacity[str(key)] = parse_quantity(value)
        except ValueError as error:
            raise ManifestError(
                f"{where}: spec.capacity.{key}: {error}", hint="use a quantity such as 8"
            ) from None
    price = spec.get("price") if spec.get("price") is not None else spec.get("priceAdjustment")
    if price is not None and not _PRICE.match(str(price)):
        raise ManifestError(
            f"{where}: spec.price/priceAdjustment {price!r} is not a price",
            hint='use "5.25", "+0.5", "-0.1" or "-10%"',
        )
    weight = spec.get("weight")
    return Overlay(
        name,
        int(weight) if weight is not None else 0,
        requirements,
        capacity,
        None if price is None else str(price),
    )


def order(overlays: Sequence[Overlay]) -> list[Overlay]:
    """``NodeOverlayList.OrderByWeight``: weight descending, then name descending."""
    by_name = sorted(overlays, key=lambda o: o.name, reverse=True)
    return sorted(by_name, key=lambda o: -o.weight)


def adjusted_price(price: float, change: str) -> float:
    """``cloudprovider.AdjustedPrice``: an absolute price, or ``+x``/``-x``/``+x%``/``-x%``."""
    if not change.startswith(("+", "-")):
        return float(change)
    if change.endswith("%"):
        result = price * (1 + float(change[:-1]) / 100)
    else:
        result = price + float(change)
    return result if result >= 0 else 0.0


@dataclass(frozen=True)
class PoolContext:
    """What an overlay is matched against besides the type: the NodePool's name and labels."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def requirements(self) -> Requirements:
        return Requirements.from_labels(self.labels).add(
            Requirement.create(LABEL_NODEPOOL, "In", [self.name])
        )


@dataclass
class _Update:
    """store.go ``instanceTypeUpdate``: what the overlays so far set on one type of one pool."""

    capacity: dict[str, Decimal] = field(default_factory=dict)
    capacity_weight: int | None = None
    capacity_keys: frozenset[str] = frozenset()  # lowestWeightCapacityResources
    prices: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)


Updates = dict[str, dict[str, _Update]]  # pool name -> type name -> update


def _offerings(
    instance_type: SimInstanceType, context: Requirements, overlay: Overlay
) -> list[Offering]:
    """``getOverlaidOfferings``: the offerings ``overlay`` reaches, [] when none."""
    if not selects(overlay, instance_type.requirements, context):
        return []
    zones, capacity = (
        overlay.requirements.get(LABEL_ZONE),
        overlay.requirements.get(LABEL_CAPACITY_TYPE),
    )
    return [
        o for o in instance_type.offerings if zones.has(o.zone) and capacity.has(o.capacity_type)
    ]


def selects(overlay: Overlay, type_requirements: Requirements, context: Requirements) -> bool:
    """The requirement half of ``getOverlaidOfferings``: the type's requirements plus the
    pool's (``context``) are compatible with the overlay's, no undefined key allowed
    (zone and capacity type are decided per offering)."""
    for key, requirement in overlay.requirements.items():
        defined = key in type_requirements or key in context or key in OFFERING_KEYS
        if not defined and not absent_ok(requirement):  # Compatible: no undefined keys
            return False
    return type_requirements.add(context).is_intersecting(overlay.requirements)


def _conflicts(update: _Update | None, overlay: Overlay, offerings: Sequence[Offering]) -> bool:
    if update is None:
        return False
    same_weight = update.capacity_weight == overlay.weight
    if overlay.capacity and same_weight and update.capacity_keys & set(overlay.capacity):
        return True
    if overlay.price is not None:
        for offering in offerings:
            found = update.prices.get((offering.zone, offering.capacity_type))
            if found is not None and found[1] == overlay.weight:
                return True
    return False


def _store(update: _Update, overlay: Overlay, offerings: Sequence[Offering]) -> None:
    if overlay.capacity:
        for key, value in overlay.capacity.items():
            update.capacity.setdefault(key, value)
        update.capacity_keys, update.capacity_weight = frozenset(overlay.capacity), overlay.weight
    if overlay.price is not None:
        for offering in offerings:
            where = (offering.zone, offering.capacity_type)
            change = update.prices[where][0] if where in update.prices else overlay.price
            update.prices[where] = (change, overlay.weight)


@dataclass(frozen=True)
class Resolution:
    """What the overlays do: per pool and type the update, and the overlays Karpenter drops."""

    updates: Updates
    invalid: Mapping[str, str]  # overlay name -> why runtime validation fails
    conflicting: tuple[str, ...]
    applied: Mapping[str, int]  # overlay name -> how many (pool, type) pairs it reached


def resolve(
    overlays: Sequence[Overlay], pools: Sequence[tuple[PoolContext, Sequence[SimInstanceType]]]
) -> Resolution:
    """The controller's ``Reconcile``: every overlay in order, against every pool's types."""
    updates: Updates = {}
    invalid: dict[str, str] = {}
    conflicting: list[str] = []
    applied: dict[str, int] = {}
    contexts = [(context, context.requirements(), types) for context, types in pools]
    for overlay in order(overlays):
        if overlay.restricted:
            invalid[overlay.name] = f"capacity may not set {', '.join(overlay.restricted)}"
            continue
        reached = [
            (context.name, t, offerings)
            for context, requirements, types in contexts
            for t in types
            if (offerings := _offerings(t, requirements, overlay))
        ]
        if any(
            _conflicts(updates.get(pool, {}).get(t.name), overlay, offerings)
            for pool, t, offerings in reached
        ):
            conflicting.append(overlay.name)
            continue
        for pool, t, offerings in reached:
            _store(updates.setdefault(pool, {}).setdefault(t.name, _Update()), overlay, offerings)
        applied[overlay.name] = len(reached)
    return Resolution(updates, invalid, tuple(conflicting), applied)


def _with_update(instance_type: SimInstanceType, update: _Update) -> SimInstanceType:
    capacity, allocatable = dict(instance_type.capacity), dict(instance_type.allocatable)
    for key, value in update.capacity.items():
        overhead = capacity.get(key, Decimal(0)) - allocatable.get(key, Decimal(0))
        capacity[key], allocatable[key] = value, value - overhead
    offerings = list(instance_type.offerings)
    for i, offering in enumerate(offerings):
        found = update.prices.get((offering.zone, offering.capacity_type))
        if found is None:
            continue
        change = found[0]
        price = None if offering.price is None else adjusted_price(offering.price, change)
        relative = change.startswith(("+", "-"))
        rank = (
            adjusted_price(offering.rank, change)
            if not relative or math.isfinite(offering.rank)
            else offering.rank
        )
        offerings[i] = replace(offering, price=price if relative else float(change), rank=rank)
    offerings.sort(key=lambda o: (o.rank, o.capacity_type != "spot", o.zone))
    exotic = "metal" in instance_type.name or any(
        capacity.get(key, 0) > 0 for key in EXOTIC_RESOURCES
    )
    return replace(
        instance_type,
        capacity=capacity,
        allocatable=allocatable,
        offerings=tuple(offerings),
        exotic=exotic,
    )


def apply(
    types: Sequence[SimInstanceType], updates: Mapping[str, _Update]
) -> list[SimInstanceType]:
    """``InstanceTypeStore.ApplyAll`` for one pool: each type with its update, if any."""
    return [_with_update(t, updates[t.name]) if t.name in updates else t for t in types]


def apply_overlays(
    types: Sequence[SimInstanceType], overlays: Sequence[Overlay], context: PoolContext
) -> list[SimInstanceType]:
    """The pure one-pool case: ``types`` of pool ``context`` with ``overlays`` applied."""
    resolution = resolve(overlays, [(context, types)])
    return apply(types, resolution.updates.get(context.name, {}))


def describe(resolution: Resolution) -> list[str]:
    """One assumption line per overlay: applied where, dropped and why."""
    lines = [
        f"NodeOverlay {name} applied to {count} instance type(s), counted per NodePool over "
        "its node class's types (Karpenter applies NodeOverlays only with the feature gate "
        "NodeOverlay=true)"
        for name, count in sorted(resolution.applied.items())
    ]
    lines += [
        f"NodeOverlay {name} ignored: {why} (Karpenter: ValidationSucceeded=False)"
        for name, why in sorted(resolution.invalid.items())
    ]
    lines += [
        f"NodeOverlay {name} ignored: it conflicts with another overlay of the same weight "
        "(Karpenter: ValidationSucceeded=False, reason Conflict)"
        for name in resolution.conflicting
    ]
    return lines


__all__ = [
    "KIND",
    "Overlay",
    "PoolContext",
    "Resolution",
    "adjusted_price",
    "apply",
    "apply_overlays",
    "describe",
    "order",
    "parse_overlay",
    "resolve",
    "selects",
]
