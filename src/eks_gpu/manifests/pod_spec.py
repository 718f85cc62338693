"""Where a workload keeps its pod spec: the one locator every command uses.

A Pod's spec is ``.spec``; a CronJob's is ``.spec.jobTemplate.spec.template.spec``; the
other pod-template kinds keep it at ``.spec.template.spec``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

POD_TEMPLATE_KINDS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Kind -> the fields leading to its pod spec."""


def pod_spec_path(kind: str) -> str | None:
    """JSON path of the pod spec in an object of ``kind`` (``.spec`` for a Pod), else None."""
    steps = POD_TEMPLATE_KINDS.get(kind)
    return None if steps is None else "." + ".".join(steps)


def pod_spec_of(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a Pod or a pod-template workload, else None (other kinds, or the
    path is missing or not an object)."""
    node: Any = obj
    for step in POD_TEMPLATE_KINDS.get(str(obj.get("kind", "")), ()) or (None,):
        if step is None or not isinstance(node, Mapping):
            return None
        node = node.get(step)
    return node if isinstance(node, dict) else None


__all__ = ["POD_TEMPLATE_KINDS", "pod_spec_of", "pod_spec_path"]
