"""``non-nvidia-gpu-family``: a pool for ``nvidia.com/gpu`` pods allows non-NVIDIA GPU types.

g4ad's AMD Radeon Pro V520 is advertised as ``amd.com/gpu``, never ``nvidia.com/gpu``: its
nodes never get the resource the pool is for (aws/karpenter-provider-aws#7754). Which
families are not NVIDIA comes from the catalog (GPU manufacturer, family notes).
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
            f"is for nvidia.com/gpu pods but allows {', '.join(names)} ({'/'.join(makers)} "
            "GPUs): those nodes never get nvidia.com/gpu",
            "add the requirement karpenter.k8s.aws/instance-gpu-manufacturer In [nvidia], or "
            f"remove {', '.join(names)} from karpenter.k8s.aws/instance-family",
        )


RULE = Rule(
    id="non-nvidia-gpu-family",
    severity="error",
    summary="a non-NVIDIA GPU family (AMD g4ad) in a pool feeding nvidia.com/gpu pods",
    check=_check,
)

__all__ = ["RULE"]
