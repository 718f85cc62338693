"""``gpu-pool-untainted``: a NodePool that can launch GPU instances has no hard taint.

Without a NoSchedule/NoExecute taint any pod may land on a GPU node and keep it (and its
price) alive after the GPU work is done (aws/karpenter-provider-aws#5798); the guide's
isolation principle is a taint on the GPU pool and a toleration on GPU pods.
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_GPU_COUNT, TAINT_NVIDIA_GPU
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.pools import families, pools_of
from eks_gpu.validate.rules.rule import Rule

FIX = (
    f"add spec.template.spec.taints: [{{key: {TAINT_NVIDIA_GPU}, value: 'true', "
    "effect: NoSchedule}] and the matching toleration to GPU pods; for a general-purpose pool, "
    f"keep GPU types out with the requirement {LABEL_GPU_COUNT} DoesNotExist instead"
)


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for pool in pools_of(manifests):
        if not pool.can_launch_gpus or pool.hard_taints:
            continue
        shown = ", ".join(families(pool.gpu_types))
        yield RULE.finding(
            pool.obj,
            ".spec.template.spec.taints",
            f"can launch GPU instances ({shown}) but has no NoSchedule/NoExecute taint, so "
            "any pod can land on (and keep alive) an expensive GPU node",
            FIX,
        )


RULE = Rule(
    id="gpu-pool-untainted",
    severity="warning",
    summary="a NodePool that can launch GPU instances has no NoSchedule/NoExecute taint",
    check=_check,
)

__all__ = ["RULE"]
