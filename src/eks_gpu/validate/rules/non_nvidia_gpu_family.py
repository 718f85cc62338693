"""``non-nvidia-gpu-family``: a pool for ``nvidia.com/gpu`` pods allows non-NVIDIA GPU types.

g4ad's AMD Radeon Pro V520 is advertised as ``amd.com/gpu``, never ``nvidia.com/gpu``: its
nodes never get the resource the pool is for (aws/karpenter-provider-aws#7754). Which
families are not NVIDIA comes from the catalog (GPU manufacturer, family notes).
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.catalog.notes import notes_for
from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_GPU_MANUFACTURER, LABEL_INSTANCE_FAMILY, RESOURCE_NVIDIA_GPU
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.pools import families, pools_of
from eks_gpu.validate.rules.rule import Rule


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for pool in pools_of(manifests):
        if not pool.feeds_nvidia_pods:
            continue
        other = [
            row
            for row in pool.gpu_types
            if row.gpu_manufacturer != "nvidia" or notes_for(row.family).not_nvidia
        ]
        if not other:
            continue
        names = families(other)
        makers = sorted({row.gpu_manufacturer.upper() for row in other})
        yield RULE.finding(
            pool.obj,
            ".spec.template.spec.requirements",
            f"is for {RESOURCE_NVIDIA_GPU} pods but allows {', '.join(names)} "
            f"({'/'.join(makers)} GPUs): those nodes never get {RESOURCE_NVIDIA_GPU}",
            f"add the requirement {LABEL_GPU_MANUFACTURER} In [nvidia], or "
            f"remove {', '.join(names)} from {LABEL_INSTANCE_FAMILY}",
        )


RULE = Rule(
    id="non-nvidia-gpu-family",
    severity="error",
    summary=f"a non-NVIDIA GPU family (AMD g4ad) in a pool feeding {RESOURCE_NVIDIA_GPU} pods",
    check=_check,
)

__all__ = ["RULE"]
