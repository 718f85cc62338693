"""``device-plugin-crashloop-cpu-nodes``: plugin >= v0.18 that can run on nodes without a GPU.

From v0.18.0 the static manifest drops ``FAIL_ON_INIT_ERROR=false``, so the plugin exits
when it finds no NVIDIA GPU; without a node affinity that keeps it on NVIDIA GPU nodes it
crash-loops on every CPU node it lands on (shared/research/nvidia.md section 0, item 2).
"GPU-only" is proved against the catalog: no instance type without an NVIDIA GPU may
satisfy any of the DaemonSet's selector terms.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from eks_gpu.catalog.instance_types import InstanceType
from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_GPU_MANUFACTURER, LABEL_NVIDIA_GPU_PRESENT
from eks_gpu.scheduling.labels import satisfies
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.device_plugin import (
    fail_on_init_disabled,
    fails_on_init_by_default,
    plugin_daemonsets,
)
from eks_gpu.validate.rules.placement import selector_terms
from eks_gpu.validate.rules.pools import candidate_types
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.workloads import pod_spec_path

FIX = (
    "add a required node affinity to NVIDIA GPU nodes, e.g. "
    f"{LABEL_GPU_MANUFACTURER} In [nvidia] (or {LABEL_NVIDIA_GPU_PRESENT} In "
    "[true] where GPU feature discovery runs), or set env FAIL_ON_INIT_ERROR=false"
)


@cache
def _non_nvidia_types() -> tuple[InstanceType, ...]:
    return tuple(
        it for it in candidate_types() if it.labels.get(LABEL_GPU_MANUFACTURER) != "nvidia"
    )


def _lands_on(pod_spec: dict[str, Any]) -> InstanceType | None:
    """An instance type without an NVIDIA GPU the pod's node constraints allow, if any."""
    for term in selector_terms(pod_spec):
        for it in _non_nvidia_types():
            if satisfies(it.labels, term):
                return it
    return None


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for plugin in plugin_daemonsets(manifests):
        if not fails_on_init_by_default(plugin.image) or fail_on_init_disabled(plugin.container):
            continue
        example = _lands_on(plugin.pod_spec)
        if example is None:
            continue
        yield RULE.finding(
            plugin.obj,
            f"{pod_spec_path(plugin.obj)}.affinity",
            f"{plugin.image} fails when a node has no NVIDIA GPU (no FAIL_ON_INIT_ERROR=false) "
            f"and nothing keeps it off such nodes (e.g. {example.name}): it will crash-loop "
            "on every CPU node",
            FIX,
        )


RULE = Rule(
    id="device-plugin-crashloop-cpu-nodes",
    severity="warning",
    summary="device plugin >= v0.18 without FAIL_ON_INIT_ERROR=false or GPU-only node affinity",
    check=_check,
)

__all__ = ["RULE"]
