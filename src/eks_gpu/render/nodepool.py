"""NodePool: the dedicated, tainted, GPU-only pool of the guide."""

from __future__ import annotations

from typing import Any

from eks_gpu.config.nodepool import NodePool, Requirement, Taint
from eks_gpu.names import (
    API_VERSION_NODEPOOL,
    GROUP_KARPENTER_AWS,
    LABEL_ARCH,
    LABEL_CAPACITY_TYPE,
    LABEL_GPU_MANUFACTURER,
    LABEL_INSTANCE_FAMILY,
    LABEL_OS,
)
from eks_gpu.render.metadata import object_meta


def taint_dict(taint: Taint) -> dict[str, str]:
    """A taint as Kubernetes spells it (no empty value)."""
    out = {"key": taint.key}
    if taint.value is not None:
        out["value"] = taint.value
    out["effect"] = taint.effect
    return out


def _requirement(key: str, operator: str, values: list[str]) -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": values}


def _extra_requirement(requirement: Requirement) -> dict[str, Any]:
    out: dict[str, Any] = {"key": requirement.key, "operator": requirement.operator}
    if requirement.values:
        out["values"] = list(requirement.values)
    if requirement.min_values is not None:
        out["minValues"] = requirement.min_values
    return out


def pool_requirements(pool: NodePool) -> list[dict[str, Any]]:
    """The guide's requirements for ``pool``, then the user's extra ones, in that order."""
    return [
        _requirement(LABEL_INSTANCE_FAMILY, "In", list(pool.instance_families)),
        _requirement(LABEL_CAPACITY_TYPE, "In", list(pool.capacity_types)),
        _requirement(LABEL_ARCH, "In", list(pool.architectures)),
        _requirement(LABEL_OS, "In", ["linux"]),
        _requirement(LABEL_GPU_MANUFACTURER, "In", ["nvidia"]),
        *(_extra_requirement(r) for r in pool.requirements),
    ]


def _template_spec(pool: NodePool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "nodeClassRef": {
            "group": GROUP_KARPENTER_AWS,
            "kind": "EC2NodeClass",
            "name": pool.node_class,
        },
        "taints": [taint_dict(t) for t in pool.taints],
    }
    if pool.startup_taints:
        spec["startupTaints"] = [taint_dict(t) for t in pool.startup_taints]
    spec["requirements"] = pool_requirements(pool)
    if pool.expire_after is not None:
        spec["expireAfter"] = pool.expire_after
    if pool.termination_grace_period is not None:
        spec["terminationGracePeriod"] = pool.termination_grace_period
    return spec


def render_nodepool(pool: NodePool) -> dict[str, Any]:
    """The NodePool object for ``pool``."""
    spec: dict[str, Any] = {
        "template": {
            "metadata": {"labels": dict(sorted(pool.labels.items()))},
            "spec": _template_spec(pool),
        },
        "disruption": pool.disruption.model_dump(exclude_none=True),
    }
    if pool.limits:
        spec["limits"] = dict(sorted(pool.limits.items()))
    if pool.weight is not None:
        spec["weight"] = pool.weight
    return {
        "apiVersion": API_VERSION_NODEPOOL,
        "kind": "NodePool",
        "metadata": object_meta(pool.name),
        "spec": spec,
    }


__all__ = ["pool_requirements", "render_nodepool", "taint_dict"]
