"""Starting configs from the guide's priority list (``eks-gpu init --profile``).

Each profile is the guide's config with a few pool fields changed; the reasons are data,
so ``init`` can write them into the file it generates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eks_gpu.config.loader import config_from_data
from eks_gpu.config.model import GpuConfig


@dataclass(frozen=True)
class Profile:
    """A named set of changes to the guide's first pool."""

    name: str
    summary: str
    pool: dict[str, Any] = field(default_factory=dict)


PROFILES: dict[str, Profile] = {
    "guide": Profile(
        "guide",
        "The guide as written: G4dn/G5/G6/G6e/P3/P4, Spot and On-Demand, WhenEmpty after 30s.",
    ),
    "dev": Profile(
        "dev",
        "Development and testing: g4dn (T4) on Spot, the guide's cheapest choice.",
        {
            "instanceFamilies": ["g4dn"],
            "capacityTypes": ["spot"],
            "limits": {"cpu": "64", "nvidia.com/gpu": "4"},
        },
    ),
    "inference": Profile(
        "inference",
        "Production inference: g5 (A10G) On-Demand; nodes stay 5m after the last pod.",
        {
            "instanceFamilies": ["g5"],
            "capacityTypes": ["on-demand"],
            "limits": {"cpu": "256", "nvidia.com/gpu": "8"},
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m"},
        },
    ),
    "training": Profile(
        "training",
        "Large training: P-family (A100/H100/H200) Spot with On-Demand fallback; p3 (V100) "
        "is legacy (driver R580, CUDA 12.x only): add it back if you need it.",
        {
            "instanceFamilies": ["p4d", "p4de", "p5", "p5e", "p5en"],
            "capacityTypes": ["spot", "on-demand"],
            "limits": {"cpu": "1000", "nvidia.com/gpu": "32"},
        },
    ),
}


def profile_config(name: str, cluster_name: str | None = None) -> GpuConfig:
    """The config of profile ``name`` (a key of :data:`PROFILES`)."""
    profile = PROFILES[name]
    data: dict[str, Any] = {"nodePools": [profile.pool]}
    if cluster_name is not None:
        data["clusterName"] = cluster_name
    return config_from_data(data, source=f"profile {name}")


__all__ = ["PROFILES", "Profile", "profile_config"]
