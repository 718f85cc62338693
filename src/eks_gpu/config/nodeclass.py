"""The EC2NodeClass side of ``eks-gpu.yaml``: AMI, IAM, network, storage and boot settings.

Field-level rules live here; rules that span fields (an AMI name needs its owner, role vs
instance profile) live in :mod:`eks_gpu.config.checks`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from eks_gpu.config import defaults as d
from eks_gpu.config.base import ConfigModel
from eks_gpu.config.fields import (
    Al2023Alias,
    DnsSubdomain,
    EbsVolumeSize,
    NonEmpty,
    Quantity,
)

ReservedKey = Literal["cpu", "memory", "ephemeral-storage", "pid"]
EvictionSignal = Literal[
    "memory.available",
    "nodefs.available",
    "nodefs.inodesFree",
    "imagefs.available",
    "imagefs.inodesFree",
    "pid.available",
]


class AmiSelection(ConfigModel):
    """Which AMI the nodes boot: Karpenter's AL2023 alias, or the guide's name pattern."""

    alias: Al2023Alias | None = Field(
        default=None,
        description="al2023@latest or al2023@vYYYYMMDD; picks the NVIDIA variant per type.",
    )
    name: NonEmpty | None = Field(
        default=None, description="AMI name pattern, e.g. the guide's " + d.GUIDE_AMI_NAME + "."
    )
    owner: NonEmpty | None = Field(
        default=None, description="AMI owner with name (e.g. 'amazon'); only with name."
    )


class RootVolume(ConfigModel):
    """The root EBS volume; CUDA images need far more than the 20Gi default."""

    device_name: NonEmpty = Field(default=d.ROOT_DEVICE, description="Root device name.")
    volume_size: EbsVolumeSize = Field(default=d.ROOT_VOLUME_SIZE, description="Size, e.g. 100Gi.")
    volume_type: Literal["gp3", "gp2", "io1", "io2"] = Field(
        default="gp3", description="EBS volume type."
    )
    encrypted: bool = Field(default=True, description="Encrypt the volume.")
    iops: int | None = Field(default=None, ge=100, description="Provisioned IOPS (gp3/io1/io2).")
    throughput: int | None = Field(default=None, ge=125, le=2000, description="gp3 MiB/s.")
    kms_key_id: NonEmpty | None = Field(
        default=None, alias="kmsKeyID", description="KMS key for encryption (default: AWS key)."
    )


class MetadataOptions(ConfigModel):
    """Instance metadata (IMDS); IMDSv2 with hop limit 1 keeps pods off node credentials."""

    http_endpoint: Literal["enabled", "disabled"] = Field(
        default="enabled", description="Instance metadata service on or off."
    )
    http_protocol_ipv6: Literal["enabled", "disabled"] = Field(
        default="disabled", alias="httpProtocolIPv6", description="IMDS over IPv6."
    )
    http_put_response_hop_limit: int = Field(
        default=1, ge=1, le=64, description="1 blocks non-hostNetwork pods from IMDS."
    )
    http_tokens: Literal["required", "optional"] = Field(
        default="required", description="'required' enforces IMDSv2."
    )


class Kubelet(ConfigModel):
    """Kubelet settings Karpenter knows about (it uses them to size nodes)."""

    max_pods: int | None = Field(default=None, ge=0, description="Pods per node.")
    pods_per_core: int | None = Field(default=None, ge=0, description="Pods per vCPU.")
    kube_reserved: dict[ReservedKey, Quantity] | None = Field(
        default=None, description="Reserved for Kubernetes daemons, e.g. {cpu: 100m}."
    )
    system_reserved: dict[ReservedKey, Quantity] | None = Field(
        default=None, description="Reserved for the OS, e.g. {memory: 500Mi}."
    )
    eviction_hard: dict[EvictionSignal, NonEmpty] | None = Field(
        default=None, description="Hard eviction thresholds, e.g. {memory.available: 5%}."
    )
    image_gc_high_threshold_percent: int | None = Field(
        default=None,
        ge=0,
        le=100,
        alias="imageGCHighThresholdPercent",
        description="Disk usage that starts image garbage collection.",
    )
    image_gc_low_threshold_percent: int | None = Field(
        default=None,
        ge=0,
        le=100,
        alias="imageGCLowThresholdPercent",
        description="Disk usage image garbage collection frees down to.",
    )


class UserData(ConfigModel):
    """AL2023 user data: a nodeadm NodeConfig part and an optional shell script part."""

    kubelet_config: dict[NonEmpty, Any] = Field(
        default_factory=lambda: dict(d.NODECONFIG_KUBELET),
        description="KubeletConfiguration fields for a nodeadm NodeConfig part (none by "
        "default: nodeadm already pulls images in parallel, without a limit).",
    )
    script: NonEmpty | None = Field(
        default=None, description="Shell script run at boot, before kubelet starts."
    )


class NodeClass(ConfigModel):
    """One Karpenter EC2NodeClass: AMI, IAM, network, storage and boot settings."""

    name: DnsSubdomain = Field(default=d.NODECLASS_NAME, description="EC2NodeClass name.")
    ami: AmiSelection = Field(
        default_factory=lambda: AmiSelection.model_validate({"alias": d.AMI_ALIAS}),
        description="AMI selection (default: the AL2023 alias).",
    )
    role: NonEmpty | None = Field(
        default=None, description="Node IAM role (default: KarpenterNodeRole-<clusterName>)."
    )
    instance_profile: NonEmpty | None = Field(
        default=None, description="Pre-made instance profile, instead of role."
    )
    subnet_selector_tags: dict[NonEmpty, NonEmpty] | None = Field(
        default=None, description="Subnet tags (default: karpenter.sh/discovery=<clusterName>)."
    )
    security_group_selector_tags: dict[NonEmpty, NonEmpty] | None = Field(
        default=None, description="Security group tags (default: the discovery tag)."
    )
    instance_store_policy: Literal["RAID0"] | None = Field(
        default="RAID0", description="RAID0 the local NVMe disks for kubelet and containerd."
    )
    root_volume: RootVolume = Field(default_factory=RootVolume, description="Root EBS volume.")
    metadata_options: MetadataOptions = Field(
        default_factory=MetadataOptions, description="IMDS settings (IMDSv2, hop limit 1)."
    )
    kubelet: Kubelet | None = Field(
        default=None, description="Kubelet settings Karpenter sizes nodes with, e.g. {maxPods: 58}."
    )
    user_data: UserData = Field(default_factory=UserData, description="Boot-time configuration.")
    tags: dict[NonEmpty, str] = Field(default_factory=dict, description="Extra EC2 tags.")


__all__ = [
    "AmiSelection",
    "EvictionSignal",
    "Kubelet",
    "MetadataOptions",
    "NodeClass",
    "ReservedKey",
    "RootVolume",
    "UserData",
]
