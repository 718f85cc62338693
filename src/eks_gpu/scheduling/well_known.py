"""The label-key catalogue: Karpenter's well-known labels, offering keys and key aliases.

A pod may select a well-known label on any NodePool, because instance types and offerings
constrain it (Karpenter core's list plus what the AWS provider adds). Deprecated
``beta.kubernetes.io/*`` and ``failure-domain.beta.*`` keys are read under their current
names (:func:`normalize_key`), as Karpenter does.
"""

from __future__ import annotations

from collections.abc import Mapping

LABEL_NODEPOOL = "karpenter.sh/nodepool"
LABEL_CAPACITY_TYPE = "karpenter.sh/capacity-type"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"
LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
LABEL_ARCH = "kubernetes.io/arch"
LABEL_OS = "kubernetes.io/os"
LABEL_WINDOWS_BUILD = "node.kubernetes.io/windows-build"
LABEL_ZONE_ID = "topology.k8s.aws/zone-id"
_AWS = "karpenter.k8s.aws/"
LABEL_GPU_NAME = _AWS + "instance-gpu-name"
LABEL_GPU_MANUFACTURER = _AWS + "instance-gpu-manufacturer"
LABEL_GPU_COUNT = _AWS + "instance-gpu-count"
LABEL_GPU_MEMORY = _AWS + "instance-gpu-memory"

CORE_WELL_KNOWN_LABELS: frozenset[str] = frozenset(
    {
        LABEL_NODEPOOL,
        LABEL_ZONE,
        LABEL_REGION,
        LABEL_INSTANCE_TYPE,
        LABEL_ARCH,
        LABEL_OS,
        LABEL_CAPACITY_TYPE,
        LABEL_WINDOWS_BUILD,
    }
)
"""Karpenter core's well-known labels: a pod may select them on any NodePool."""

AWS_WELL_KNOWN_LABELS: frozenset[str] = frozenset(
    {LABEL_ZONE_ID}
    | {
        _AWS + suffix
        for suffix in (
            "instance-hypervisor",
            "instance-encryption-in-transit-supported",
            "instance-category",
            "instance-family",
            "instance-generation",
            "instance-size",
            "instance-local-nvme",
            "instance-cpu",
            "instance-cpu-manufacturer",
            "instance-cpu-sustained-clock-speed-mhz",
            "instance-memory",
            "instance-ebs-bandwidth",
            "instance-network-bandwidth",
            "instance-gpu-name",
            "instance-gpu-manufacturer",
            "instance-gpu-count",
            "instance-gpu-memory",
            "instance-accelerator-name",
            "instance-accelerator-manufacturer",
            "instance-accelerator-count",
            "instance-capability-flex",
            "instance-tenancy",
            "capacity-reservation-id",
            "capacity-reservation-type",
            "capacity-reservation-interruptible",
        )
    }
)
"""What the AWS provider adds (karpenter-provider-aws ``pkg/apis/v1/labels.go``, v1.14)."""

WELL_KNOWN_LABELS: frozenset[str] = CORE_WELL_KNOWN_LABELS | AWS_WELL_KNOWN_LABELS

OFFERING_LABELS: frozenset[str] = frozenset(
    {
        LABEL_ZONE,
        LABEL_ZONE_ID,
        LABEL_CAPACITY_TYPE,
        _AWS + "capacity-reservation-id",
        _AWS + "capacity-reservation-type",
        _AWS + "capacity-reservation-interruptible",
    }
)
"""Well-known keys whose values come from an offering (zone, capacity type), not the type."""

KEY_ALIASES: Mapping[str, str] = {
    "failure-domain.beta.kubernetes.io/zone": LABEL_ZONE,
    "failure-domain.beta.kubernetes.io/region": LABEL_REGION,
    "beta.kubernetes.io/arch": LABEL_ARCH,
    "beta.kubernetes.io/os": LABEL_OS,
    "beta.kubernetes.io/instance-type": LABEL_INSTANCE_TYPE,
}


def normalize_key(key: str) -> str:
    """The current name of a label key (``beta.kubernetes.io/arch`` → ``kubernetes.io/arch``)."""
    return KEY_ALIASES.get(key, key)


__all__ = [
    "AWS_WELL_KNOWN_LABELS",
    "CORE_WELL_KNOWN_LABELS",
    "KEY_ALIASES",
    "LABEL_ARCH",
    "LABEL_CAPACITY_TYPE",
    "LABEL_GPU_COUNT",
    "LABEL_GPU_MANUFACTURER",
    "LABEL_GPU_MEMORY",
    "LABEL_GPU_NAME",
    "LABEL_INSTANCE_TYPE",
    "LABEL_NODEPOOL",
    "LABEL_OS",
    "LABEL_REGION",
    "LABEL_WINDOWS_BUILD",
    "LABEL_ZONE",
    "LABEL_ZONE_ID",
    "OFFERING_LABELS",
    "WELL_KNOWN_LABELS",
    "normalize_key",
]
