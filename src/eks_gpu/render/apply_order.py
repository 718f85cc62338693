"""Which rendered objects ``apply`` writes, in which order, and the reverse for ``delete``.

Dependency order: what others refer to goes first. Namespaces and RBAC before anything
namespaced that uses them; an EC2NodeClass before the NodePool whose ``nodeClassRef`` names it
(Karpenter marks a pool whose class is missing NotReady and launches nothing); the device
plugin's ConfigMap before its DaemonSet (the pods mount it and fail to start without it);
NodeOverlays last, because they select pools by name and only adjust their offerings. The
smoke-test pods (group ``tests``) are never applied: ``verify`` runs them when the pool is up.
Deleting goes the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eks_gpu.config.defaults import MANAGED_BY
from eks_gpu.errors import EksGpuError
from eks_gpu.render.bundle import Rendered

Obj = dict[str, Any]
RANKS: dict[str, int] = {
    "Namespace": 0,
    "ServiceAccount": 1,
    "ClusterRole": 1,
    "Role": 1,
    "ClusterRoleBinding": 2,
    "RoleBinding": 2,
    "EC2NodeClass": 3,
    "NodePool": 4,
    "ConfigMap": 5,
    "DaemonSet": 6,
    "NodeOverlay": 7,
}
LAST = max(RANKS.values()) + 1
SKIPPED_GROUPS = frozenset({"tests"})


class UnlabelledObjectError(EksGpuError):
    """A rendered object without our managed-by label: ``delete`` could never find it again."""


def rank(obj: Obj) -> int:
    """The object's place in apply order (unknown kinds last, in render order)."""
    return RANKS.get(str(obj.get("kind") or ""), LAST)


def describe(obj: Obj) -> str:
    """``Kind/name`` or ``Kind/namespace/name``, as findings and reports name objects."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    name = meta.get("name") or "?"
    return f"{obj.get('kind')}/{namespace}/{name}" if namespace else f"{obj.get('kind')}/{name}"


def is_managed(obj: Obj) -> bool:
    """Whether ``obj`` carries ``app.kubernetes.io/managed-by: eks-gpu``."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(key) == value for key, value in MANAGED_BY.items())


def check_managed(objects: Iterable[Obj]) -> None:
    """Refuse to apply an object ``delete`` would not recognise as ours (a render bug)."""
    unlabelled = [describe(obj) for obj in objects if not is_managed(obj)]
    if unlabelled:
        label = ", ".join(f"{k}: {v}" for k, v in MANAGED_BY.items())
        raise UnlabelledObjectError(
            f"rendered objects without the label {label}: {', '.join(unlabelled)}",
            hint="this is a bug in eks-gpu's renderer; please report it",
        )


def apply_objects(items: Iterable[Rendered]) -> list[Obj]:
    """The objects ``apply`` writes, in dependency order (stable: render order within a kind),
    each checked for our label."""
    chosen = [item.obj for item in items if item.group not in SKIPPED_GROUPS]
    ordered = sorted(chosen, key=rank)
    check_managed(ordered)
    return ordered


def delete_order(objects: Iterable[Obj]) -> list[Obj]:
    """``objects`` in the order ``delete`` removes them: dependants first."""
    return list(reversed(sorted(objects, key=rank)))


__all__ = [
    "RANKS",
    "UnlabelledObjectError",
    "apply_objects",
    "check_managed",
    "delete_order",
    "describe",
    "is_managed",
    "rank",
]
