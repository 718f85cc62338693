"""``cuda-arch-unsupported``: CUDA code without Volta kernels that can land on a V100 node.

A CUDA 13 image, or a PyTorch build that dropped sm_70, fails on p3/p3dn with "no kernel
image is available for execution on the device" once Karpenter picks one (spot shortage,
a large GPU count). Where the pod can land is ``placement.landing_types`` (the one
placement model, over Karpenter v1.14's instance types: p3dn, not p3, which Karpenter no
longer lists); the GPUs' compute capabilities come from the GPU catalog; what the image
needs from :mod:`eks_gpu.validate.rules.cuda_images`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eks_gpu.catalog.gpu_types import GpuInstanceType
from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_GPU_NAME
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.cuda_images import (
    TURING,
    CudaBuild,
    command_build,
    compute_capability,
    drops_volta,
    image_build,
)
from eks_gpu.validate.rules.placement import landing_types, view_of
from eks_gpu.validate.rules.pools import Pool, families, gpu_facts, pools_of
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.workloads import containers, in_pod_spec


def _build(container: dict[str, Any]) -> tuple[CudaBuild, str]:
    """The container's build (the command's pins win over the image's tag) and its field."""
    image = image_build(str(container.get("image", "")))
    words = [str(w) for w in (*(container.get("command") or []), *(container.get("args") or []))]
    command = command_build(words)
    field = ".command" if command.cuda or command.torch else ".image"
    return CudaBuild(command.cuda or image.cuda, command.torch or image.torch), field


def _old_gpus(view: PodView, pools: list[Pool]) -> list[GpuInstanceType]:
    """GPU types older than Turing the pod can land on."""
    facts = gpu_facts()
    rows = [facts[t.name] for p in pools for t in landing_types(view, p) if t.name in facts]
    return [r for r in rows if (compute_capability(r.compute_capability) or TURING) < TURING]


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    pools = pools_of(manifests)
    for obj, pod_spec in manifests.workloads():
        view = view_of(pod_spec, manifests.eks_admission)
        if view is None or view.gpus <= 0:
            continue
        for path, container in containers(pod_spec):
            build, field = _build(container)
            why = drops_volta(build)
            old = _old_gpus(view, pools) if why else []
            if not old:
                continue
            names = ", ".join(sorted({r.gpu_name for r in old}))
            yield RULE.finding(
                obj,
                in_pod_spec(obj, f"{path}{field}"),
                f"{why}, but the pod can land on {', '.join(families(old))} ({names}, compute "
                f"capability {old[0].compute_capability}), where its CUDA code cannot run",
                "use a CUDA 12.x build (e.g. an nvidia/cuda:12.x image, PyTorch cu126 wheels), "
                f"or keep the pod off those GPUs: {LABEL_GPU_NAME} NotIn "
                f"[{names}] in its node affinity",
            )


RULE = Rule(
    id="cuda-arch-unsupported",
    severity="warning",
    summary="CUDA 13 / PyTorch builds without sm_70 for pods that can land on V100 (p3dn)",
    check=_check,
)

__all__ = ["RULE"]
