"""The steps of ``verify``, in the guide's order, and what one step's outcome holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from eks_gpu.errors import UsageError

Status = Literal["passed", "failed", "not-run"]
STEPS = ("objects", "device-plugin", "nodes", "simple", "pytorch", "nvme")
"""Guide step 1 (NodePool, EC2NodeClass), step 2 (device plugin), step 3 (GPU nodes), then its
three test pods: nvidia-smi, PyTorch, GPU + local NVMe."""
POD_STEPS = ("simple", "pytorch", "nvme")


@dataclass(frozen=True)
class StepResult:
    """One step: passed, failed or not run, a one-line summary, the evidence, the figures."""

    step: str
    status: Status
    summary: str
    details: tuple[str, ...] = ()
    figures: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "status": self.status,
            "summary": self.summary,
            "details": list(self.details),
            "figures": dict(self.figures),
        }


def passed(step: str, summary: str, details: Iterable[str] = (), **figures: Any) -> StepResult:
    return StepResult(step, "passed", summary, tuple(details), figures)


def failed(step: str, summary: str, details: Iterable[str] = (), **figures: Any) -> StepResult:
    return StepResult(step, "failed", summary, tuple(details), figures)


def not_run(step: str, why: str) -> StepResult:
    return StepResult(step, "not-run", why)


def parse_only(values: Iterable[str]) -> tuple[str, ...]:
    """``--only`` names, in the guide's order; an unknown name is a usage error naming it."""
    wanted = [v.strip() for value in values for v in value.split(",") if v.strip()]
    unknown = sorted(set(wanted) - set(STEPS))
    if unknown:
        raise UsageError(
            f"--only: unknown step {', '.join(unknown)}", hint=f"steps are: {', '.join(STEPS)}"
        )
    chosen = set(wanted) or set(STEPS)
    return tuple(step for step in STEPS if step in chosen)


__all__ = [
    "POD_STEPS",
    "STEPS",
    "Status",
    "StepResult",
    "failed",
    "not_run",
    "parse_only",
    "passed",
]
