"""``eks-gpu.yaml``: the typed config, whose defaults reproduce the guide.

Field-level rules (types, enums, patterns, ranges) live here; rules that span fields
(references between objects, operator/value pairs, family vs architecture) live in
:mod:`eks_gpu.config.checks` so each problem can name its exact path. Keys are camelCase,
like the Kubernetes objects they become; unknown keys are errors (``extra="forbid"``).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from eks_gpu.config import defaults as d
from eks_gpu.config.fields import (
    Al2023Alias,
    BudgetDuration,
    BudgetNodes,
    ClusterName,
    Cron,
    DnsLabel,
    DnsSubdomain,
    Duration,
    DurationOrNever,
    EbsVolumeSize,
    LabelValue,
    NonEmpty,
    QualifiedName,
    Quantity,
    SemverTag,
)

API_VERSION: Final = "eks-gpu/v1alpha1"
KIND: Final = "GpuConfig"

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
Operator = Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte"]
CapacityType = Literal["spot", "on-demand", "reserved"]
Architecture = Literal["amd64", "arm64"]
ReservedKey = Literal["cpu", "memory", "ephemeral-storage", "pid"]
EvictionSignal = Literal[
    "memory.available",
    "nodefs.available",
    "nodefs.inodesFree",
    "imagefs.available",
    "imagefs.inodesFree",
    "pid.available",
]


def _int_to_str(value: Any) -> Any:
    """Let users write ``16`` for a quantity, as Kubernetes does (int-or-string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _default_capacity_types() -> list[CapacityType]:
    return list(d.CAPACITY_TYPES)


def _default_architectures() -> list[Architecture]:
    return list(d.ARCHITECTURES)


LimitQuantity = Annotated[Quantity, BeforeValidator(_int_to_str)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )


class Taint(_Model):
    """A node taint; GPU pools are tainted so only pods that tolerate it land there."""

    key: QualifiedName = Field(description="Taint key, e.g. nvidia.com/gpu.")
    value: LabelValue | None = Field(default=None, description="Taint value (optional).")
    effect: TaintEffect = Field(description="NoSchedule, PreferNoSchedule or NoExecute.")


def guide_taint() -> Taint:
    """The guide's taint, ``nvidia.com/gpu=true:NoSchedule``."""
    return Taint.model_validate(
        {"key": d.GPU_TAINT_KEY, "value": d.GPU_TAINT_VALUE, "effect": d.GPU_TAINT_EFFECT}
    )


class Requirement(_Model):
    """An extra NodePool requirement, exactly as Karpenter spells it."""

    key: QualifiedName = Field(description="Label key, e.g. karpenter.k8s.aws/instance-size.")
    operator: Operator = Field(description="In, NotIn, Exists, DoesNotExist, Gt, Lt, Gte, Lte.")
    values: list[LabelValue] = Field(default_factory=list, description="Values for the operator.")
    min_values: int | None = Field(
        default=None, ge=1, le=50, description="Karpenter minValues (flexibility floor)."
    )


class Budget(_Model):
    """A Karpenter disruption budget."""

    nodes: BudgetNodes = Field(
        default="10%", description="How many nodes may be disrupted at once: '10%' or '1'."
    )
    reasons: list[Literal["Underutilized", "Empty", "Drifted"]] | None = Field(
        default=None, description="Disruption reasons this budget applies to (all if unset)."
    )
    schedule: Cron | None = Field(
        default=None, description="When the budget starts (cron or '@daily'); needs duration."
    )
    duration: BudgetDuration | None = Field(
        default=None, description="How long the scheduled budget is active, e.g. '8h'."
    )


class Disruption(_Model):
    """When Karpenter may remove GPU nodes; the guide scales down fast when empty."""

    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"] = Field(
        default=d.CONSOLIDATION_POLICY,
        description="WhenEmpty (guide) never moves running GPU pods; Balanced: Karpenter >= 1.14.",
    )
    consolidate_after: DurationOrNever = Field(
        default=d.CONSOLIDATE_AFTER, description="How long a node must be empty first ('Never')."
    )
    budgets: list[Budget] | None = Field(
        default=None, description="Disruption budgets, e.g. [{nodes: '1'}] (default: 10%)."
    )


