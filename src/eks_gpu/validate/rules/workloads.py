"""The parts of a workload the GPU rules read: its containers, their GPUs, paths into it.

Where a workload keeps its pod spec is :mod:`eks_gpu.manifests.pod_spec`'s to say (the one
locator); :func:`in_pod_spec` only joins a field onto that path for a finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from eks_gpu.manifests import pod_spec_path
from eks_gpu.names import RESOURCE_NVIDIA_GPU


def in_pod_spec(obj: dict[str, Any], field: str) -> str:
    """JSON path of ``field`` (``.tolerations``) inside the pod spec of ``obj``.

    Only called for objects that have a pod spec (``pod_spec_of`` found one); for any other
    the field is given as it is.
    """
    return (pod_spec_path(str(obj.get("kind", ""))) or "") + field


def containers(pod_spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(path relative to the pod spec, container)`` for init containers and containers."""
    for field in ("initContainers", "containers"):
        raw = pod_spec.get(field)
        for index, container in enumerate(raw if isinstance(raw, list) else []):
            if isinstance(container, dict):
                yield f".{field}[{index}]", container


def quantity(value: Any) -> Decimal | None:
    """A plain decimal resource quantity (``"1"``, ``2``); None when it is not one.

    Extended resources such as ``nvidia.com/gpu`` must be whole numbers, so suffixes are
    not needed here.
    """
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _resources(container: dict[str, Any], section: str) -> dict[str, Any]:
    resources = container.get("resources")
    raw = resources.get(section) if isinstance(resources, dict) else None
    return raw if isinstance(raw, dict) else {}


def requests_section(container: dict[str, Any]) -> dict[str, Any]:
    """``resources.requests`` (empty when absent)."""
    return _resources(container, "requests")


def limits_section(container: dict[str, Any]) -> dict[str, Any]:
    """``resources.limits`` (empty when absent)."""
    return _resources(container, "limits")


def container_gpus(container: dict[str, Any]) -> Decimal:
    """The ``nvidia.com/gpu`` a container asks for (limit, else request; 0 when none)."""
    for section in (limits_section(container), requests_section(container)):
        amount = quantity(section.get(RESOURCE_NVIDIA_GPU))
        if amount is not None:
            return amount
    return Decimal(0)


def requests_gpus(pod_spec: dict[str, Any]) -> bool:
    """True when any container of the pod asks for ``nvidia.com/gpu``."""
    return any(container_gpus(c) > 0 for _, c in containers(pod_spec))


__all__ = [
    "container_gpus",
    "containers",
    "in_pod_spec",
    "limits_section",
    "quantity",
    "requests_gpus",
    "requests_section",
]
