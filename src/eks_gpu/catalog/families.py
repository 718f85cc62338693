"""GPU instance families, derived from the GPU instance catalog.

The config checks families against this (unknown, AMD, wrong architecture); the renderer
and the lint rules ask which families have local NVMe for RAID0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from eks_gpu.catalog.gpu_types import GpuInstanceType, gpu_instance_types

LocalNvme = Literal["all", "some", "none"]


@dataclass(frozen=True)
class GpuFamily:
    """One EC2 GPU instance family, e.g. ``g5``."""

    name: str
    gpu_manufacturer: str
    gpu_name: str
    architectures: tuple[str, ...]
    instance_types: tuple[str, ...]
    fractional_gpu: bool
    local_nvme: LocalNvme

    @property
    def is_nvidia(self) -> bool:
        """True when pods see this family's GPUs as ``nvidia.com/gpu``."""
        return self.gpu_manufacturer == "nvidia"


def _coverage(flags: set[bool]) -> LocalNvme:
    return "all" if flags == {True} else "none" if flags == {False} else "some"


def _family(name: str, rows: list[GpuInstanceType]) -> GpuFamily:
    return GpuFamily(
        name=name,
        gpu_manufacturer=rows[0].gpu_manufacturer,
        gpu_name=rows[0].gpu_name,
        architectures=tuple(sorted({row.architecture for row in rows})),
        instance_types=tuple(row.instance_type for row in rows),
        fractional_gpu=any(row.gpu_count == 0 for row in rows),
        local_nvme=_coverage({row.local_nvme_count > 0 for row in rows}),
    )


@cache
def gpu_families() -> dict[str, GpuFamily]:
    """Every known GPU family by name, in name order."""
    by_family: dict[str, list[GpuInstanceType]] = {}
    for row in gpu_instance_types():
        by_family.setdefault(row.family, []).append(row)
    return {name: _family(name, by_family[name]) for name in sorted(by_family)}


__all__ = ["GpuFamily", "LocalNvme", "gpu_families"]
