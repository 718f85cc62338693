"""What a NodePool can launch, in catalog terms: its instance types and their GPU facts.

A :class:`Pool` is the NodePool object next to its
:class:`~eks_gpu.scheduling.pools.PoolSpec`, the price-free view the simulator's model
gives: requirements as Karpenter builds a NodeClaim's, taints, and the instance types of
the one instance-type model (Karpenter v1.14's list, plus the GPU types it lacks, such as
p3, derived from EC2 facts with Karpenter's formulas) those requirements admit. A pool that
names only types the model lacks launches nothing Karpenter knows, and the rules say so
rather than invent types. ``Pool.spec`` is what :mod:`eks_gpu.scheduling.placement`
takes as a NodePool, so the rules ask "can this pod run here" of the simulator's code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from eks_gpu.catalog.gpu_types import GpuInstanceType, gpu_instance_types
from eks_gpu.manifests import ManifestSet
from eks_gpu.names import PREFIX_NVIDIA
from eks_gpu.scheduling.instance_model import CatalogType
from eks_gpu.scheduling.pools import PoolSpec, pool_spec
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.validate.findings import object_ref

HARD_EFFECTS = ("NoSchedule", "NoExecute")


@cache
def gpu_facts() -> dict[str, GpuInstanceType]:
    """GPU catalog rows by instance type."""
    return {row.instance_type: row for row in gpu_instance_types()}


@lru_cache(maxsize=256)
def _spec_of(nodepool_json: str) -> PoolSpec | None:
    """Cached per NodePool: every rule of one ``validate`` run asks for every pool, and
    admitting types walks the whole catalog."""
    try:
        spec = pool_spec(json.loads(nodepool_json))
    except (ValueError, TypeError):
        return None
    return spec if all(isinstance(taint, dict) for taint in spec.taints) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list_of_dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class Pool:
    """A NodePool object with what it can launch worked out (``spec``)."""

    obj: dict[str, Any] = field(hash=False)
    spec: PoolSpec

    @property
    def requirements(self) -> Requirements:
        """Karpenter's NodeClaim template requirements (spec requirements, template labels
        as ``In``, ``karpenter.sh/nodepool``)."""
        return self.spec.requirements

    @property
    def types(self) -> tuple[CatalogType, ...]:
        """The catalog types the requirements admit, by name."""
        return self.spec.types

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
        return tuple(facts[t.name] for t in self.types if t.name in facts)

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
        gpu_only = len(self.gpu_types) == len(self.types) > 0
        return gpu_only and bool(self.nvidia_types)


def pool_of(nodepool: dict[str, Any]) -> Pool | None:
    """The :class:`Pool` view of one NodePool object; None when its requirements, labels or
    taints cannot be read (the CRD schema and CEL checks report those; the lint rules skip
    the pool)."""
    spec = _spec_of(json.dumps(nodepool, sort_keys=True, default=str))
    return None if spec is None else Pool(nodepool, spec)


def pools_of(manifests: ManifestSet) -> list[Pool]:
    """Every readable NodePool of the set, in input order."""
    return [pool for pool in map(pool_of, manifests.nodepools) if pool is not None]


def families(rows: Iterable[GpuInstanceType]) -> list[str]:
    """The distinct families of ``rows``, sorted."""
    return sorted({row.family for row in rows})


def named_values(pool: Pool, key: str) -> list[str]:
    """The values the pool's requirement on ``key`` lists with ``In``, sorted ([] for any
    other operator): what the user asked for by name, whether Karpenter knows it or not."""
    requirement = pool.requirements.get(key)
    return [] if requirement.complement else sorted(requirement.values)


__all__ = [
    "HARD_EFFECTS",
    "Pool",
    "families",
    "gpu_facts",
    "named_values",
    "pool_of",
    "pools_of",
]
