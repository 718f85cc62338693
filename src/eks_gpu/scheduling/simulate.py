"""Put the pieces together: manifests in, what Karpenter would launch out (pure).

This is the library behind ``eks-gpu simulate`` and ``plan``: it builds the instance model
once per (kubelet, storage) settings combination, the pools with the NodeOverlays Karpenter
would apply, the pods and DaemonSet overhead, runs the solver, and returns the JSON contract
with every assumption it made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eks_gpu.catalog.prices import PriceBook
from eks_gpu.manifests.document import ManifestError
from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling import overlays
from eks_gpu.scheduling.allocatable import KubeletSettings, Storage
from eks_gpu.scheduling.instance_model import DEFAULT_ZONES, SimInstanceType, build_instance_types
from eks_gpu.scheduling.isolation import IsolationResult, check_isolation
from eks_gpu.scheduling.placement import daemon_overheads
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.scheduling.pools import (
    PoolModel,
    build_pool,
    kubelet_settings,
    storage_settings,
)
from eks_gpu.scheduling.resources import add
from eks_gpu.scheduling.snapshot import SnapshotNode
from eks_gpu.scheduling.solver import Plan, Solver
from eks_gpu.scheduling.workloads import SimPod, expand_workloads

CAPACITY_KEYS = ("cpu", "memory", RESOURCE_NVIDIA_GPU)


@dataclass(frozen=True)
class Inputs:
    """Everything a simulation reads.

    ``eks_admission``: pod templates go through EKS's ``ExtendedResourceToleration``
    admission first (``admission.admit``); False for clusters without that plugin.
    """

    nodepools: Sequence[Mapping[str, Any]]
    nodeclasses: Sequence[Mapping[str, Any]]
    workloads: Sequence[Mapping[str, Any]]
    prices: PriceBook
    zones: Sequence[str] = ()
    nodes: Sequence[SnapshotNode] = ()
    pending: Sequence[SimPod] = ()
    eks_admission: bool = True
    nodeoverlays: Sequence[Mapping[str, Any]] = ()  # karpenter.sh/v1alpha1 NodeOverlay


class _TypeCache:
    """Instance models per (kubelet, storage) settings: built once each, lazily."""

    def __init__(self, prices: PriceBook, zones: Sequence[str]) -> None:
        self.prices, self.zones = prices, zones
        self.built: dict[tuple[str, Storage], list[SimInstanceType]] = {}

    def __call__(self, kubelet: KubeletSettings, storage: Storage) -> list[SimInstanceType]:
        key = (repr(kubelet), storage)
        if key not in self.built:
            self.built[key] = build_instance_types(
                self.prices,
                self.zones,
                kubelet=kubelet,
                raid0=storage.raid0,
                root_volume=storage.root_volume,
            )
        return self.built[key]


def _zones(inputs: Inputs) -> list[str]:
    if inputs.zones:
        return list(inputs.zones)
    if inputs.prices.zones:
        return sorted({zone for zones in inputs.prices.zones.values() for zone in zones})
    return list(DEFAULT_ZONES)


def _zones_origin(inputs: Inputs) -> str:
    if inputs.zones:
        return ""
    if inputs.prices.zones is None:
        return " (default; pass --zones)"
    source = inputs.prices.zones_source
    return f" ({inputs.prices.region}, from {source}; pass --zones)" if source else ""


def _overlay_updates(
    inputs: Inputs, node_classes: Mapping[str, Mapping[str, Any]], types: _TypeCache
) -> tuple[dict[str, Any], list[str]]:
    """Per pool, what the NodeOverlays change (matched against all the types of the pool's
    node class, as Karpenter's controller does), and one assumption line per overlay."""
    if not inputs.nodeoverlays:
        return {}, []
    parsed = [overlays.parse_overlay(obj) for obj in inputs.nodeoverlays]
    contexts = []
    for nodepool in inputs.nodepools:
        template = nodepool.get("spec", {}).get("template", {})
        ref = str(((template.get("spec") or {}).get("nodeClassRef") or {}).get("name"))
        node_class = node_classes.get(ref)
        context = overlays.PoolContext(
            str((nodepool.get("metadata") or {}).get("name")),
            dict((template.get("metadata") or {}).get("labels") or {}),
        )
        contexts.append(
            (context, types(kubelet_settings(node_class), storage_settings(node_class)))
        )
    resolution = overlays.resolve(parsed, contexts)
    return dict(resolution.updates), overlays.describe(resolution)


def build_pools(inputs: Inputs, daemonsets: Sequence[PodView]) -> list[PoolModel]:
    """PoolModels with NodeOverlays applied, DaemonSet overhead per instance type and the
    capacity existing nodes already use."""
    pools, _ = _build_pools(inputs, daemonsets)
    return pools


def _checked_pool(
    nodepool: Mapping[str, Any], node_classes: Mapping[str, Mapping[str, Any]], types: _TypeCache
) -> PoolModel:
    """:func:`build_pool`, with a NodePool the API server would refuse (a weight that is not a
    number, taints or requirements that are not lists of objects) named as bad input."""
    try:
        pool = build_pool(nodepool, node_classes, types)
        if not all(isinstance(taint, Mapping) for taint in pool.taints):
            raise TypeError("spec.template.spec.taints holds something that is not a taint")
        return pool
    except (TypeError, ValueError, AttributeError) as error:  # RequirementError is a ValueError
        name = (
            (nodepool.get("metadata") or {}).get("name") if isinstance(nodepool, Mapping) else None
        )
        raise ManifestError(
            f"NodePool {name}: its spec cannot be read ({error})",
            hint="run `eks-gpu validate` on it: the API server would refuse it too",
        ) from None


def _build_pools(
    inputs: Inputs, daemonsets: Sequence[PodView]
) -> tuple[list[PoolModel], list[str]]:
    node_classes = {str((nc.get("metadata") or {}).get("name")): nc for nc in inputs.nodeclasses}
    types = _TypeCache(inputs.prices, _zones(inputs))
    updates, notes = _overlay_updates(inputs, node_classes, types)
    pools = []
    for nodepool in inputs.nodepools:
        pool = _checked_pool(nodepool, node_classes, types)
        pool.types = overlays.apply(pool.types, updates.get(pool.name, {}))
        pool.overhead = daemon_overheads(daemonsets, pool)
        for node in inputs.nodes:
            if node.nodepool == pool.name:
                used = {k: node.limit_usage.get(k, Decimal(0)) for k in CAPACITY_KEYS}
                pool.used = add(pool.used, {**used, "nodes": Decimal(1)})
        pools.append(pool)
    return pools, notes


def _claims_json(plan: Plan) -> tuple[list[dict[str, Any]], float, tuple[int, float]]:
    """The NodeClaims, their known cost, and (how many are unpriced, their on-demand cost).

    ``round`` is the provisioning pass that opens each NodeClaim and ``held_by`` the limit
    that kept it out of the earlier ones (``solver.Solver``)."""
    claims, cost, unknown, at_on_demand = [], 0.0, 0, 0.0
    for claim in plan.claims:
        instance_type, offering = claim.launch()
        if offering.price is None:
            unknown += 1
            at_on_demand += offering.rank if offering.rank != float("inf") else 0.0
        else:
            cost += offering.price
        claims.append(
            {
                "nodepool": claim.pool.name,
                "instance_type": instance_type.name,
                "capacity_type": offering.capacity_type,
                "zone": offering.zone,
                "price_per_hour": offering.price,
                "pods": [pod.ref for pod in claim.pods],
                "round": claim.round,
                "held_by": claim.held_by,
            }
        )
    return claims, round(cost, 6), (unknown, round(at_on_demand, 6))


def assumptions(inputs: Inputs, unknown: tuple[int, float], notes: Sequence[str]) -> list[str]:
    """What the result rests on, in plain words."""
    out = [
        inputs.prices.describe("spot"),
        "spot offerings without a known price rank at the on-demand price and are preferred "
        "over on-demand at equal rank (Karpenter prefers spot when a pool allows both)",
        f"zones: {', '.join(_zones(inputs))}{_zones_origin(inputs)}",
        "instance types: Karpenter v1.14's list plus p3.* (missing from that list, derived "
        "from EC2 facts); capacity and allocatable as Karpenter computes them under each "
        "EC2NodeClass (AL2023, 7.5% VM memory overhead, RAID0 or root-volume storage)",
        _admission_assumption(inputs.eks_admission),
        "DaemonSet overhead is counted per instance type, for the DaemonSets Karpenter would "
        "place there (pool taints, nodeSelector and required node affinity)",
        "topology spread and pod (anti-)affinity are not simulated",
        "NodePool limits are applied pass by pass as Karpenter does (a new NodeClaim is "
        "charged its largest candidate; the nodes limit is checked at the start of a pass); "
        "every NodeClaim of a pass is assumed to launch as its cheapest candidate before the "
        "next pass",
        "ties Karpenter breaks at random (which launched NodeClaim takes a pod first, the order "
        "of equally-loaded planned NodeClaims) are broken by opening order",
    ]
    count, at_on_demand = unknown
    if count:
        out.append(
            f"{count} NodeClaim(s) have no known price (spot without a refresh): cost_per_hour "
            f"omits them; at on-demand rates they would add ${at_on_demand:.3f}/h"
        )
    return out + list(inputs.prices.notes) + list(notes)


def _admission_assumption(on: bool) -> str:
    if on:
        return (
            f"EKS admission: a pod that requests an extended resource ({RESOURCE_NVIDIA_GPU}) gets "
            "{key: <resource>, operator: Exists, effect: NoSchedule} (the "
            "ExtendedResourceToleration plugin EKS enables; --no-eks-admission turns it off)"
        )
    return (
        "no EKS admission (--no-eks-admission): pods keep only their own tolerations, as on "
        "a cluster without the ExtendedResourceToleration plugin"
    )


@dataclass(frozen=True)
class Simulation:
    """The ``simulate -o json`` document, and the isolation check behind its last lines."""

    document: dict[str, Any]
    isolation: list[IsolationResult]
    estimate_note: str | None = None  # the prices are another region's, as an estimate

    @property
    def isolation_broken(self) -> bool:
        return any(not result.isolated for result in self.isolation)


def _unschedulable(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "pod": ref,
            "reasons": [
                {"nodepool": r.nodepool, "code": r.code, "message": r.message} for r in reasons
            ],
        }
        for ref, reasons in sorted(plan.unschedulable.items())
    ]


def simulate(inputs: Inputs) -> Simulation:
    """Run the whole simulation, plus the isolation check on every GPU pool."""
    pods, daemonsets, notes = expand_workloads(inputs.workloads, eks_admission=inputs.eks_admission)
    pools, overlay_notes = _build_pools(inputs, daemonsets)
    notes = [*notes, *overlay_notes]
    isolation = check_isolation(pools)
    plan = Solver(pools, inputs.nodes).solve([*inputs.pending, *pods])
    claims, cost, unknown = _claims_json(plan)
    isolation_notes = [
        f"isolation {'ok' if r.isolated else 'BROKEN'}: {r.message}" for r in isolation
    ]
    document = {
        "nodeclaims": claims,
        "unschedulable": _unschedulable(plan),
        "existing": [
            {"node": node.node.name, "pods": list(node.pods)} for node in plan.existing if node.pods
        ],
        "cost_per_hour": cost,
        "assumptions": [*assumptions(inputs, unknown, notes), *isolation_notes],
    }
    estimate = inputs.prices.describe() if inputs.prices.source == "estimate" else None
    return Simulation(document, isolation, estimate)


__all__ = ["Inputs", "Simulation", "assumptions", "build_pools", "simulate"]
