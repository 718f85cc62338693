"""``fractional-gpu-family``: a pool for ``nvidia.com/gpu`` pods allows fractional GPU types.

g6f/gr6f carry a slice of an L4; EC2 reports 0 GPUs, so Karpenter models no
``nvidia.com/gpu`` on them and never picks them for GPU pods, yet may launch them for
anything else the pool takes (aws/karpenter-provider-aws#8324). Which families are
fractional comes from the catalog (GPU count 0, family notes).
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.catalog.notes import notes_for
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.manifests import ManifestSet
from eks_gpu.validate.rules.pools import families, pools_of
from eks_gpu.validate.rules.rule import Rule


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for pool in pools_of(manifests):
        if not pool.feeds_nvidia_pods:
            continue
        fractional = [
            row
            for row in pool.nvidia_types
            if row.gpu_count == 0 or notes_for(row.family).fractional
        ]
        if not fractional:
            continue
        names = ", ".join(families(fractional))
        yield RULE.finding(
            pool.obj,
            ".spec.template.spec.requirements",
            f"is for nvidia.com/gpu pods but allows fractional-GPU {names}: Karpenter sees 0 "
            "nvidia.com/gpu on them, so GPU pods never get one",
            f"exclude {names} (karpenter.k8s.aws/instance-family NotIn [{names}], or the "
            "requirement karpenter.k8s.aws/instance-gpu-count Gt 0); to use them, give them a "
            "pool of their own with a NodeOverlay (feature gate NodeOverlay=true)",
        )


RULE = Rule(
    id="fractional-gpu-family",
    severity="error",
    summary="a fractional-GPU family (g6f/gr6f) in a pool feeding nvidia.com/gpu pods",
    check=_check,
)

__all__ = ["RULE"]
