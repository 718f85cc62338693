"""``eks-gpu rbac``: the ClusterRoles each mode needs, from ``cluster/permissions.py`` (the one
list of what eks-gpu asks the API server for), as objects ``kubectl apply`` takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eks_gpu.cluster.permissions import COMMANDS, MODES, permissions, rules
from eks_gpu.errors import EXIT_OK, UsageError
from eks_gpu.names import API_VERSION_RBAC
from eks_gpu.render.metadata import object_meta

Obj = dict[str, Any]
ROLE_PREFIX = "eks-gpu-"


def role_name(mode: str) -> str:
    """``eks-gpu-read``, ``eks-gpu-apply``, ``eks-gpu-verify``."""
    return f"{ROLE_PREFIX}{mode}"


def cluster_role(mode: str) -> Obj:
    """``mode``'s ClusterRole, labelled as ours (so ``delete`` could find it again)."""
    return {
        "apiVersion": API_VERSION_RBAC,
        "kind": "ClusterRole",
        "metadata": object_meta(role_name(mode)),
        "rules": rules(mode),
    }


def explanation(mode: str) -> list[str]:
    """Comment lines for the YAML: which commands, and why each rule is there."""
    lines = [f"ClusterRole {role_name(mode)}: what {', '.join(COMMANDS[mode])} need."]
    for permission in permissions(mode):
        verbs = ", ".join(permission.verbs)
        lines.append(f"  {permission.qualified} ({verbs}): {permission.why}")
    lines.append("  nonResourceURLs /api, /apis (get): discovery, which path serves each kind")
    return lines


@dataclass(frozen=True)
class RbacResult:
    """The chosen modes and their ClusterRoles, in :data:`MODES` order."""

    modes: tuple[str, ...]
    roles: tuple[Obj, ...]

    @property
    def messages(self) -> tuple[str, ...]:
        return ()

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """A ``kind: List`` of the ClusterRoles (``kubectl apply -f`` takes it)."""
        from eks_gpu.render.serialize import list_document

        return list_document(self.roles)


def rbac(modes: Sequence[str] = ()) -> RbacResult:
    """The ClusterRoles of ``modes`` (every mode when empty).

    Raises:
        UsageError: an unknown mode.
    """
    for mode in modes:
        if mode not in MODES:
            raise UsageError(f"--for: unknown mode {mode!r}", hint=f"choose {', '.join(MODES)}")
    chosen = tuple(m for m in MODES if m in modes) if modes else MODES
    return RbacResult(chosen, tuple(cluster_role(mode) for mode in chosen))


__all__ = ["RbacResult", "cluster_role", "explanation", "rbac", "role_name"]
