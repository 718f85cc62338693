"""The label-key catalogue: Karpenter's well-known labels, offering keys and key aliases.

A pod may select a well-known label on any NodePool, because instance types and offerings
constrain it (Karpenter core's list plus what the AWS provider adds). Deprecated
``beta.kubernetes.io/*`` and ``failure-domain.beta.*`` keys are read under their current
names (:func:`normalize_key`), as Karpenter does.
"""

from __future__ import annotations

from collections.abc import Mapping

from eks_gpu.names import (
    LABEL_ARCH,
    LABEL_BETA_ARCH,
    LABEL_BETA_INSTANCE_TYPE,
    LABEL_BETA_OS,
    LABEL_BETA_REGION,
    LABEL_BETA_ZONE,
    LABEL_CAPACITY_RESERVATION_ID,
    LABEL_CAPACITY_RESERVATION_INTERRUPTIBLE,
    LABEL_CAPACITY_RESERVATION_TYPE,
    LABEL_CAPACITY_TYPE,
    LABEL_INSTANCE_TYPE,
    LABEL_NODEPOOL,
    LABEL_OS,
    LABEL_REGION,
    LABEL_WINDOWS_BUILD,
    LABEL_ZONE,
    LABEL_ZONE_ID,
    PREFIX_AWS,
)

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
        f"{PREFIX_AWS}{suffix}"
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
        LABEL_CAPACITY_RESERVATION_ID,
        LABEL_CAPACITY_RESERVATION_TYPE,
        LABEL_CAPACITY_RESERVATION_INTERRUPTIBLE,
    }
)
"""Well-known keys whose values come from an offering (zone, capacity type), not the type."""

KEY_ALIASES: Mapping[str, str] = {
    LABEL_BETA_ZONE: LABEL_ZONE,
    LABEL_BETA_REGION: LABEL_REGION,
    LABEL_BETA_ARCH: LABEL_ARCH,
    LABEL_BETA_OS: LABEL_OS,
    LABEL_BETA_INSTANCE_TYPE: LABEL_INSTANCE_TYPE,
}


def normalize_key(key: str) -> str:
    """The current name of a label key (``beta.kubernetes.io/arch`` → ``kubernetes.io/arch``)."""
    return KEY_ALIASES.get(key, key)


__all__ = [
    "AWS_WELL_KNOWN_LABELS",
    "CORE_WELL_KNOWN_LABELS",
    "KEY_ALIASES",
    "OFFERING_LABELS",
    "WELL_KNOWN_LABELS",
    "normalize_key",
]
