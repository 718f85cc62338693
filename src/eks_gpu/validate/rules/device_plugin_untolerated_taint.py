"""``device-plugin-untolerated-taint``: the device plugin does not tolerate a GPU pool taint.

The plugin then never runs on that pool's nodes, so they never advertise ``nvidia.com/gpu``;
Karpenter waits for the resource forever and GPU pods stay Pending (shared/research/nvidia.md
P2; aws/karpenter-provider-aws#1914, #3794).
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.device_plugin import plugin_daemonsets
from eks_gpu.validate.rules.placement import exists_toleration, untolerated_taints
from eks_gpu.validate.rules.pools import pools_of
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.workloads import pod_spec_path


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    pools = [p for p in pools_of(manifests) if p.nvidia_types]
    for plugin in plugin_daemonsets(manifests):
        for pool in pools:
            for taint in untolerated_taints(plugin.pod_spec, pool.hard_taints):
                yield RULE.finding(
                    plugin.obj,
                    f"{pod_spec_path(plugin.obj)}.tolerations",
                    f"does not tolerate {pool.ref}'s taint {taint}: the plugin never runs on "
                    f"those GPU nodes, so they never get {RESOURCE_NVIDIA_GPU} and GPU pods stay "
                    "Pending",
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
