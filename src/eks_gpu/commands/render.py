"""``render``: config -> manifests, returned in apply order, or written in the guide's layout.

The JSON document is Kubernetes' own ``kind: List`` (``apiVersion: v1``), as ``kubectl get
-o json`` prints several objects, so it pipes into Kubernetes tooling unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.config_source import (
    DEFAULT_SOURCE,
    RenderSource,
    as_manifests,
    cluster_name_or_example,
    require_cluster_name,
    resolve_config,
)
from eks_gpu.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from eks_gpu.manifests import Manifest
    from eks_gpu.render.bundle import Group, Rendered

GROUP_NAMES: tuple[Group, ...] = ("nodeclass", "nodepool", "device-plugin", "tests")


@dataclass(frozen=True)
class RenderResult:
    """The rendered objects, the config they came from, and the files written (if any)."""

    items: tuple[Rendered, ...]
    source: str
    cluster_name: str
    written: tuple[Path, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def objects(self) -> list[dict[str, Any]]:
        """The objects in apply order."""
        return [item.obj for item in self.items]

    @property
    def manifests(self) -> list[Manifest]:
        """The objects as manifests, for validation (findings name the render)."""
        return as_manifests(self.items, self.source)

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """A Kubernetes ``kind: List`` of the objects."""
        from eks_gpu.render.serialize import list_document

        return list_document(self.objects)


def check_groups(names: Iterable[str]) -> tuple[Group, ...]:
    """``--only`` names, each checked; none means all groups."""
    chosen = tuple(names)
    unknown = [name for name in chosen if name not in GROUP_NAMES]
    if unknown:
        raise UsageError(
            f"--only: unknown group {', '.join(unknown)}",
            hint=f"choose from {','.join(GROUP_NAMES)}",
        )
    return tuple(g for g in GROUP_NAMES if g in chosen) if chosen else GROUP_NAMES


def write_files(out_dir: Path, files: Mapping[str, str]) -> tuple[Path, ...]:
    """Write ``files`` (relative path -> text) under ``out_dir``; only our files are touched,
    each whole or not at all."""
    from eks_gpu.loaders.atomic_file import write_text_file

    written = []
    for relative, text in files.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_file(target, text)
        written.append(target)
    return tuple(written)


def render(
    source: RenderSource = DEFAULT_SOURCE,
    *,
    only: Iterable[str] = (),
    out_dir: Path | None = None,
    example_cluster: bool = False,
) -> RenderResult:
    """Render ``source``'s config; with ``out_dir``, also write the guide's file layout there.

    ``example_cluster`` renders with ``example-cluster`` when no cluster name is given (for
    checks that do not depend on it); otherwise a missing name is a usage error.
    """
    from eks_gpu.render.bundle import render_all
    from eks_gpu.render.out_dir import out_dir_files

    groups = check_groups(only)
    loaded = resolve_config(source.config_path, source.profile)
    if example_cluster:
        cluster = cluster_name_or_example(loaded.config, source.cluster_name)
    else:
        cluster = require_cluster_name(loaded.config, source.cluster_name)
    items = tuple(render_all(loaded.config, cluster, groups))
    written = write_files(out_dir, out_dir_files(items)) if out_dir is not None else ()
    return RenderResult(items, loaded.source, cluster, written)


__all__ = ["GROUP_NAMES", "RenderResult", "check_groups", "render", "write_files"]
