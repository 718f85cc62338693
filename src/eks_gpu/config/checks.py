"""Rules that span fields of a valid-typed config, each naming the exact path it breaks.

pydantic has already checked types, enums and patterns; here we check what only makes
sense across fields: references between pools and node classes, unique names, operator
and value pairs, families against the catalog and the pool's architectures.
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.catalog.families import gpu_families
from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.nodeclass import NodeClass
from eks_gpu.config.nodepool import NodePool, Requirement
from eks_gpu.errors import Problem
from eks_gpu.names import (
    GROUP_KARPENTER,
    GROUP_KARPENTER_AWS,
    LABEL_ARCH,
    LABEL_CAPACITY_TYPE,
    LABEL_EC2NODECLASS,
    LABEL_GPU_MANUFACTURER,
    LABEL_HOSTNAME,
    LABEL_INSTANCE_FAMILY,
    LABEL_NODECLAIM,
    LABEL_NODEPOOL,
    LABEL_OS,
    PREFIX_AWS,
    PREFIX_KARPENTER,
    TAG_EKS_CLUSTER_NAME,
    TAG_PREFIX_KUBERNETES_CLUSTER,
)
from eks_gpu.spelling import did_you_mean

# Keys that dedicated pool fields own; a second source for them would only confuse.
OWNED_KEYS = {
    LABEL_INSTANCE_FAMILY: "instanceFamilies",
    LABEL_CAPACITY_TYPE: "capacityTypes",
    LABEL_ARCH: "architectures",
    LABEL_OS: "(always linux)",
    LABEL_GPU_MANUFACTURER: "(always nvidia)",
}
RESTRICTED_KEYS = {LABEL_NODEPOOL, LABEL_HOSTNAME}
# Karpenter v1.14.1 NodePool CEL rules: in these domains only the listed keys may be used.
ALLOWED_IN_DOMAIN = {
    GROUP_KARPENTER: {LABEL_CAPACITY_TYPE},
    GROUP_KARPENTER_AWS: {
        f"{PREFIX_AWS}{name}"
        for name in (
            "instance-tenancy", "capacity-reservation-type", "capacity-reservation-id",
            "capacity-reservation-interruptible", "ec2nodeclass",
            "instance-encryption-in-transit-supported", "instance-category",
            "instance-hypervisor", "instance-family", "instance-generation",
            "instance-local-nvme", "instance-size", "instance-cpu", "instance-cpu-manufacturer",
            "instance-cpu-sustained-clock-speed-mhz", "instance-memory", "instance-ebs-bandwidth",
            "instance-network-bandwidth", "instance-gpu-name", "instance-gpu-manufacturer",
            "instance-gpu-count", "instance-gpu-memory", "instance-accelerator-name",
            "instance-accelerator-manufacturer", "instance-accelerator-count",
            "instance-capability-flex", "placement-group-id", "placement-group-partition",
        )
    },
}  # fmt: skip
RESTRICTED_TAGS = (TAG_EKS_CLUSTER_NAME, LABEL_NODEPOOL, LABEL_NODECLAIM)
RESTRICTED_TAG_PREFIXES = (TAG_PREFIX_KUBERNETES_CLUSTER, LABEL_EC2NODECLASS)
NUMERIC_OPERATORS = {"Gt", "Lt", "Gte", "Lte"}


def restricted_key_reason(key: str) -> str | None:
    """Why Karpenter refuses ``key`` as a NodePool label or requirement key, or None."""
    if key in RESTRICTED_KEYS:
        return f"{key!r} is restricted by Karpenter"
    domain = key.split("/")[0] if "/" in key else ""
    for restricted, allowed in ALLOWED_IN_DOMAIN.items():
        if domain.endswith(restricted) and key not in allowed:
            return f"the {restricted!r} domain is restricted by Karpenter to its well-known keys"
    return None


def _duplicates(names: list[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield index, name
        seen.add(name)


def _family_problems(pool: NodePool, path: str) -> Iterator[Problem]:
    families = gpu_families()
    known = sorted(families)
    for index, name in enumerate(pool.instance_families):
        where = f"{path}.instanceFamilies[{index}]"
        family = families.get(name)
        if family is None:
            yield Problem(
                where,
                f"unknown GPU instance family {name!r}{did_you_mean(name, known)}; "
                f"known: {', '.join(known)}",
            )
        elif not family.is_nvidia:
            yield Problem(
                where,
                f"{name!r} has {family.gpu_manufacturer.upper()} GPUs ({family.gpu_name}), which "
                "never provide nvidia.com/gpu; remove it (eks-gpu pools are NVIDIA pools)",
            )
        elif not set(family.architectures) & set(pool.architectures):
            yield Problem(
                where,
                f"{name!r} is {'/'.join(family.architectures)} only, but architectures is "
                f"{pool.architectures}; add {family.architectures[0]!r} to architectures "
                "or drop the family",
            )


def _requirement_problem(requirement: Requirement) -> str | None:
    """What is wrong with one requirement's operator/values, or None."""
    op, values = requirement.operator, requirement.values
    if op in ("In", "NotIn") and not values:
        return f"operator {op} needs at least one value"
    if op in ("Exists", "DoesNotExist") and values:
        return f"operator {op} takes no values, got {values}"
    if op in NUMERIC_OPERATORS and (len(values) != 1 or not values[0].isdigit()):
        return f"operator {op} needs exactly one non-negative integer value, got {values}"
    if requirement.min_values is not None:
        if op != "In":
            return "minValues is only meaningful with operator In"
        if len(values) < requirement.min_values:
            return f"minValues is {requirement.min_values} but only {len(values)} values are listed"
    return None


