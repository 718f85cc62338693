"""A diagnosis: one problem on one object, the evidence it rests on, and the fix.

``Diagnosis.as_json()`` is the JSON contract of ``eks-gpu doctor -o json``: exactly the keys
``id``, ``severity``, ``subject``, ``summary``, ``evidence``, ``fix``; the ids are
:data:`RuleId` and part of that contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
RuleId = Literal[
    "device-plugin-missing",
    "device-plugin-untolerated-taint",
    "device-plugin-not-ready",
    "device-plugin-nvml-failure",
    "device-plugin-waiting",
    "duplicate-device-plugin",
    "gpu-not-registered",
    "gpu-unhealthy",
    "nodeclaim-launch-failed",
    "nodeclass-not-ready",
    "nodepool-gpu-limit-reached",
    "pending-gpu-pod",
    "isolation-violated",
    "idle-gpus",
    "startup-taint-undeclared",
    "cuda-not-ready",
]


@dataclass(frozen=True)
class Diagnosis:
    """What a rule found about ``subject`` (``Node/ip-10-0-1-2``, ``Pod/ns/name``)."""

    id: RuleId
    severity: Severity
    subject: str
    summary: str
    evidence: tuple[str, ...]
    fix: str

    def as_json(self) -> dict[str, Any]:
        """The object of the JSON contract."""
        return {
            "id": self.id,
            "severity": self.severity,
            "subject": self.subject,
            "summary": self.summary,
            "evidence": list(self.evidence),
            "fix": self.fix,
        }


def sort_diagnoses(found: Iterable[Diagnosis]) -> list[Diagnosis]:
    """Worst first, then by subject and rule, so output is stable."""
    return sorted(found, key=lambda d: (SEVERITY_ORDER[d.severity], d.subject, d.id, d.summary))


__all__ = ["SEVERITY_ORDER", "Diagnosis", "RuleId", "Severity", "sort_diagnoses"]
