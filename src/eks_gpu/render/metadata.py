"""Object metadata every rendered object shares: our managed-by label, and nothing else."""

from __future__ import annotations

from typing import Any

from eks_gpu.config.defaults import MANAGED_BY


def object_meta(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    """``metadata`` with ``name``, optional ``namespace`` and our managed-by label.

    The managed-by label is how ``eks-gpu delete`` will find what it owns, and only that.
    """
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(sorted({**MANAGED_BY, **labels}.items()))
    return meta


__all__ = ["object_meta"]
