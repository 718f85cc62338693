"""Sets of requirements (one per label key, ANDed) and when two sets hold together.

Our own code after STYLE.md §algebra. :class:`Requirements` maps a key to the AND of its
:class:`~eks_gpu.scheduling.requirement.Requirement` entries.

* :meth:`Requirements.check_intersects` looks only at keys both sides have (Karpenter
  ``Requirements.Intersects``); a shared key without overlap still passes when both sides are
  ``NotIn``/``DoesNotExist`` without bounds (an absent label satisfies both).
* :meth:`Requirements.check_compatible` is asymmetric (Karpenter ``Requirements.Compatible``):
  ``self`` is the node/NodePool side, ``other`` the pod side; a custom key the pod selects
  must be defined by the node side unless it is allowed undefined (the well-known labels).

Both return typed :class:`~eks_gpu.scheduling.reasons.Incompatibility` values; ``is_*``
twins answer the same question as a bool without building messages (for hot loops).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from eks_gpu.scheduling.key_hints import key_hint
from eks_gpu.scheduling.reasons import Incompatibility
from eks_gpu.scheduling.requirement import Requirement, RequirementError, absent_ok
from eks_gpu.scheduling.well_known import WELL_KNOWN_LABELS, normalize_key

_EMPTY: frozenset[str] = frozenset()


@lru_cache(maxsize=4096)
def _exists(key: str) -> Requirement:
    return Requirement(key, True, _EMPTY)


def _overlap(a: Requirement, b: Requirement) -> bool:
    """Whether one key's two sides can hold together (a value, or both allow absence)."""
    return a is b or a.has_intersection(b) or (absent_ok(a) and absent_ok(b))


