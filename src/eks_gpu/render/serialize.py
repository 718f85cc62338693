"""Deterministic YAML and JSON for rendered objects: same input, byte-identical output."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml


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


def to_json_list(objects: Iterable[Any]) -> str:
    """A ``kind: List`` JSON document, as ``kubectl get -o json`` prints several objects."""
    document = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    return json.dumps(document, indent=2) + "\n"


__all__ = ["to_json_list", "to_yaml", "to_yaml_stream"]
