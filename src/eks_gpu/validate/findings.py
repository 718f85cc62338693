"""A finding: one thing wrong (or worth knowing) about one object, with the fix.

``Finding.as_json()`` is the JSON contract of ``eks-gpu validate -o json``: exactly the keys
``rule``, ``severity``, ``object``, ``path``, ``message``, ``fix``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


def object_ref(obj: dict[str, Any]) -> str:
    """``Kind/name`` or ``Kind/namespace/name`` (``?`` for a missing part)."""
    kind = obj.get("kind") or "?"
    raw = obj.get("metadata")
    metadata: dict[str, Any] = raw if isinstance(raw, dict) else {}
    name = metadata.get("name") or "?"
    namespace = metadata.get("namespace")
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


@dataclass(frozen=True)
class Finding:
    """What a rule found; ``path`` is a JSON-path-like location such as ``.spec.limits``."""

    rule: str
    severity: Severity
    object: str
    path: str
    message: str
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The object of the JSON contract."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "object": self.object,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
        }


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then by object and path, so output is stable."""
    return sorted(
        findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.object, f.path, f.rule, f.message)
    )


__all__ = ["SEVERITY_ORDER", "Finding", "Severity", "object_ref", "sort_findings"]
