"""``gpu-request-not-limit``: a container requests ``nvidia.com/gpu`` without an equal limit.

GPUs are extended resources, which cannot be overcommitted: the API server refuses a pod
whose GPU request has no limit or a different one, so the workload never runs. A limit
alone is fine (the request defaults to it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eks_gpu.manifests import ManifestSet, pod_spec_of
from eks_gpu.names import PREFIX_NVIDIA, RESOURCE_NVIDIA_GPU
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.workloads import (
    containers,
    in_pod_spec,
    limits_section,
    quantity,
    requests_section,
)


def _problems(container: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(resource, request, limit) for each NVIDIA resource whose limit is missing or differs."""
    requests, limits = requests_section(container), limits_section(container)
    for resource, request in requests.items():
        if not str(resource).startswith(PREFIX_NVIDIA):
            continue
        limit = limits.get(resource)
        if limit is None or quantity(limit) != quantity(request):
            yield str(resource), request, limit


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for manifest in manifests.manifests:
        pod_spec = pod_spec_of(manifest.obj)
        if pod_spec is None:
            continue
        for path, container in containers(pod_spec):
            for resource, request, limit in _problems(container):
                shown = "no limit" if limit is None else f"limit {limit}"
                yield RULE.finding(
                    manifest.obj,
                    in_pod_spec(manifest.obj, f"{path}.resources"),
                    f"requests {resource}: {request} with {shown}: the API server refuses it "
                    "(extended resources need a limit equal to the request)",
                    f"set resources.limits.{resource}: {request} (or only the limit)",
                )


RULE = Rule(
    id="gpu-request-not-limit",
    severity="error",
    summary=f"a container requests {RESOURCE_NVIDIA_GPU} without an equal limit",
    check=_check,
)

__all__ = ["RULE"]