class Requirements:
    """An immutable map of key → :class:`Requirement`; same-key entries are ANDed.

    Iteration yields the :class:`Requirement` values in key order (so ``Requirements(r)``
    copies ``r``); ``keys()``, ``items()``, ``r[key]`` and ``key in r`` work as on a mapping;
    ``get(key)`` answers ``Exists`` for a missing key. Hashable (the hash is cached).
    """

    __slots__ = ("_hash", "_items")

    def __init__(self, requirements: Iterable[Requirement] = ()) -> None:
        items: dict[str, Requirement] = {}
        for requirement in requirements:
            prior = items.get(requirement.key)
            items[requirement.key] = (
                requirement if prior is None else prior.intersection(requirement)
            )
        self._items = items
        self._hash: int | None = None

    @classmethod
    def _of(cls, items: dict[str, Requirement]) -> Requirements:
        out = cls.__new__(cls)
        out._items = items
        out._hash = None
        return out

    @classmethod
    def from_dicts(
        cls, items: Iterable[Mapping[str, Any]] | None, path: str = "requirements"
    ) -> Requirements:
        """From ``[{key, operator, values, minValues?}]``; a ``ValueError`` names the entry."""
        if items is None:
            return EMPTY
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise RequirementError(path, f"must be a list of requirements, got {items!r}")
        return cls(_from_dict(item, f"{path}[{i}]") for i, item in enumerate(items))

    @classmethod
    def from_labels(cls, labels: Mapping[str, Any] | None) -> Requirements:
        """Each label as ``In {value}`` (booleans as ``true``/``false``)."""
        return cls(
            Requirement.create(key, "In", [_label_value(value)])
            for key, value in (labels or {}).items()
        )

    def add(self, *others: Requirement | Requirements) -> Requirements:
        """A new set with ``others`` ANDed in."""
        if len(others) == 1 and isinstance(others[0], Requirements):
            if not others[0]._items:
                return self
            if not self._items:
                return others[0]
        items = dict(self._items)
        for other in others:
            for requirement in (
                other._items.values() if isinstance(other, Requirements) else (other,)
            ):
                prior = items.get(requirement.key)
                items[requirement.key] = (
                    requirement if prior is None else prior.intersection(requirement)
                )
        return Requirements._of(items)

    def get(self, key: str) -> Requirement:
        """The requirement on ``key`` (aliases accepted); ``Exists`` when unconstrained."""
        found = self._items.get(key)
        if found is not None:
            return found
        key = normalize_key(key)
        return self._items.get(key) or _exists(key)

    def __getitem__(self, key: str) -> Requirement:
        found = self._items.get(key) or self._items.get(normalize_key(key))
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self._items or normalize_key(key) in self._items)

    def keys(self) -> frozenset[str]:
        """The constrained keys."""
        return frozenset(self._items)

    def items(self) -> list[tuple[str, Requirement]]:
        """``(key, requirement)`` pairs in key order."""
        return sorted(self._items.items())

    def values(self) -> list[Requirement]:
        """The requirements in key order."""
        return [self._items[key] for key in sorted(self._items)]

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.values())

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Requirements):
            return NotImplemented
        return self is other or self._items == other._items

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._items.values()))
        return self._hash

    def __repr__(self) -> str:
        return f"Requirements([{', '.join(repr(r) for r in self)}])"

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self)

    def to_dicts(self) -> list[dict[str, Any]]:
        """All requirements as node selector requirement dicts, in key order."""
        return [item for requirement in self for item in requirement.to_dicts()]

    def labels(self) -> dict[str, str]:
        """Single-valued ``In`` requirements as labels, in key order."""
        return {
            key: next(iter(r.values))
            for key, r in sorted(self._items.items())
            if not r.complement and len(r.values) == 1
        }

    def _conflicts(self, other: Requirements) -> list[str]:
        """Keys both sides constrain where no value (nor absence) satisfies both, sorted."""
        mine, theirs = self._items, other._items
        return sorted(
            key
            for key, a in mine.items()
            if (b := theirs.get(key)) is not None and not _overlap(a, b)
        )

    def check_intersects(self, other: Requirements) -> list[Incompatibility]:
        """Why ``self`` and ``other`` cannot hold together on shared keys ([] when they can).

        ``self`` is the existing (node) side, ``other`` the incoming (pod) side, as in
        Karpenter's ``key K, <incoming> not in <existing>`` message.
        """
        out = []
        for key in self._conflicts(other):
            mine, theirs = self._items[key], other._items[key]
            out.append(
                Incompatibility(
                    "requirement-conflict",
                    key,
                    f"key {key}, {theirs.describe()} not in {mine.describe()}",
                    f"{key}: the pod needs {theirs}, the pool allows {mine}",
                )
            )
        return out

    def is_intersecting(self, other: Requirements) -> bool:
        """``not self.check_intersects(other)``, without building messages (for hot loops)."""
        small, large = self._items, other._items
        if len(small) > len(large):
            small, large = large, small
        for key, a in small.items():
            b = large.get(key)
            if b is None or a is b or a.has_intersection(b):
                continue
            if not (absent_ok(a) and absent_ok(b)):
                return False
        return True

    def _undefined(self, other: Requirements, allow_undefined: frozenset[str]) -> Iterator[str]:
        for key, requirement in other._items.items():
            if key in allow_undefined or key in self._items:
                continue
            if absent_ok(requirement):  # NotIn / DoesNotExist: an absent label is fine
                continue
            yield key

    def check_compatible(
        self, other: Requirements, allow_undefined: frozenset[str] = WELL_KNOWN_LABELS
    ) -> list[Incompatibility]:
        """Why pod-side ``other`` cannot run on node-side ``self`` ([] when it can).

        A key ``other`` selects must be defined by ``self`` unless it is in
        ``allow_undefined`` or ``other`` only excludes (``NotIn``/``DoesNotExist``); then the
        shared keys must intersect. Undefined keys come first, then conflicts, each sorted
        by key (Karpenter stops at the first; we keep them all, in that order).
        """
        undefined = []
        for key in sorted(self._undefined(other, allow_undefined)):
            message = f'label "{key}" does not have known values'
            hint = key_hint(key, self.keys(), allow_undefined)
            undefined.append(
                Incompatibility("label-undefined", key, message + hint, message + hint)
            )
        return undefined + self.check_intersects(other)

    def is_compatible(
        self, other: Requirements, allow_undefined: frozenset[str] = WELL_KNOWN_LABELS
    ) -> bool:
        """``not self.check_compatible(other, allow_undefined)``, without building messages."""
        undefined = next(self._undefined(other, allow_undefined), None)
        return undefined is None and self.is_intersecting(other)


EMPTY = Requirements()
"""No constraint at all."""


def _label_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _from_dict(item: Any, path: str) -> Requirement:
    if not isinstance(item, Mapping):
        raise RequirementError(path, f"expected a mapping with key, operator, values; got {item!r}")
    for field in ("key", "operator"):
        if field not in item:
            raise RequirementError(f"{path}.{field}", "required")
    try:
        return Requirement.create(
            item["key"], str(item["operator"]), item.get("values") or (), item.get("minValues")
        )
    except RequirementError as error:
        raise RequirementError(f"{path}.{error.field}", error.message) from None


__all__ = ["EMPTY", "Requirements"]
