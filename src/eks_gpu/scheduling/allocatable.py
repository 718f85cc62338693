"""Karpenter's estimate of a node's allocatable resources, before the node exists.

Reproduces ``aws/karpenter-provider-aws`` ``pkg/providers/instancetype/types.go`` for AL2023
(our own code, from the documented formula; research/karpenter.md section 5):

- memory = EC2 MiB (-64 MiB on arm64) - ceil(7.5% VM overhead) - kube-reserved
  (``11 * pods + 255`` MiB unless set) - system-reserved - eviction threshold (100Mi);
- cpu = vCPUs - kube-reserved CPU, tiered: 6% of the first core, 1% of the second, 0.5% of
  cores 3-4, 0.25% of the rest;
- pods = ``maxPods`` if set, else the ENI-limited figure, capped by ``podsPerCore x vCPU``.

``tests/test_allocatable.py`` checks that this reproduces the allocatable Karpenter's docs
list for all 1,363 instance types.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

VM_MEMORY_OVERHEAD = Decimal("0.075")
EVICTION_MIB = 100
CPU_TIERS: tuple[tuple[int, Decimal], ...] = (
    (1000, Decimal("0.06")),
    (1000, Decimal("0.01")),
    (2000, Decimal("0.005")),
)
CPU_REST = Decimal("0.0025")
MIB = Decimal(1024 * 1024)


@dataclass(frozen=True)
class KubeletSettings:
    """The EC2NodeClass ``kubelet`` fields that change allocatable (all optional)."""

    max_pods: int | None = None
    pods_per_core: int | None = None
    kube_reserved: Mapping[str, Decimal] = field(default_factory=dict)
    system_reserved: Mapping[str, Decimal] = field(default_factory=dict)
    eviction_memory: Decimal | None = None  # bytes


def reserved_cpu_millis(vcpu: int) -> Decimal:
    """Karpenter's default kube-reserved CPU for ``vcpu`` cores, in millicores."""
    remaining, reserved = Decimal(vcpu * 1000), Decimal(0)
    for size, share in CPU_TIERS:
        take = min(remaining, Decimal(size))
        reserved += take * share
        remaining -= take
    return reserved + remaining * CPU_REST


def max_pods(eni_pods: int, vcpu: int, kubelet: KubeletSettings) -> int:
    """Pods per node: ``maxPods``, else ENI-limited, capped by ``podsPerCore x vCPU``."""
    pods = kubelet.max_pods if kubelet.max_pods is not None else eni_pods
    if kubelet.pods_per_core:
        pods = min(pods, kubelet.pods_per_core * vcpu)
    return pods


def estimate(
    vcpu: int, memory_mib: int, arch: str, eni_pods: int, kubelet: KubeletSettings | None = None
) -> dict[str, Decimal]:
    """Allocatable ``cpu`` (cores), ``memory`` (bytes) and ``pods`` for one instance type."""
    kubelet = kubelet or KubeletSettings()
    pods = max_pods(eni_pods, vcpu, kubelet)
    base = memory_mib - (64 if arch == "arm64" else 0)
    overhead = math.ceil(Decimal(base) * VM_MEMORY_OVERHEAD)
    kube_memory = kubelet.kube_reserved.get("memory", Decimal(11 * pods + 255) * MIB)
    eviction = (
        kubelet.eviction_memory if kubelet.eviction_memory is not None else EVICTION_MIB * MIB
    )
    memory = (
        Decimal(base - overhead) * MIB
        - kube_memory
        - kubelet.system_reserved.get("memory", Decimal(0))
        - eviction
    )
    kube_cpu = kubelet.kube_reserved.get("cpu", reserved_cpu_millis(vcpu) / 1000)
    cpu = Decimal(vcpu) - kube_cpu - kubelet.system_reserved.get("cpu", Decimal(0))
    return {"cpu": cpu, "memory": memory, "pods": Decimal(pods)}


__all__ = ["KubeletSettings", "estimate", "max_pods", "reserved_cpu_millis"]
