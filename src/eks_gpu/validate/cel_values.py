"""Where a rule's values are in an object, and those values in celpy's types.

A rule declared at schema path ``.spec.requirements[].key`` applies to every value found by
following the same steps through an object: :func:`locate` yields each one with the concrete
path the API server would name (``.spec.requirements[2].key``) and, for transition rules, the
value at the same place in the old object, matched the way the API server matches them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from celpy import celtypes

StepKind = Literal["property", "item", "value"]
_INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True)
class Step:
    """One hop from a schema node to a child: a named property, each item, or each map value.

    ``map_keys`` is set on an item step over an ``x-kubernetes-list-type: map`` list: the keys
    that match a new item to its old self for transition rules.
    """

    kind: StepKind
    name: str = ""
    map_keys: tuple[str, ...] | None = None


def to_cel(value: Any) -> Any:
    """A JSON-like value (as YAML or the API gives it) in celpy's types.

    ``null`` map values are dropped, as the API server prunes them from non-nullable fields
    before validation; YAML dates become their ISO strings, as they would in JSON.
    """
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value) if value in _INT64 else celtypes.DoubleType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, Mapping):
        pairs = ((str(key), item) for key, item in value.items() if item is not None)
        return celtypes.MapType({celtypes.StringType(k): to_cel(v) for k, v in pairs})
    if isinstance(value, (list, tuple)):
        return celtypes.ListType([to_cel(item) for item in value])
    if isinstance(value, (datetime.date, datetime.datetime)):
        return celtypes.StringType(value.isoformat())
    return None if value is None else celtypes.StringType(str(value))


class Location(NamedTuple):
    """One value a rule applies to: its path, its celpy value, and its old twin (or None)."""

    path: str
    value: Any
    old: Any


def _child(value: Any, key: str) -> Any:
    """``value[key]``, or None (celpy's ``MapType.get`` raises instead of returning None)."""
    return value[key] if isinstance(value, Mapping) and key in value else None


def _correlate(old: Any, item: Any, keys: tuple[str, ...] | None) -> Any:
    """The old item with the same map keys (list-type map only); other lists do not correlate."""
    if keys is None or not isinstance(old, list) or not isinstance(item, Mapping):
        return None
    for candidate in old:
        if isinstance(candidate, Mapping) and all(
            _child(candidate, key) == _child(item, key) for key in keys
        ):
            return candidate
    return None


def locate(steps: tuple[Step, ...], value: Any, old: Any, path: str) -> Iterator[Location]:
    """Every value at the schema path ``steps`` (with its old twin, or None), with its path."""
    if value is None:
        return
    if not steps:
        yield Location(path or ".", value, old)
        return
    step, rest = steps[0], steps[1:]
    if step.kind == "property" and isinstance(value, Mapping):
        yield from locate(
            rest, _child(value, step.name), _child(old, step.name), f"{path}.{step.name}"
        )
    elif step.kind == "value" and isinstance(value, Mapping):
        for key, child in value.items():
            yield from locate(rest, child, _child(old, key), f"{path}[{key}]")
    elif step.kind == "item" and isinstance(value, list):
        for index, item in enumerate(value):
            old_item = _correlate(old, item, step.map_keys)
            yield from locate(rest, item, old_item, f"{path}[{index}]")


__all__ = ["Location", "Step", "StepKind", "locate", "to_cel"]
