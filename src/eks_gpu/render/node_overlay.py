"""NodeOverlays (``karpenter.sh/v1alpha1``) that make Karpenter count GPUs as the device
plugin advertises them.

Karpenter plans with ``nvidia.com/gpu`` = the instance's physical GPU count; with
time-slicing the plugin advertises ``count * replicas`` (or, with ``renameByDefault``,
``nvidia.com/gpu.shared`` and no ``nvidia.com/gpu``), and on fractional g6f/gr6f (a share
of one L4, ``instance-gpu-count`` 0) Karpenter sees no GPU while the plugin advertises one.
A NodeOverlay's ``capacity`` replaces those extended resources in Karpenter's instance types
(sigs.k8s.io/karpenter@v1.14.1 ``pkg/cloudprovider/types.go`` ``ApplyCapacityOverlay``:
``lo.Assign``), for the types of each NodePool its requirements are compatible with
(``pkg/controllers/nodeoverlay/controller.go`` ``getOverlaidOfferings``: the pool's name,
its template labels and the type's own labels). So: one overlay per pool and distinct GPU
count among the pool's NVIDIA families, selecting ``karpenter.sh/nodepool``,
``instance-gpu-manufacturer`` and ``instance-gpu-count``; counts never overlap, so equal
weights never conflict (``store.go`` ``isCapacityUpdateConflicting``).

Counts come from the catalog rows of the pool's families and architectures; an extra
requirement that rules a count out leaves an overlay that matches no type, which Karpenter
ignores. Karpenter reads NodeOverlays only with the feature gate ``NodeOverlay=true``.
"""

from __future__ import annotations

from typing import Any

from eks_gpu.catalog.gpu_types import GpuInstanceType, gpu_instance_types
from eks_gpu.config.device_plugin import TimeSlicing
from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.nodepool import NodePool
from eks_gpu.names import (
    API_VERSION_NODEOVERLAY,
    LABEL_GPU_COUNT,
    LABEL_GPU_MANUFACTURER,
    LABEL_NODEPOOL,
    RESOURCE_NVIDIA_GPU,
    RESOURCE_NVIDIA_GPU_SHARED,
)
from eks_gpu.render.metadata import object_meta

FRACTIONAL_COUNT = 0  # Karpenter's instance-gpu-count on g6f/gr6f
PLUGIN_GPUS_ON_FRACTIONAL = 1  # the plugin sees one (partial) GPU device


def pool_nvidia_rows(pool: NodePool) -> list[GpuInstanceType]:
    """Catalog NVIDIA rows of the pool's families and architectures."""
    families, arches = set(pool.instance_families), set(pool.architectures)
    return [
        row
        for row in gpu_instance_types()
        if row.gpu_manufacturer == "nvidia" and row.family in families
        and row.architecture in arches
    ]  # fmt: skip


def _capacity(gpus: int, time_slicing: TimeSlicing | None) -> dict[str, str]:
    """What the plugin advertises for ``gpus`` devices."""
    if time_slicing is None:
        return {RESOURCE_NVIDIA_GPU: str(gpus)}
    shared = str(gpus * time_slicing.replicas)
    if time_slicing.rename_by_default:
        return {RESOURCE_NVIDIA_GPU: "0", RESOURCE_NVIDIA_GPU_SHARED: shared}
    return {RESOURCE_NVIDIA_GPU: shared}


def _overlay(pool: NodePool, count: int, capacity: dict[str, str]) -> dict[str, Any]:
    suffix = "fractional-gpu" if count == FRACTIONAL_COUNT else f"gpus-{count}"
    requirements = [
        {"key": LABEL_NODEPOOL, "operator": "In", "values": [pool.name]},
        {"key": LABEL_GPU_MANUFACTURER, "operator": "In", "values": ["nvidia"]},
        {"key": LABEL_GPU_COUNT, "operator": "In", "values": [str(count)]},
    ]
    return {
        "apiVersion": API_VERSION_NODEOVERLAY,
        "kind": "NodeOverlay",
        "metadata": object_meta(f"{pool.name}-{suffix}"),
        "spec": {"requirements": requirements, "capacity": capacity},
    }


def _time_slicing(config: GpuConfig) -> TimeSlicing | None:
    plugin = config.device_plugin
    if not plugin.enabled or plugin.sharing is None:
        return None
    return plugin.sharing.time_slicing


def render_node_overlays(config: GpuConfig, pool: NodePool) -> list[dict[str, Any]]:
    """The pool's NodeOverlays: per GPU count under time-slicing, and one for fractional
    types whose fraction the catalog knows; none when Karpenter already counts right."""
    time_slicing = _time_slicing(config)
    rows = pool_nvidia_rows(pool)
    out = []
    if time_slicing is not None:
        for count in sorted({row.gpu_count for row in rows if row.gpu_count > 0}):
            out.append(_overlay(pool, count, _capacity(count, time_slicing)))
    if any(r.gpu_count == FRACTIONAL_COUNT and r.gpu_partition is not None for r in rows):
        capacity = _capacity(PLUGIN_GPUS_ON_FRACTIONAL, time_slicing)
        out.append(_overlay(pool, FRACTIONAL_COUNT, capacity))
    return out


__all__ = ["pool_nvidia_rows", "render_node_overlays"]
