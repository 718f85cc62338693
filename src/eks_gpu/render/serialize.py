"""Deterministic YAML and JSON for rendered objects: same input, byte-identical output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml

from eks_gpu.names import API_VERSION_CORE


class _Dumper(yaml.SafeDumper):
    """Block style, no anchors/aliases, multi-line strings as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    """One YAML document, keys in insertion order (renderers build them in kubectl order)."""
    text: str = yaml.dump(
        obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000
    )
    return text


def to_yaml_stream(objects: Iterable[Any]) -> str:
    """A multi-document YAML stream, ``---`` before every document."""
    return "".join(f"---\n{to_yaml(obj)}" for obj in objects)


def list_document(objects: Iterable[Any]) -> dict[str, Any]:
    """A ``kind: List``, as ``kubectl get -o json`` prints several objects."""
    return {"apiVersion": API_VERSION_CORE, "kind": "List", "items": list(objects)}


def to_json_list(objects: Iterable[Any]) -> str:
    """:func:`list_document` as indented JSON text."""
    return json.dumps(list_document(objects), indent=2) + "\n"


__all__ = ["list_document", "to_json_list", "to_yaml", "to_yaml_stream"]
