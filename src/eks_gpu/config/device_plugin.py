"""The ``devicePlugin`` section of ``eks-gpu.yaml``: the NVIDIA device plugin and GPU sharing.

Without the plugin no node advertises ``nvidia.com/gpu`` and no GPU pod schedules, so it is
rendered by default; sharing (time-slicing) changes what each node advertises.
"""

from __future__ import annotations

from pydantic import Field

from eks_gpu.config import defaults as d
from eks_gpu.config.base import ConfigModel
from eks_gpu.config.fields import DnsLabel, DnsSubdomain, NonEmpty, SemverTag


class TimeSlicing(ConfigModel):
    """Share each GPU between pods by time (no memory or fault isolation)."""

    replicas: int = Field(ge=2, le=1024, description="Advertised GPUs per physical GPU.")
    rename_by_default: bool = Field(
        default=False, description="Advertise nvidia.com/gpu.shared instead of nvidia.com/gpu."
    )
    fail_requests_greater_than_one: bool = Field(
        default=False, description="Reject pods asking for more than one shared GPU."
    )


class Sharing(ConfigModel):
    """GPU sharing strategies of the device plugin."""

    time_slicing: TimeSlicing | None = Field(default=None, description="Time-slicing.")


class DevicePlugin(ConfigModel):
    """The NVIDIA device plugin DaemonSet, which advertises nvidia.com/gpu."""

    enabled: bool = Field(default=True, description="Render the device plugin.")
    version: SemverTag = Field(
        default=d.DEVICE_PLUGIN_VERSION,
        description=f"Plugin release; {d.DEVICE_PLUGIN_GUIDE_VERSION} reproduces the guide.",
    )
    image: NonEmpty | None = Field(
        default=None, description="Image override (default: nvcr.io/...:<version>)."
    )
    namespace: DnsLabel = Field(
        default=d.DEVICE_PLUGIN_NAMESPACE, description="Namespace (guide: kube-system)."
    )
    priority_class_name: DnsSubdomain = Field(
        default="system-node-critical", description="Keeps the plugin from being preempted."
    )
    sharing: Sharing | None = Field(
        default=None, description="GPU sharing, e.g. {timeSlicing: {replicas: 4}}."
    )
    exclude_node_classes: list[DnsSubdomain] = Field(
        default_factory=list,
        description="EC2NodeClasses to keep the plugin off (e.g. Bottlerocket ones).",
    )


__all__ = ["DevicePlugin", "Sharing", "TimeSlicing"]
