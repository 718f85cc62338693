"""``device-plugin-crashloop-cpu-nodes``: plugin >= v0.18 that can run on nodes without a GPU.

From v0.18.0 the static manifest drops ``FAIL_ON_INIT_ERROR=false``, so the plugin exits
when it finds no NVIDIA GPU; without a node affinity that keeps it on NVIDIA GPU nodes it
crash-loops on every CPU node it lands on (shared/research/nvidia.md section 0, item 2).

"Can it land on a node without an NVIDIA GPU" is Karpenter's ``isDaemonPodCompatible``
(``placement.is_daemon_compatible``) over every such instance type of the one instance-type
model, on the set's NodePools (their labels and taints) and on nodes no NodePool of the
set made (no ``karpenter.sh/nodepool`` label, no custom labels, no taints): the plugin is
safe only when none of those pairs admits it.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_GPU_MANUFACTURER, LABEL_NVIDIA_GPU_PRESENT
from eks_gpu.scheduling.instance_model import CatalogType, catalog_types
from eks_gpu.scheduling.pools import PoolSpec
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.device_plugin import (
    fail_on_init_disabled,
    fails_on_init_by_default,
    plugin_daemonsets,
)
from eks_gpu.validate.rules.placement import OUTSIDE_KARPENTER, daemon_lands_on, view_of
from eks_gpu.validate.rules.pools import pools_of
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.workloads import in_pod_spec

FIX = (
    "add a required node affinity to NVIDIA GPU nodes, e.g. "
    f"{LABEL_GPU_MANUFACTURER} In [nvidia] (or {LABEL_NVIDIA_GPU_PRESENT} In "
    "[true] where GPU feature discovery runs), or set env FAIL_ON_INIT_ERROR=false"
)


def _no_nvidia(instance_type: CatalogType) -> bool:
    return instance_type.spec.labels.get(LABEL_GPU_MANUFACTURER) != "nvidia"


@cache
def _non_nvidia_types() -> tuple[CatalogType, ...]:
    return tuple(t for t in catalog_types() if _no_nvidia(t))


def _candidates(manifests: ManifestSet) -> Iterator[tuple[PoolSpec, CatalogType]]:
    """Every (node source, instance type without an NVIDIA GPU) a node could be."""
    for pool in pools_of(manifests):
        yield from ((pool.spec, t) for t in pool.types if _no_nvidia(t))
    yield from ((OUTSIDE_KARPENTER, t) for t in _non_nvidia_types())


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for plugin in plugin_daemonsets(manifests):
        if not fails_on_init_by_default(plugin.image) or fail_on_init_disabled(plugin.container):
            continue
        view = view_of(plugin.pod_spec, manifests.eks_admission)
        example = None if view is None else daemon_lands_on(view, _candidates(manifests))
        if example is None:
            continue
        yield RULE.finding(
            plugin.obj,
            in_pod_spec(plugin.obj, ".affinity"),
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
