"""The user cache folder: refreshed prices, downloaded CRDs."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$EKS_GPU_CACHE_DIR``, else ``$XDG_CACHE_HOME/eks-gpu``, else ``~/.cache/eks-gpu``."""
    explicit = os.environ.get("EKS_GPU_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "eks-gpu"


__all__ = ["cache_dir"]
