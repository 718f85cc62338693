"""GPU units and prices of one node: how many GPUs a device-plugin unit is (whole, time-sliced,
MIG), what the catalog says about a GPU instance type, and the node's hourly price.

Counting, in GPUs (README "status"): ``nvidia.com/gpu`` counts one GPU per unit; sliced
resources (``nvidia.com/gpu.shared`` from time-slicing, ``nvidia.com/mig-<N>g.<M>gb`` from
MIG) count the share of a physical GPU one unit is, from the node's GPU count (Karpenter's
``instance-gpu-count`` label, else the catalog) and the slice's compute size ``N``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from eks_gpu.catalog.prices import PriceBook
from eks_gpu.inventory.pods import labels_of
from eks_gpu.manifests.cluster_state import ClusterState
from eks_gpu.names import (
    LABEL_CAPACITY_TYPE,
    LABEL_EKS_CAPACITY_TYPE,
    LABEL_REGION,
    LABEL_ZONE,
    PREFIX_NVIDIA_MIG,
    RESOURCE_NVIDIA_GPU,
)

Amounts = Mapping[str, Decimal]
_MIG_SIZE = re.compile(r"(\d+)g\.")
_EKS_CAPACITY = {"ON_DEMAND": "on-demand", "SPOT": "spot", "CAPACITY_BLOCK": "reserved"}


@dataclass(frozen=True)
class CatalogGpu:
    """What the catalog says about a GPU instance type."""

    gpu_name: str
    gpu_count: int


@cache
def catalog_gpus() -> dict[str, CatalogGpu]:
    from eks_gpu.catalog.gpu_types import gpu_instance_types

    return {
        t.instance_type: CatalogGpu(t.gpu_name, t.nvidia_gpus)
        for t in gpu_instance_types()
        if t.gpu_manufacturer == "nvidia"
    }


def region_of(state: ClusterState) -> str | None:
    """The cluster's region from its nodes: the region label, else a zone without its
    letter (``us-east-1a`` -> ``us-east-1``); None without such nodes. status and doctor
    price the cluster's own region with it."""
    for node in state.of("Node"):
        labels = labels_of(node)
        if labels.get(LABEL_REGION):
            return str(labels[LABEL_REGION])
        zone = str(labels.get(LABEL_ZONE) or "")
        if zone[-1:].isalpha() and zone[:-1][-1:].isdigit():
            return zone[:-1]
    return None


def capacity_type(labels: Mapping[str, str]) -> str | None:
    """``on-demand``, ``spot`` or ``reserved``: Karpenter's label, else a node group's."""
    found = labels.get(LABEL_CAPACITY_TYPE)
    if found:
        return found
    eks = labels.get(LABEL_EKS_CAPACITY_TYPE)
    return _EKS_CAPACITY.get(eks, eks.lower()) if eks else None


def hourly_price(
    prices: PriceBook, instance_type: str | None, capacity: str | None, zone: str | None
) -> float | None:
    """The node's $/h: on-demand, or spot in its zone; None when unknown (reserved capacity
    is billed by its reservation, which the PriceBook does not know)."""
    if not instance_type:
        return None
    if capacity in (None, "on-demand"):
        return prices.on_demand.get(instance_type)
    if capacity == "spot" and zone:
        return (prices.spot.get(instance_type) or {}).get(zone)
    return None


def _slice_weight(resource: str) -> int:
    """How many compute slices one unit is: ``mig-3g.20gb`` is 3; a shared unit is 1."""
    if resource.startswith(PREFIX_NVIDIA_MIG):
        match = _MIG_SIZE.match(resource.removeprefix(PREFIX_NVIDIA_MIG))
        return int(match[1]) if match else 1
    return 1


def gpus_per_unit(capacity: Amounts, physical: int | None) -> dict[str, float]:
    """How many GPUs one unit of each resource is on a node with ``physical`` GPUs.

    ``nvidia.com/gpu`` is 1 (or ``physical / units`` when time-slicing advertises replicas
    under that name); the other GPUs are shared by the sliced resources by compute size.
    """
    whole = float(capacity.get(RESOURCE_NVIDIA_GPU, 0))
    out: dict[str, float] = {}
    if whole:
        out[RESOURCE_NVIDIA_GPU] = physical / whole if physical and whole > physical else 1.0
    sliced = {r: a for r, a in capacity.items() if r != RESOURCE_NVIDIA_GPU}
    weights = sum(_slice_weight(r) * float(a) for r, a in sliced.items())
    left = (physical or 0) - min(whole, float(physical or 0))
    for resource in sliced:
        out[resource] = left * _slice_weight(resource) / weights if left and weights else 1.0
    return out


def in_gpus(amounts: Amounts, per_unit: Mapping[str, float]) -> float:
    """``amounts`` of GPU resources, in GPUs."""
    return sum(float(a) * per_unit.get(r, 1.0) for r, a in amounts.items())


__all__ = [
    "CatalogGpu",
    "capacity_type",
    "catalog_gpus",
    "gpus_per_unit",
    "hourly_price",
    "in_gpus",
]
