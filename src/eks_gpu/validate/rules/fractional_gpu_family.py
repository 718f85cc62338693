"""``fractional-gpu-family``: a pool for ``nvidia.com/gpu`` pods allows fractional GPU types.

g6f/gr6f carry a slice of an L4; EC2 reports 0 GPUs, so Karpenter models no
``nvidia.com/gpu`` on them and never picks them for GPU pods, yet may launch them for
anything else the pool takes (aws/karpenter-provider-aws#8324). Which families are
fractional comes from the catalog (GPU count 0, family notes).

A NodeOverlay that gives those types ``nvidia.com/gpu`` capacity in this pool (what
``eks-gpu render`` writes for them) fixes Karpenter's view: the types it covers are not
reported. Coverage follows sigs.k8s.io/karpenter@v1.14.1
``pkg/controllers/nodeoverlay/controller.go`` ``getOverlaidOfferings``: the overlay's
requirements must be compatible (no undefined key allowed) with the pool's name, its template
labels and the type's own labels.
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.catalog.notes import notes_for
from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_GPU_COUNT, LABEL_INSTANCE_FAMILY, RESOURCE_NVIDIA_GPU
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.overlays import gpu_overlays, overlaid_gpus
from eks_gpu.validate.rules.pools import families, pools_of
from eks_gpu.validate.rules.rule import Rule


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    overlays = gpu_overlays(manifests)
    for pool in pools_of(manifests):
        if not pool.feeds_nvidia_pods:
            continue
        fractional = [
            row
            for row in pool.nvidia_types
            if (row.gpu_count == 0 or notes_for(row.family).fractional)
            and not overlaid_gpus(pool, row.instance_type, overlays)
        ]
        if not fractional:
            continue
        names = ", ".join(families(fractional))
        yield RULE.finding(
            pool.obj,
            ".spec.template.spec.requirements",
            f"is for {RESOURCE_NVIDIA_GPU} pods but allows fractional-GPU {names}: Karpenter "
            f"sees 0 {RESOURCE_NVIDIA_GPU} on them, so GPU pods never get one",
            f"exclude {names} ({LABEL_INSTANCE_FAMILY} NotIn [{names}], or the "
            f"requirement {LABEL_GPU_COUNT} Gt 0); to use them, give them a "
            "pool of their own with a NodeOverlay that sets their nvidia.com/gpu capacity "
            "(eks-gpu render writes it; feature gate NodeOverlay=true)",
        )


RULE = Rule(
    id="fractional-gpu-family",
    severity="error",
    summary=f"a fractional-GPU family (g6f/gr6f) in a pool feeding {RESOURCE_NVIDIA_GPU} pods",
    check=_check,
)

__all__ = ["RULE"]
