"""Starting configs from the guide's priority list (``eks-gpu init --profile``).

Each profile is the guide's config with a few pool fields changed; the reasons are data,
so ``init`` can write them into the file it generates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eks_gpu.catalog.advice import guide_advice
from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.parse import config_from_data
from eks_gpu.names import RESOURCE_NVIDIA_GPU


@dataclass(frozen=True)
class Profile:
    """A named set of changes to the guide's first pool."""

    name: str
    summary: str
    pool: dict[str, Any] = field(default_factory=dict)


# Pool changes beyond the advice's families and capacity types (limits, disruption).
_EXTRA: dict[str, dict[str, Any]] = {
    "dev": {"limits": {"cpu": "64", RESOURCE_NVIDIA_GPU: "4"}},
    "inference": {
        "limits": {"cpu": "256", RESOURCE_NVIDIA_GPU: "8"},
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m"},
    },
    "training": {"limits": {"cpu": "1000", RESOURCE_NVIDIA_GPU: "32"}},
}


def _profiles() -> dict[str, Profile]:
    """The guide profile, then one per workload of the guide's priority list."""
    profiles = {
        "guide": Profile(
            "guide",
            "The guide as written: G4dn/G5/G6/G6e/P3/P4, Spot and On-Demand, WhenEmpty after 30s.",
        )
    }
    for workload, advice in guide_advice().items():
        pool = {
            "instanceFamilies": list(advice.families),
            "capacityTypes": list(advice.capacity_types),
            **_EXTRA[workload],
        }
        profiles[workload] = Profile(workload, advice.summary, pool)
    return profiles


PROFILES: dict[str, Profile] = _profiles()


def profile_config(name: str, cluster_name: str | None = None) -> GpuConfig:
    """The config of profile ``name`` (a key of :data:`PROFILES`)."""
    profile = PROFILES[name]
    data: dict[str, Any] = {"nodePools": [profile.pool]}
    if cluster_name is not None:
        data["clusterName"] = cluster_name
    return config_from_data(data, source=f"profile {name}")


__all__ = ["PROFILES", "Profile", "profile_config"]
