"""The guide's priority list, in one place: ``init`` profiles and ``recommend`` read it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from eks_gpu.catalog.instance_types import read_data_file

Workload = Literal["dev", "inference", "training"]
WORKLOADS: tuple[Workload, ...] = ("dev", "inference", "training")


@dataclass(frozen=True)
class WorkloadAdvice:
    """What the guide recommends for one kind of workload."""

    workload: Workload
    summary: str
    guide_choice: str
    families: tuple[str, ...]
    capacity_types: tuple[str, ...]
    advice: str


@cache
def guide_advice() -> dict[Workload, WorkloadAdvice]:
    """Advice by workload, from ``data/guide_advice.json``."""
    raw = read_data_file("guide_advice.json")["workloads"]
    return {
        name: WorkloadAdvice(
            workload=name,
            summary=raw[name]["summary"],
            guide_choice=raw[name]["guide_choice"],
            families=tuple(raw[name]["families"]),
            capacity_types=tuple(raw[name]["capacity_types"]),
            advice=raw[name]["advice"],
        )
        for name in WORKLOADS
    }


__all__ = ["WORKLOADS", "Workload", "WorkloadAdvice", "guide_advice"]
