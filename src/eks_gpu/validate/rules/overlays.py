"""NodeOverlays as Karpenter applies them to a NodePool's instance types: the
``nvidia.com/gpu`` capacity Karpenter plans with once overlays are in (``None``: no overlay
sets it, so the type's own GPU count).

sigs.k8s.io/karpenter@v1.14.1 ``pkg/controllers/nodeoverlay/controller.go``
``getOverlaidOfferings``: an overlay applies to a type of a pool when its requirements are
compatible, with no undefined key allowed, with the pool's name, its template labels and the
type's labels; ``store.go`` orders overlays by weight (then name) and the first to set a
resource wins; ``pkg/cloudprovider/types.go`` ``ApplyCapacityOverlay`` replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_NODEPOOL, RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.instance_model import type_requirements
from eks_gpu.scheduling.requirement import Requirement, RequirementError
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import parse_quantity
from eks_gpu.validate.rules.pools import Pool

NO_UNDEFINED: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GpuOverlay:
    """One NodeOverlay that sets ``nvidia.com/gpu``: its weight, name, requirements, value."""

    weight: int
    name: str
    requirements: Requirements
    gpus: Decimal


def _overlay(obj: dict[str, object]) -> GpuOverlay | None:
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("capacity"), dict):
        return None
    if RESOURCE_NVIDIA_GPU not in spec["capacity"]:
        return None
    try:
        gpus = parse_quantity(spec["capacity"][RESOURCE_NVIDIA_GPU])
        requirements = Requirements.from_dicts(spec.get("requirements") or [])
    except (RequirementError, ValueError, InvalidOperation, AttributeError, TypeError):
        return None  # the NodeOverlay CRD checks report malformed ones
    metadata = obj.get("metadata")
    name = str(metadata.get("name", "")) if isinstance(metadata, dict) else ""
    weight = spec.get("weight")
    return GpuOverlay(weight if isinstance(weight, int) else 0, name, requirements, gpus)


def gpu_overlays(manifests: ManifestSet) -> list[GpuOverlay]:
    """Every NodeOverlay setting ``nvidia.com/gpu``, highest weight first, then by name."""
    found = [o for o in map(_overlay, manifests.of_kind("NodeOverlay")) if o is not None]
    return sorted(found, key=lambda o: (-o.weight, o.name))


def overlaid_gpus(pool: Pool, instance_type: str, overlays: list[GpuOverlay]) -> Decimal | None:
    """The ``nvidia.com/gpu`` an overlay gives ``instance_type`` in ``pool`` (None: none)."""
    if not overlays:
        return None
    node = (
        type_requirements(instance_type)
        .add(Requirements.from_labels(pool.spec.labels))
        .add(Requirement.create(LABEL_NODEPOOL, "In", [pool.spec.name]))
    )
    for overlay in overlays:
        if node.is_compatible(overlay.requirements, NO_UNDEFINED):
            return overlay.gpus
    return None


__all__ = ["GpuOverlay", "gpu_overlays", "overlaid_gpus"]
