"""Manifests from files, folders (recursively, sorted) and stdin."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from eks_gpu.manifests import Manifest, ManifestError, parse_documents

YAML_SUFFIXES = (".yaml", ".yml", ".json")


def yaml_files(path: Path) -> list[Path]:
    """``path`` itself, or the YAML/JSON files under a folder (sorted, recursively)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES)
    if path.is_file():
        return [path]
    raise ManifestError(f"{path}: no such file or directory")


def read_text(path: Path) -> str:
    """The file's text; a :class:`ManifestError` naming it when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: cannot read: {error}") from None


def load_manifests(paths: Iterable[str]) -> list[Manifest]:
    """Objects from every path (``-`` reads stdin), in the order given, folders sorted."""
    out: list[Manifest] = []
    for raw in paths:
        if raw == "-":
            out.extend(parse_documents(sys.stdin.read(), "-"))
            continue
        for path in yaml_files(Path(raw)):
            out.extend(parse_documents(read_text(path), str(path)))
    return out


__all__ = ["YAML_SUFFIXES", "load_manifests", "read_text", "yaml_files"]
