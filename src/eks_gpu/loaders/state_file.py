"""``--from FILE|DIR``: a cluster's state from an ``eks-gpu dump`` or from plain
``kubectl get ... -o yaml|json`` output, instead of a live cluster.

JSON is read with :func:`json.loads` and nothing else (no YAML parser, no object per item):
``status --from`` on a 100,000-pod dump has to stay within twice the time of ``json.load``.
YAML (one document, many, or a ``kind: List``) goes through the manifest parser.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eks_gpu.loaders.manifest_files import read_text, yaml_files
from eks_gpu.manifests import ManifestError, parse_documents
from eks_gpu.manifests.api_shapes import field_type_error
from eks_gpu.manifests.cluster_state import ClusterState, state_from_objects
from eks_gpu.manifests.document import flatten

Obj = dict[str, Any]
DUMP_HINT = "capture one with `eks-gpu dump -o dump.json`, or `kubectl get nodes,pods -A -o yaml`"


def _json_objects(text: str, source: str) -> list[Obj] | None:
    """The objects of a JSON document; None when the text is not JSON (so: YAML)."""
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None  # YAML flow style also starts with "{"; let the YAML parser judge
    except RecursionError:  # deeper than the stack; no API object nests like that
        raise ManifestError(
            f"{source}: JSON nested too deeply to read (past {sys.getrecursionlimit()} levels)",
            hint=DUMP_HINT,
        ) from None
    documents = document if isinstance(document, list) else [document]
    out: list[Obj] = []
    for index, item in enumerate(documents):
        if not isinstance(item, dict):
            raise ManifestError(
                f"{source}: item {index + 1} is a {type(item).__name__}, not an object",
                hint=DUMP_HINT,
            )
        out.extend(flatten(item, f"{source}: item {index + 1}"))
    return out


MAPPINGS = ("metadata", "spec", "status")
MAPPINGS_IN_METADATA = ("labels", "annotations")


def _shape_error(obj: Obj, index: int, source: str) -> str | None:
    """Why ``obj`` is not shaped like API output (what the analysers rely on), or None."""
    if not isinstance(obj.get("kind"), str) or not obj["kind"]:
        return "has no kind: not Kubernetes API output"
    for key in MAPPINGS:
        if key in obj and obj[key] is not None and not isinstance(obj[key], dict):
            return f"{key} is a {type(obj[key]).__name__}, not an object"
    metadata = obj.get("metadata") or {}
    for key in MAPPINGS_IN_METADATA:
        value = metadata.get(key)
        if value is not None and not isinstance(value, dict):
            return f"metadata.{key} is a {type(value).__name__}, not an object"
    return field_type_error(obj)


def _check_shapes(objects: list[Obj], source: str) -> list[Obj]:
    """Every object has a ``kind``, and ``metadata``/``spec``/``status`` (and the labels and
    annotations, and the fields :mod:`eks_gpu.manifests.api_shapes` lists) have the types the
    API server always prints: checked once here, so status and doctor never meet a list where
    a mapping belongs (a typed error, not a crash)."""
    for index, obj in enumerate(objects):
        why = _shape_error(obj, index, source)
        if why is None:
            continue
        metadata = obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        kind = obj.get("kind") if isinstance(obj.get("kind"), str) else None
        label = " ".join(str(part) for part in (kind, name) if part)
        what = f"object {index + 1}" + (f" ({label})" if label else "")
        raise ManifestError(f"{source}: {what}: {why}", hint=DUMP_HINT)
    return objects


def objects_in(text: str, source: str) -> list[Obj]:
    """Every object in one file's text, JSON or YAML.

    Raises:
        ManifestError: the text is neither, or holds something that is not an object with a
            ``kind``.
    """
    found = _json_objects(text, source)
    if found is None:
        found = [manifest.obj for manifest in parse_documents(text, source)]
    return _check_shapes(found, source)


def read_state_file(path: str) -> ClusterState:
    """The state in ``path`` (a file, a folder of them, or ``-`` for stdin).

    Raises:
        ManifestError: the input cannot be read or parsed, or holds no objects at all.
    """
    objects: list[Obj] = []
    if path == "-":
        objects = objects_in(sys.stdin.read(), "-")
    else:
        for file in yaml_files(Path(path)):
            objects.extend(objects_in(read_text(file), str(file)))
    if not objects:
        raise ManifestError(f"{path}: holds no Kubernetes objects", hint=DUMP_HINT)
    return state_from_objects(objects, source=path)


__all__ = ["DUMP_HINT", "objects_in", "read_state_file"]
