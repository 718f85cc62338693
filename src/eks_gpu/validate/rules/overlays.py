"""NodeOverlays as Karpenter applies them to a NodePool's instance types: the
``nvidia.com/gpu`` capacity Karpenter plans with once overlays are in (``None``: no overlay
sets it, so the type's own GPU count).

The order and the matching are the simulator's (:mod:`eks_gpu.scheduling.overlays`, after
sigs.k8s.io/karpenter@v1.14.1 ``pkg/controllers/nodeoverlay``): one model of overlays, so
validate and simulate cannot disagree on which overlay wins. Validate has no offerings in
view, so an overlay counts as soon as its requirements select the type; overlays that
conflict or fail Karpenter's runtime validation are the simulator's to report.
"""

from __future__ import annotations

from decimal import Decimal

from eks_gpu.manifests import ManifestError, ManifestSet
from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling import overlays
from eks_gpu.scheduling.instance_model import type_requirements
from eks_gpu.scheduling.overlays import Overlay, PoolContext
from eks_gpu.validate.rules.pools import Pool

GpuOverlay = Overlay


def gpu_overlays(manifests: ManifestSet) -> list[Overlay]:
    """Every well-formed NodeOverlay setting ``nvidia.com/gpu``, in Karpenter's order
    (``NodeOverlayList.OrderByWeight``); malformed ones are the CRD checks' to report."""
    found = []
    for obj in manifests.of_kind(overlays.KIND):
        try:
            overlay = overlays.parse_overlay(obj)
        except ManifestError:
            continue
        if RESOURCE_NVIDIA_GPU in overlay.capacity and not overlay.restricted:
            found.append(overlay)
    return overlays.order(found)


def overlaid_gpus(pool: Pool, instance_type: str, ordered: list[Overlay]) -> Decimal | None:
    """The ``nvidia.com/gpu`` an overlay gives ``instance_type`` in ``pool`` (None: none)."""
    if not ordered:
        return None
    context = PoolContext(pool.spec.name, pool.spec.labels).requirements()
    requirements = type_requirements(instance_type)
    for overlay in ordered:
        if overlays.selects(overlay, requirements, context):
            return overlay.capacity[RESOURCE_NVIDIA_GPU]
    return None


__all__ = ["GpuOverlay", "gpu_overlays", "overlaid_gpus"]
