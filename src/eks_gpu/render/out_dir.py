"""The ``render --out-dir`` file set: the guide's layout plus a ``kustomization.yaml``.

A pure function from rendered objects to ``{relative path: YAML text}``, so the golden
tests pin exactly what the command writes, and writing stays at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence

from eks_gpu.render.bundle import Rendered, files_of, kustomization
from eks_gpu.render.serialize import to_yaml, to_yaml_stream

KUSTOMIZATION_FILE = "kustomization.yaml"


def out_dir_files(items: Sequence[Rendered]) -> dict[str, str]:
    """Each file of ``items`` as a YAML stream, in apply order, then the kustomization."""
    files = {path: to_yaml_stream(objs) for path, objs in files_of(list(items)).items()}
    files[KUSTOMIZATION_FILE] = to_yaml(kustomization(list(files)))
    return files


__all__ = ["KUSTOMIZATION_FILE", "out_dir_files"]
