"""Karpenter's capacity and allocatable for an instance type, before the node exists.

Follows ``aws/karpenter-provider-aws`` v1.14.1 ``pkg/providers/instancetype/types.go``
(``NewInstanceType``, ``computeCapacity``, ``kubeReservedResources``, ``evictionThreshold``,
``ephemeralStorage``, ``pods``) for AL2023, and core Karpenter's
``cloudprovider.InstanceType.computeAllocatable`` (allocatable = capacity - kube-reserved -
system-reserved - eviction threshold, per capacity key, never clamped):

- memory capacity = EC2 MiB (-64 MiB on arm64) - ceil(7.5% VM overhead);
- ephemeral-storage capacity = the instance store's ``TotalSizeInGB`` in decimal GB under
  ``instanceStorePolicy: RAID0``, else the node class's root volume, else AL2023's 20Gi;
- pods = ``maxPods`` if set, else ENI-limited, capped by ``podsPerCore x vCPU``;
- kube-reserved: CPU tiered (6% of the first core, 1% of the second, 0.5% of cores 3-4, 0.25%
  of the rest, each tier truncated to whole millicores), memory ``11 x pods + 255`` MiB where
  pods is **always the ENI-limited count** on AL2023 (``FeatureFlags.UsesENILimitedMemoryOverhead``,
  whatever ``maxPods`` says), 1Gi ephemeral-storage; ``kubeReserved`` replaces key by key;
- eviction threshold: 100Mi memory and 10% of ephemeral-storage, replaced key by key by
  ``evictionHard`` ``memory.available`` / ``nodefs.available`` (a quantity, or a percentage of
  the capacity; ``100%`` means 0). ``evictionSoft`` does not change allocatable upstream.

Karpenter computes the VM overhead and the percentages in float64 and rounds up; so do we,
with the same operations in the same order, so the results agree to the byte
(``tests/test_allocatable_oracle.py`` runs Karpenter's own code to check).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

VM_MEMORY_OVERHEAD_PERCENT = 0.075  # Karpenter's VM_MEMORY_OVERHEAD_PERCENT default
MIB = 1024 * 1024
GIB = 1024 * MIB
GB = 10**9
DEFAULT_ROOT_VOLUME = Decimal(20 * GIB)  # amifamily.DefaultEBS.VolumeSize
KUBE_RESERVED_STORAGE = Decimal(GIB)
EVICTION_MEMORY = Decimal(100 * MIB)
NODEFS_PERCENT = 10.0
MEMORY_AVAILABLE = "memory.available"
NODEFS_AVAILABLE = "nodefs.available"
# (start, end, share) in millicores: kubeReservedResources' CPU ranges
CPU_RANGES: tuple[tuple[int, int, float], ...] = (
    (0, 1000, 0.06),
    (1000, 2000, 0.01),
    (2000, 4000, 0.005),
    (4000, 1 << 31, 0.0025),
)


@dataclass(frozen=True)
class Threshold:
    """One eviction signal's value: an absolute quantity, or a percentage of capacity."""

    quantity: Decimal | None = None
    percent: float | None = None

    def amount(self, capacity: Decimal) -> Decimal:
        """Bytes (``computeEvictionSignal``: ceil(capacity / 100 x percent) in float64)."""
        if self.percent is None:
            return self.quantity if self.quantity is not None else Decimal(0)
        percent = 0.0 if self.percent == 100 else self.percent  # 100% disables the signal
        return Decimal(repr(float(math.ceil(float(capacity) / 100 * percent))))


@dataclass(frozen=True)
class KubeletSettings:
    """The EC2NodeClass ``kubelet`` fields that change capacity or allocatable (all optional)."""

    max_pods: int | None = None
    pods_per_core: int | None = None
    kube_reserved: Mapping[str, Decimal] = field(default_factory=dict)
    system_reserved: Mapping[str, Decimal] = field(default_factory=dict)
    eviction_hard: Mapping[str, Threshold] = field(default_factory=dict)
    # kept so the model sees every field; Karpenter ignores it for allocatable (types.go)
    eviction_soft: Mapping[str, Threshold] = field(default_factory=dict)


@dataclass(frozen=True)
class Storage:
    """The EC2NodeClass storage settings that decide ephemeral-storage capacity."""

    raid0: bool = False
    root_volume: Decimal | None = None  # bytes; None: no size in blockDeviceMappings


@dataclass(frozen=True)
class InstanceFacts:
    """What Karpenter reads from EC2 DescribeInstanceTypes for capacity and overhead."""

    vcpu: int
    memory_mib: int
    arch: str  # "amd64" or "arm64"
    eni_pods: int  # ENIs x (IPv4 per ENI - 1) + 2 on the default network card
    instance_store_gb: int | None = None  # InstanceStorageInfo.TotalSizeInGB
    extended: Mapping[str, Decimal] = field(default_factory=dict)  # nvidia.com/gpu, efa, ...


@dataclass(frozen=True)
class Estimate:
    """Capacity and allocatable of one instance type under one node class."""

    capacity: dict[str, Decimal]
    allocatable: dict[str, Decimal]