class NodePool(_Model):
    """One Karpenter NodePool for GPU nodes."""

    name: DnsSubdomain = Field(default=d.NODEPOOL_NAME, description="NodePool name.")
    node_class: DnsSubdomain = Field(
        default=d.NODECLASS_NAME, description="Name of the nodeClasses entry its nodes use."
    )
    labels: dict[QualifiedName, LabelValue] = Field(
        default_factory=lambda: dict(d.NODE_LABEL),
        description="Labels on every node; GPU pods select them (guide: node-type=gpu).",
    )
    taints: list[Taint] = Field(
        default_factory=lambda: [guide_taint()],
        description="Taints that keep non-GPU pods off (guide: nvidia.com/gpu=true:NoSchedule).",
    )
    startup_taints: list[Taint] = Field(
        default_factory=list, description="Taints another agent removes once the node is ready."
    )
    instance_families: list[NonEmpty] = Field(
        default_factory=lambda: list(d.GUIDE_FAMILIES),
        min_length=1,
        description="EC2 GPU families to launch (guide: G4dn, G5, G6, G6e, P3, P4).",
    )
    capacity_types: list[CapacityType] = Field(
        default_factory=_default_capacity_types,
        min_length=1,
        description="spot, on-demand and/or reserved; Karpenter prefers spot when allowed.",
    )
    architectures: list[Architecture] = Field(
        default_factory=_default_architectures,
        min_length=1,
        description="CPU architectures (g5g is the only arm64 NVIDIA family).",
    )
    requirements: list[Requirement] = Field(
        default_factory=list, description="Extra Karpenter requirements, e.g. instance sizes."
    )
    limits: dict[NonEmpty, LimitQuantity] = Field(
        default_factory=lambda: {"cpu": d.CPU_LIMIT, "nvidia.com/gpu": d.GPU_LIMIT},
        description="Caps on the pool's total resources: spend stops here.",
    )
    disruption: Disruption = Field(
        default_factory=Disruption, description="Consolidation (guide: WhenEmpty after 30s)."
    )
    expire_after: DurationOrNever | None = Field(
        default=None, description="Replace nodes older than this (Karpenter default 720h)."
    )
    termination_grace_period: Duration | None = Field(
        default=None, description="Upper bound on draining a node, e.g. '24h' for long jobs."
    )
    weight: int | None = Field(
        default=None, ge=1, le=100, description="Priority among NodePools (higher first)."
    )


class AmiSelection(_Model):
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


class RootVolume(_Model):
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


class MetadataOptions(_Model):
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


class Kubelet(_Model):
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


class UserData(_Model):
    """AL2023 user data: a nodeadm NodeConfig part and an optional shell script part."""

    kubelet_config: dict[NonEmpty, Any] = Field(
        default_factory=lambda: dict(d.NODECONFIG_KUBELET),
        description="KubeletConfiguration fields for nodeadm (parallel pulls of CUDA images).",
    )
    script: NonEmpty | None = Field(
        default=None, description="Shell script run at boot, before kubelet starts."
    )


class NodeClass(_Model):
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


class TimeSlicing(_Model):
    """Share each GPU between pods by time (no memory or fault isolation)."""

    replicas: int = Field(ge=2, le=1024, description="Advertised GPUs per physical GPU.")
    rename_by_default: bool = Field(
        default=False, description="Advertise nvidia.com/gpu.shared instead of nvidia.com/gpu."
    )
    fail_requests_greater_than_one: bool = Field(
        default=False, description="Reject pods asking for more than one shared GPU."
    )


class Sharing(_Model):
    """GPU sharing strategies of the device plugin."""

    time_slicing: TimeSlicing | None = Field(default=None, description="Time-slicing.")


class DevicePlugin(_Model):
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


class Tests(_Model):
    """The guide's three smoke-test pods."""

    enabled: bool = Field(default=True, description="Render the test pods.")
    namespace: DnsLabel = Field(
        default=d.TESTS_NAMESPACE, description="Their own namespace (Pod Security: restricted)."
    )
    node_pool: DnsSubdomain | None = Field(
        default=None, description="Pool they target (default: the first nodePools entry)."
    )
    cuda_image: NonEmpty = Field(default=d.CUDA_IMAGE, description="Image for nvidia-smi.")
    pytorch_image: NonEmpty = Field(default=d.PYTORCH_IMAGE, description="PyTorch image.")
    deadline_seconds: int = Field(
        default=d.TEST_DEADLINE_SECONDS,
        ge=60,
        le=86400,
        description="activeDeadlineSeconds: a stuck test never holds a GPU node longer.",
    )
    storage_request: Quantity = Field(
        default=d.TEST_STORAGE_REQUEST, description="Local NVMe scratch the storage test asks for."
    )


class GpuConfig(_Model):
    """The whole ``eks-gpu.yaml``."""

    api_version: Literal["eks-gpu/v1alpha1"] = Field(
        default=API_VERSION, description="Config schema version."
    )
    kind: Literal["GpuConfig"] = Field(default=KIND, description="Always GpuConfig.")
    cluster_name: ClusterName | None = Field(
        default=None, description="EKS cluster name (discovery tags, IAM role default)."
    )
    node_classes: list[NodeClass] = Field(
        default_factory=lambda: [NodeClass()], min_length=1, description="EC2NodeClasses."
    )
    node_pools: list[NodePool] = Field(
        default_factory=lambda: [NodePool()], min_length=1, description="GPU NodePools."
    )
    device_plugin: DevicePlugin = Field(
        default_factory=DevicePlugin, description="The NVIDIA device plugin DaemonSet."
    )
    tests: Tests = Field(default_factory=Tests, description="Smoke-test pods.")

    def node_class(self, name: str) -> NodeClass:
        """The node class called ``name`` (references are checked at load time)."""
        for node_class in self.node_classes:
            if node_class.name == name:
                return node_class
        raise KeyError(name)

    def test_pool(self) -> NodePool:
        """The pool the smoke tests target."""
        wanted = self.tests.node_pool or self.node_pools[0].name
        return next(pool for pool in self.node_pools if pool.name == wanted)


__all__ = [
    "API_VERSION",
    "KIND",
    "AmiSelection",
    "Budget",
    "DevicePlugin",
    "Disruption",
    "GpuConfig",
    "Kubelet",
    "MetadataOptions",
    "NodeClass",
    "NodePool",
    "Requirement",
    "RootVolume",
    "Sharing",
    "Taint",
    "Tests",
    "TimeSlicing",
    "UserData",
    "guide_taint",
]
