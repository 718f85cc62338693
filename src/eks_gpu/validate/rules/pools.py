"""What a NodePool can launch, in catalog terms: its instance types and their GPU facts.

Karpenter's v1.14 instance-type list no longer has p3 (it is missing from recent
DescribeInstanceTypes snapshots), yet Karpenter discovers types live and still launches p3
where a region offers it, and the guide's pool asks for it. So the candidates here are the
catalog's instance types plus every GPU catalog row they lack, with the labels Karpenter
would give it built from the GPU catalog's facts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from eks_gpu.catalog.gpu_types import GpuInstanceType, gpu_instance_types
from eks_gpu.catalog.instance_types import InstanceType, all_instance_types
from eks_gpu.manifests import ManifestSet
from eks_gpu.names import (
    LABEL_ARCH,
    LABEL_GPU_COUNT,
    LABEL_GPU_MANUFACTURER,
    LABEL_GPU_MEMORY,
    LABEL_GPU_NAME,
    LABEL_INSTANCE_CATEGORY,
    LABEL_INSTANCE_CPU,
    LABEL_INSTANCE_FAMILY,
    LABEL_INSTANCE_GENERATION,
    LABEL_INSTANCE_LOCAL_NVME,
    LABEL_INSTANCE_MEMORY,
    LABEL_INSTANCE_SIZE,
    LABEL_INSTANCE_TYPE,
    LABEL_OS,
    PREFIX_NVIDIA,
    RESOURCE_NVIDIA_GPU,
)
from eks_gpu.scheduling.labels import instance_types_allowed
from eks_gpu.validate.findings import object_ref

HARD_EFFECTS = ("NoSchedule", "NoExecute")


def _legacy_labels(row: GpuInstanceType) -> dict[str, str]:
    """Karpenter's labels for a GPU type its instance-type list lacks, from the GPU catalog."""
    category = re.match(r"[a-z]+", row.family)
    generation = re.search(r"[0-9]+", row.family)
    labels = {
        LABEL_INSTANCE_FAMILY: row.family,
        LABEL_INSTANCE_CATEGORY: category.group(0) if category else row.family,
        LABEL_INSTANCE_GENERATION: generation.group(0) if generation else "",
        LABEL_INSTANCE_SIZE: row.instance_type.partition(".")[2],
        LABEL_INSTANCE_CPU: str(row.vcpu),
        LABEL_INSTANCE_MEMORY: str(row.memory_mib),
        LABEL_GPU_COUNT: str(row.gpu_count),
        LABEL_GPU_MANUFACTURER: row.gpu_manufacturer,
        LABEL_GPU_NAME: row.gpu_name,
        LABEL_GPU_MEMORY: str(row.gpu_memory_mib),
        LABEL_ARCH: row.architecture,
        LABEL_OS: "linux",
        LABEL_INSTANCE_TYPE: row.instance_type,
    }
    if row.local_nvme_gb:
        labels[LABEL_INSTANCE_LOCAL_NVME] = str(row.local_nvme_gb)
    return labels


def _legacy_type(row: GpuInstanceType) -> InstanceType:
    resource = (
        RESOURCE_NVIDIA_GPU
        if row.gpu_manufacturer == "nvidia"
        else f"{row.gpu_manufacturer}.com/gpu"
    )
    resources = {resource: str(row.gpu_count)} if row.gpu_count else {}
    return InstanceType(row.instance_type, _legacy_labels(row), resources, row.price_per_hour)


@cache
def candidate_types() -> tuple[InstanceType, ...]:
    """Every instance type a NodePool could launch: the catalog plus legacy GPU types."""
    catalog = all_instance_types()
    legacy = [_legacy_type(row) for row in gpu_instance_types() if row.instance_type not in catalog]
    return (*catalog.values(), *legacy)


@cache
def gpu_facts() -> dict[str, GpuInstanceType]:
    """GPU catalog rows by instance type."""
    return {row.instance_type: row for row in gpu_instance_types()}


