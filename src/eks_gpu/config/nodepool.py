"""The NodePool side of ``eks-gpu.yaml``: pools, their taints, requirements and disruption.

Field-level rules (types, enums, patterns, ranges) live here; rules that span fields
(references to node classes, operator/value pairs, families vs architectures) live in
:mod:`eks_gpu.config.checks` so each problem can name its exact path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from eks_gpu.config import defaults as d
from eks_gpu.config.base import ConfigModel
from eks_gpu.config.fields import (
    BudgetDuration,
    BudgetNodes,
    Cron,
    DnsSubdomain,
    Duration,
    DurationOrNever,
    LabelValue,
    NonEmpty,
    QualifiedName,
    Quantity,
)
from eks_gpu.names import RESOURCE_NVIDIA_GPU

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
Operator = Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte"]
CapacityType = Literal["spot", "on-demand", "reserved"]
Architecture = Literal["amd64", "arm64"]


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


class Taint(ConfigModel):
    """A node taint; GPU pools are tainted so only pods that tolerate it land there."""

    key: QualifiedName = Field(description="Taint key, e.g. nvidia.com/gpu.")
    value: LabelValue | None = Field(default=None, description="Taint value (optional).")
    effect: TaintEffect = Field(description="NoSchedule, PreferNoSchedule or NoExecute.")


def guide_taint() -> Taint:
    """The guide's taint, ``nvidia.com/gpu=true:NoSchedule``."""
    return Taint.model_validate(
        {"key": d.GPU_TAINT_KEY, "value": d.GPU_TAINT_VALUE, "effect": d.GPU_TAINT_EFFECT}
    )


class Requirement(ConfigModel):
    """An extra NodePool requirement, exactly as Karpenter spells it."""

    key: QualifiedName = Field(description="Label key, e.g. karpenter.k8s.aws/instance-size.")
    operator: Operator = Field(description="In, NotIn, Exists, DoesNotExist, Gt, Lt, Gte, Lte.")
    values: list[LabelValue] = Field(default_factory=list, description="Values for the operator.")
    min_values: int | None = Field(
        default=None, ge=1, le=50, description="Karpenter minValues (flexibility floor)."
    )


class Budget(ConfigModel):
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


class Disruption(ConfigModel):
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


class NodePool(ConfigModel):
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
        default_factory=lambda: {"cpu": d.CPU_LIMIT, RESOURCE_NVIDIA_GPU: d.GPU_LIMIT},
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


__all__ = [
    "Architecture",
    "Budget",
    "CapacityType",
    "Disruption",
    "NodePool",
    "Operator",
    "Requirement",
    "Taint",
    "TaintEffect",
    "guide_taint",
]
