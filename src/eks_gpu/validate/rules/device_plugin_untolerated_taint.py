"""``device-plugin-untolerated-taint``: the device plugin does not tolerate a GPU pool taint.

The plugin then never runs on that pool's nodes, so they never advertise ``nvidia.com/gpu``;
Karpenter waits for the resource forever and GPU pods stay Pending (shared/research/nvidia.md
P2; aws/karpenter-provider-aws#1914, #3794). Whether the plugin runs on a pool's NVIDIA
types is Karpenter's ``isDaemonPodCompatible`` (``placement.is_daemon_compatible``, which
lets a daemon ignore ``PreferNoSchedule``); the taints named are those it does not tolerate.
A plugin kept off the pool by its own affinity alone is not this rule's finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.taints import taint_str
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.device_plugin import plugin_daemonsets
from eks_gpu.validate.rules.placement import daemon_blocking_taints, exists_toleration, view_of
from eks_gpu.validate.rules.pools import pools_of
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.workloads import in_pod_spec


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    pools = [p for p in pools_of(manifests) if p.nvidia_types]
    for plugin in plugin_daemonsets(manifests):
        view = view_of(plugin.pod_spec, manifests.eks_admission)
        if view is None:
            continue
        for pool in pools:
            nvidia = {row.instance_type for row in pool.nvidia_types}
            types = [t for t in pool.types if t.name in nvidia]
            for taint in daemon_blocking_taints(view, pool, types):
                yield RULE.finding(
                    plugin.obj,
                    in_pod_spec(plugin.obj, ".tolerations"),
                    f"does not tolerate {pool.ref}'s taint {taint_str(taint)}: the plugin never "
                    f"runs on those GPU nodes, so they never get {RESOURCE_NVIDIA_GPU} and GPU "
                    "pods stay Pending",
                    f"add the toleration {exists_toleration(taint)} to the DaemonSet's pod "
                    "template",
                )


RULE = Rule(
    id="device-plugin-untolerated-taint",
    severity="error",
    summary="a GPU NodePool taint that the device plugin DaemonSet does not tolerate",
    check=_check,
)

__all__ = ["RULE"]