@lru_cache(maxsize=256)
def _allowed_names(nodepool_json: str) -> tuple[str, ...]:
    nodepool = json.loads(nodepool_json)
    return tuple(it.name for it in instance_types_allowed(nodepool, candidate_types()))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list_of_dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class Pool:
    """A NodePool object with what it can launch worked out."""

    obj: dict[str, Any]
    instance_types: tuple[InstanceType, ...]

    @property
    def ref(self) -> str:
        """``NodePool/name``."""
        return object_ref(self.obj)

    @property
    def template_spec(self) -> dict[str, Any]:
        """``spec.template.spec`` (empty when absent)."""
        return _dict(_dict(_dict(self.obj.get("spec")).get("template")).get("spec"))

    @property
    def taints(self) -> list[dict[str, Any]]:
        """``spec.template.spec.taints`` (startup taints are not counted)."""
        return _list_of_dicts(self.template_spec.get("taints"))

    @property
    def hard_taints(self) -> list[dict[str, Any]]:
        """Taints that keep pods away (NoSchedule, NoExecute)."""
        return [t for t in self.taints if t.get("effect") in HARD_EFFECTS]

    @property
    def limits(self) -> dict[str, Any]:
        """``spec.limits`` (empty when absent)."""
        return _dict(_dict(self.obj.get("spec")).get("limits"))

    @property
    def node_class(self) -> str | None:
        """The EC2NodeClass the pool's nodes use, by name."""
        ref = _dict(self.template_spec.get("nodeClassRef"))
        if ref.get("kind", "EC2NodeClass") != "EC2NodeClass" or not ref.get("name"):
            return None
        return str(ref["name"])

    @property
    def gpu_types(self) -> tuple[GpuInstanceType, ...]:
        """The GPU catalog rows of the instance types it can launch."""
        facts = gpu_facts()
        return tuple(facts[it.name] for it in self.instance_types if it.name in facts)

    @property
    def can_launch_gpus(self) -> bool:
        """True when it can launch any GPU instance type (NVIDIA or not)."""
        return bool(self.gpu_types)

    @property
    def nvidia_types(self) -> tuple[GpuInstanceType, ...]:
        """Allowed types with NVIDIA GPUs (fractional ones included)."""
        return tuple(row for row in self.gpu_types if row.gpu_manufacturer == "nvidia")

    @property
    def feeds_nvidia_pods(self) -> bool:
        """True when the pool is meant for ``nvidia.com/gpu`` pods.

        Its taints or limits name an ``nvidia.com/`` resource, or it launches only GPU types
        and NVIDIA ones among them (a general-purpose pool that merely allows GPU types is not).
        """
        keys = [str(t.get("key", "")) for t in self.taints] + list(self.limits)
        if any(key.startswith(PREFIX_NVIDIA) for key in keys):
            return True
        gpu_only = len(self.gpu_types) == len(self.instance_types) > 0
        return gpu_only and bool(self.nvidia_types)


def pool_of(nodepool: dict[str, Any]) -> Pool:
    """The :class:`Pool` view of one NodePool object."""
    names = set(_allowed_names(json.dumps(nodepool, sort_keys=True, default=str)))
    return Pool(nodepool, tuple(it for it in candidate_types() if it.name in names))


def pools_of(manifests: ManifestSet) -> list[Pool]:
    """Every NodePool of the set, in input order."""
    return [pool_of(nodepool) for nodepool in manifests.nodepools]


def families(rows: Iterable[GpuInstanceType]) -> list[str]:
    """The distinct families of ``rows``, sorted."""
    return sorted({row.family for row in rows})


def format_taint(taint: Mapping[str, Any]) -> str:
    """``key=value:Effect`` (``key:Effect`` without a value), as kubectl prints taints."""
    value = taint.get("value")
    return f"{taint.get('key')}{'=' + str(value) if value else ''}:{taint.get('effect')}"


__all__ = [
    "HARD_EFFECTS",
    "Pool",
    "candidate_types",
    "families",
    "format_taint",
    "gpu_facts",
    "pool_of",
    "pools_of",
]
