"""Live object against rendered object: only the fields we set, as a unified diff.

What is compared: the live object **pruned to the field paths of the rendered object**. The
other candidate, the ``managedFields`` entry of manager ``eks-gpu``, was not chosen because it
only exists after a first apply by us: an object created by ``kubectl apply -f`` of
``render``'s output (the guide's way), or by an older tool, would show as all-new although
its fields already match. Pruning works whoever wrote the object and needs no parsing of
``fieldsV1``. Everything the server adds and we do not set falls away with it: ``status``,
``metadata.uid``/``resourceVersion``/``generation``/``creationTimestamp``/``managedFields``,
annotations kubectl or controllers add, defaults such as a container's
``terminationMessagePath``. What pruning cannot show is a field we set in an earlier apply
and no longer render: server-side apply removes it (we own it), the diff does not list it.

Lists: items with a ``name`` (containers, volumes, env) are matched by name, as the API's
list-map merge keys match them; other lists of the same length item by item; lists of another
length are compared whole.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

import yaml

Obj = dict[str, Any]
State = Literal["create", "change", "same"]
SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def _prune_list(live: list[Any], ours: list[Any]) -> list[Any]:
    if _named(ours) and _named(live):
        by_name = {item["name"]: item for item in ours}
        return [prune(item, by_name[item["name"]]) for item in live if item["name"] in by_name]
    if len(live) == len(ours):
        return [prune(item, mine) for item, mine in zip(live, ours, strict=True)]
    return live


def prune(live: Any, ours: Any) -> Any:
    """``live`` reduced to the paths present in ``ours`` (keys in ``ours``' order)."""
    if isinstance(live, dict) and isinstance(ours, dict):
        return {key: prune(live[key], value) for key, value in ours.items() if key in live}
    if isinstance(live, list) and isinstance(ours, list):
        return _prune_list(live, ours)
    return live


def strip_server_fields(obj: Obj) -> Obj:
    """``obj`` without ``status`` and the metadata the API server maintains."""
    out = {key: value for key, value in obj.items() if key != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    out["metadata"] = meta
    return out


class _Dumper(yaml.SafeDumper):
    """No anchors: a value rendered twice (shared discovery tags) prints twice, as live."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _lines(obj: Obj | None) -> list[str]:
    if obj is None:
        return []
    text: str = yaml.dump(
        obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000
    )
    return text.splitlines(keepends=True)


@dataclass(frozen=True)
class ObjectDiff:
    """One object: ``create`` (not in the cluster), ``change`` or ``same``, and the diff."""

    name: str
    state: State
    text: str


def diff_object(name: str, live: Obj | None, rendered: Obj) -> ObjectDiff:
    """The unified diff from ``live`` (pruned to our fields) to ``rendered``; a missing live
    object diffs from nothing, so every line shows as added."""
    before = None if live is None else prune(strip_server_fields(live), rendered)
    old, new = _lines(before), _lines(rendered)
    source = "/dev/null" if live is None else f"live/{name}"
    text = "".join(difflib.unified_diff(old, new, source, f"rendered/{name}"))
    state: State = "create" if live is None else "change" if text else "same"
    return ObjectDiff(name, state, text)


__all__ = ["ObjectDiff", "State", "diff_object", "prune", "strip_server_fields"]
