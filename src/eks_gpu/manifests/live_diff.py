"""Live object against rendered object: only the fields we manage, as a unified diff.

What is compared: the live object **pruned to the field paths of the rendered object**, plus
the paths that field manager ``eks-gpu`` owns in its ``managedFields`` (server-side apply's
own record of what we set last time). The render alone works whoever wrote the object (an
object created by ``kubectl apply -f`` of ``render``'s output, the guide's way, has no
``eks-gpu`` entry, and would otherwise show as all new); the ownership record adds what the
render alone cannot show: a field we set before and no longer render (a limit dropped from
the config), which apply will remove, shows as a removed line. Everything the server or
another tool adds falls away: ``status``, ``metadata.uid``/``resourceVersion``/``generation``/
``creationTimestamp``/``managedFields``, annotations kubectl or controllers add, defaults such
as a container's ``terminationMessagePath``.

Lists: items with a ``name`` (containers, volumes, env) are matched by name, as the API's
list-map merge keys match them; other lists of the same length item by item; lists of
another length are compared whole (so a dropped taint shows). Inside lists the ownership
record is not consulted: a named item dropped from the render (a container) does not show.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

import yaml

Obj = dict[str, Any]
FIELD_MANAGER = "eks-gpu"
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


def prune(live: Any, ours: Any, owned: Any = None) -> Any:
    """``live`` reduced to the paths present in ``ours`` (keys in ``ours``' order), and to
    the map fields of ``owned`` (a ``managedFields`` ``fieldsV1``: ``{"f:spec": {...}}``)."""
    if isinstance(live, dict):
        mine = ours if isinstance(ours, dict) else {}
        fields = owned if isinstance(owned, dict) else {}
        if ours is None and not any(key.startswith("f:") for key in fields):
            return live  # owned as a whole, no longer rendered
        keys = [key for key in mine if key in live]
        keys += [
            k[2:] for k in fields if k.startswith("f:") and k[2:] in live and k[2:] not in mine
        ]
        return {key: prune(live[key], mine.get(key), fields.get(f"f:{key}")) for key in keys}
    if isinstance(live, list) and isinstance(ours, list):
        return _prune_list(live, ours)
    return live


def owned_fields(live: Obj, manager: str) -> Obj:
    """The ``fieldsV1`` that ``manager`` owns by apply in ``live`` (empty when none)."""
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if (
            entry.get("manager") == manager
            and entry.get("operation") == "Apply"
            and not entry.get("subresource")
        ):
            fields = entry.get("fieldsV1")
            return fields if isinstance(fields, dict) else {}
    return {}


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


def diff_object(
    name: str, live: Obj | None, rendered: Obj, manager: str = FIELD_MANAGER
) -> ObjectDiff:
    """The unified diff from ``live`` (pruned to our fields: rendered, or owned by
    ``manager``) to ``rendered``; a missing live object diffs from nothing, so every line
    shows as added."""
    before = None
    if live is not None:
        before = prune(strip_server_fields(live), rendered, owned_fields(live, manager))
    old, new = _lines(before), _lines(rendered)
    source = "/dev/null" if live is None else f"live/{name}"
    text = "".join(difflib.unified_diff(old, new, source, f"rendered/{name}"))
    state: State = "create" if live is None else "change" if text else "same"
    return ObjectDiff(name, state, text)


__all__ = [
    "FIELD_MANAGER",
    "ObjectDiff",
    "State",
    "diff_object",
    "owned_fields",
    "prune",
    "strip_server_fields",
]