def eni_limited_pods(max_enis: int, ipv4_per_eni: int) -> int:
    """``ENILimitedPods``: ENIs x (IPv4 per ENI - 1) + 2 (0 without a usable ENI)."""
    return max_enis * (ipv4_per_eni - 1) + 2 if max_enis > 0 else 0


def reserved_cpu_millis(vcpu: int) -> Decimal:
    """Karpenter's default kube-reserved CPU for ``vcpu`` cores, in millicores."""
    cpu, reserved = vcpu * 1000, 0
    for start, end, share in CPU_RANGES:
        if cpu >= start:
            span = float(end - start) if cpu >= end else float(cpu - start)
            reserved += int(span * share)  # int64() truncation per range, as upstream
    return Decimal(reserved)


def max_pods(eni_pods: int, vcpu: int, kubelet: KubeletSettings) -> int:
    """Pods per node: ``maxPods``, else ENI-limited, capped by ``podsPerCore x vCPU``."""
    pods = kubelet.max_pods if kubelet.max_pods is not None else eni_pods
    if kubelet.pods_per_core and kubelet.pods_per_core > 0:
        pods = min(pods, kubelet.pods_per_core * vcpu)
    return pods


def memory_capacity(memory_mib: int, arch: str) -> Decimal:
    """``memory()``: MiB (-64 on arm64) less ceil(7.5%) VM overhead, in bytes."""
    mib = memory_mib - (64 if arch == "arm64" else 0)
    overhead = math.ceil(float(mib * MIB) * VM_MEMORY_OVERHEAD_PERCENT / 1024 / 1024)
    return Decimal((mib - overhead) * MIB)


def ephemeral_storage(instance_store_gb: int | None, storage: Storage) -> Decimal:
    """``ephemeralStorage()`` for AL2023 (root device ``/dev/xvda``), in bytes."""
    if storage.raid0 and instance_store_gb is not None:
        return Decimal(instance_store_gb * GB)
    return storage.root_volume if storage.root_volume is not None else DEFAULT_ROOT_VOLUME


def capacity(
    facts: InstanceFacts, kubelet: KubeletSettings, storage: Storage
) -> dict[str, Decimal]:
    """``computeCapacity``: what the node will report as capacity (zero extended dropped)."""
    out = {
        "cpu": Decimal(facts.vcpu),
        "memory": memory_capacity(facts.memory_mib, facts.arch),
        "ephemeral-storage": ephemeral_storage(facts.instance_store_gb, storage),
        "pods": Decimal(max_pods(facts.eni_pods, facts.vcpu, kubelet)),
    }
    out.update({key: value for key, value in facts.extended.items() if value})
    return out


def kube_reserved(vcpu: int, eni_pods: int, kubelet: KubeletSettings) -> dict[str, Decimal]:
    """``kubeReservedResources`` with the ENI-limited pod count (AL2023), then overrides."""
    reserved = {
        "memory": Decimal((11 * eni_pods + 255) * MIB),
        "ephemeral-storage": KUBE_RESERVED_STORAGE,
        "cpu": reserved_cpu_millis(vcpu) / 1000,
    }
    return {**reserved, **kubelet.kube_reserved}


def eviction_threshold(
    memory: Decimal, storage: Decimal, kubelet: KubeletSettings
) -> dict[str, Decimal]:
    """``evictionThreshold``: 100Mi and 10% nodefs, replaced by ``evictionHard`` signals."""
    out = {
        "memory": EVICTION_MEMORY,
        "ephemeral-storage": Threshold(percent=NODEFS_PERCENT).amount(storage),
    }
    if MEMORY_AVAILABLE in kubelet.eviction_hard:
        out["memory"] = kubelet.eviction_hard[MEMORY_AVAILABLE].amount(memory)
    if NODEFS_AVAILABLE in kubelet.eviction_hard:
        out["ephemeral-storage"] = kubelet.eviction_hard[NODEFS_AVAILABLE].amount(storage)
    return out


def estimate(
    facts: InstanceFacts, kubelet: KubeletSettings | None = None, storage: Storage | None = None
) -> Estimate:
    """Capacity and allocatable (capacity minus every overhead, per capacity key)."""
    kubelet, storage = kubelet or KubeletSettings(), storage or Storage()
    cap = capacity(facts, kubelet, storage)
    overheads = (
        kube_reserved(facts.vcpu, facts.eni_pods, kubelet),
        kubelet.system_reserved,
        eviction_threshold(cap["memory"], cap["ephemeral-storage"], kubelet),
    )
    allocatable = {
        key: value - sum((o.get(key, Decimal(0)) for o in overheads), Decimal(0))
        for key, value in cap.items()
    }
    return Estimate(cap, allocatable)


__all__ = [
    "DEFAULT_ROOT_VOLUME",
    "Estimate",
    "InstanceFacts",
    "KubeletSettings",
    "Storage",
    "Threshold",
    "capacity",
    "eni_limited_pods",
    "ephemeral_storage",
    "estimate",
    "eviction_threshold",
    "kube_reserved",
    "max_pods",
    "memory_capacity",
    "reserved_cpu_millis",
]