def _requirement_problems(pool: NodePool, path: str) -> Iterator[Problem]:
    for index, requirement in enumerate(pool.requirements):
        where = f"{path}.requirements[{index}]"
        key = requirement.key
        restricted = restricted_key_reason(key)
        if key in OWNED_KEYS:
            yield Problem(f"{where}.key", f"{key!r} is set by {OWNED_KEYS[key]}; use that field")
        elif restricted:
            yield Problem(f"{where}.key", f"{restricted}; remove it")
        problem = _requirement_problem(requirement)
        if problem:
            yield Problem(f"{where}.values", problem)


def _label_problems(pool: NodePool, path: str) -> Iterator[Problem]:
    for key in pool.labels:
        restricted = restricted_key_reason(key)
        if restricted or key == LABEL_CAPACITY_TYPE:
            reason = restricted or "set capacityTypes instead"
            yield Problem(f"{path}.labels[{key}]", f"label {key!r}: {reason}")


def _budget_problems(pool: NodePool, path: str) -> Iterator[Problem]:
    for index, budget in enumerate(pool.disruption.budgets or []):
        if (budget.schedule is None) != (budget.duration is None):
            yield Problem(
                f"{path}.disruption.budgets[{index}]",
                "'schedule' must be set with 'duration' (and the other way round)",
            )


def _limit_problems(pool: NodePool, path: str) -> Iterator[Problem]:
    for key, value in pool.limits.items():
        if key == "nodes" and not value.isdigit():
            yield Problem(f"{path}.limits[nodes]", f"must be a whole number of nodes, got {value}")


def _pool_problems(config: GpuConfig, pool: NodePool, path: str) -> Iterator[Problem]:
    class_names = list(dict.fromkeys(node_class.name for node_class in config.node_classes))
    if pool.node_class not in class_names:
        yield Problem(
            f"{path}.nodeClass",
            f"no nodeClasses entry is named {pool.node_class!r}"
            f"{did_you_mean(pool.node_class, class_names)}; defined: {', '.join(class_names)}",
        )
    if not pool.taints:
        yield Problem(
            f"{path}.taints",
            "a GPU pool needs at least one taint, or CPU pods will land on GPU nodes; "
            "use the guide's nvidia.com/gpu=true:NoSchedule",
        )
    for field, taints in (("taints", pool.taints), ("startupTaints", pool.startup_taints)):
        for index, taint in enumerate(taints):
            if taint.key.startswith(PREFIX_KARPENTER):
                yield Problem(
                    f"{path}.{field}[{index}].key", f"{PREFIX_KARPENTER} taints are Karpenter's own"
                )
    yield from _family_problems(pool, path)
    yield from _requirement_problems(pool, path)
    yield from _label_problems(pool, path)
    yield from _budget_problems(pool, path)
    yield from _limit_problems(pool, path)


def _node_class_problems(node_class: NodeClass, path: str) -> Iterator[Problem]:
    if node_class.role and node_class.instance_profile:
        yield Problem(f"{path}.instanceProfile", "set role or instanceProfile, not both")
    ami = node_class.ami
    if (ami.alias is None) == (ami.name is None):
        yield Problem(f"{path}.ami", "set exactly one of alias or name")
    if ami.owner is not None and ami.name is None:
        yield Problem(f"{path}.ami.owner", "owner only applies with name")
    for key in node_class.tags:
        if key in RESTRICTED_TAGS or key.startswith(RESTRICTED_TAG_PREFIXES):
            yield Problem(f"{path}.tags[{key}]", f"tag {key!r} is set by Karpenter itself")
    kubelet = node_class.kubelet
    if (
        kubelet
        and kubelet.image_gc_high_threshold_percent is not None
        and kubelet.image_gc_low_threshold_percent is not None
        and kubelet.image_gc_high_threshold_percent <= kubelet.image_gc_low_threshold_percent
    ):
        yield Problem(
            f"{path}.kubelet.imageGCHighThresholdPercent",
            "must be greater than imageGCLowThresholdPercent",
        )


def config_problems(config: GpuConfig) -> list[Problem]:
    """Every cross-field problem of ``config``, in document order."""
    problems: list[Problem] = []
    for index, name in _duplicates([nc.name for nc in config.node_classes]):
        problems.append(Problem(f"nodeClasses[{index}].name", f"duplicate name {name!r}"))
    for index, node_class in enumerate(config.node_classes):
        problems.extend(_node_class_problems(node_class, f"nodeClasses[{index}]"))
    for index, name in _duplicates([pool.name for pool in config.node_pools]):
        problems.append(Problem(f"nodePools[{index}].name", f"duplicate name {name!r}"))
    for index, pool in enumerate(config.node_pools):
        problems.extend(_pool_problems(config, pool, f"nodePools[{index}]"))
    pool_names = [pool.name for pool in config.node_pools]
    if config.tests.node_pool is not None and config.tests.node_pool not in pool_names:
        problems.append(
            Problem(
                "tests.nodePool",
                f"no nodePools entry is named {config.tests.node_pool!r}; "
                f"defined: {', '.join(pool_names)}",
            )
        )
    return problems


__all__ = ["config_problems", "restricted_key_reason"]
