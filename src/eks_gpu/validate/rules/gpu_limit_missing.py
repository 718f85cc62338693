"""``gpu-limit-missing``: a GPU NodePool without ``limits`` can grow without bound.

Karpenter keeps launching nodes while pods are pending; with no ``spec.limits`` nothing caps
the number of GPU instances, which is the most expensive mistake a GPU pool can make.
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.pools import pools_of
from eks_gpu.validate.rules.rule import Rule


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for pool in pools_of(manifests):
        if pool.can_launch_gpus and not pool.limits:
            yield RULE.finding(
                pool.obj,
                ".spec.limits",
                "can launch GPU instances but has no limits: spend is unbounded while pods "
                "are pending (and limit checks are only eventually consistent)",
                f"set spec.limits, e.g. {{{RESOURCE_NVIDIA_GPU}: '16', cpu: '1000'}}",
            )


RULE = Rule(
    id="gpu-limit-missing",
    severity="warning",
    summary="a GPU NodePool with no limits (unbounded spend)",
    check=_check,
)

__all__ = ["RULE"]
