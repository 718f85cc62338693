"""What a lint rule is: a stable id (part of the JSON contract), a severity and a check.

Severity policy: ``error`` when the manifests as written leave GPU pods unschedulable or GPU
nodes without ``nvidia.com/gpu`` (or the API server would refuse them); ``warning`` for cost,
security and hygiene; ``info`` for what is merely worth knowing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding, Severity, object_ref

CheckFn = Callable[[ManifestSet], Iterable[Finding]]
RuleId = Literal[
    "gpu-pool-untainted",
    "device-plugin-untolerated-taint",
    "device-plugin-crashloop-cpu-nodes",
    "workload-selector-unsatisfiable",
    "gpu-limit-missing",
    "raid0-without-instance-store",
    "non-nvidia-gpu-family",
    "fractional-gpu-family",
    "cuda-arch-unsupported",
    "ami-unpinned",
    "arch-mismatch",
    "imds-exposed",
    "root-volume-small",
    "gpu-request-not-limit",
    "legacy-gpu-family",
    "requirement-matches-nothing",
    "al2023-bootstrap-sh",
    "raid0-user-data-conflict",
    "nodeconfig-kubelet-conflict",
    "gpu-limit-first-pass",
    "node-overlay-feature-gate",
]
"""The lint rule ids: part of the JSON contract, never renamed (mypy checks each rule's)."""
RULE_IDS: tuple[RuleId, ...] = get_args(RuleId)


@dataclass(frozen=True)
class Rule:
    """One GPU lint rule; ``check`` yields every finding it has for a manifest set."""

    id: RuleId
    severity: Severity
    summary: str
    check: CheckFn

    def finding(self, obj: dict[str, Any], path: str, message: str, fix: str) -> Finding:
        """A finding of this rule about ``obj`` at ``path``."""
        return Finding(self.id, self.severity, object_ref(obj), path, message, fix)


__all__ = ["RULE_IDS", "CheckFn", "Rule", "RuleId"]
