"""One label key's allowed values: Karpenter's ``Requirement``, as an immutable value.

Our own code after STYLE.md §algebra. A :class:`Requirement` is ``values`` when
``complement`` is false, every string *except* ``values`` when it is true, and, when a bound
is set, only integers in ``[gte, lte]`` (inclusive). The eight operators map onto that at
construction:

=============  ==========  ==========  ===================  ================================
operator       complement  values      bounds               note
=============  ==========  ==========  ===================  ================================
In v…          false       {v…}        –
NotIn v…       true        {v…}        –
Exists         true        {}          –
DoesNotExist   false       {}          –                    the label must be absent
Gt n           true        {}          gte = n+1            ``Gt`` MaxInt64 → DoesNotExist
Lt n           true        {}          lte = n-1            ``Lt`` MinInt64 → DoesNotExist
Gte n / Lte n  true        {}          gte = n / lte = n    Karpenter's NodePool extension
=============  ==========  ==========  ===================  ================================

* Integers are what Go's ``strconv.Atoi`` reads on 64 bits (:func:`parse_int`): optional
  sign, decimal digits, leading zeros allowed (``"05"`` is 5), within int64. Anything else
  is outside every bound.
* The universe of label values is the infinite set of strings (the 63-character limit is
  ignored). Because a bounded range that is not empty holds infinitely many spellings
  (``"5"``, ``"05"``, ``"005"`` …), a complement whose bounds do not cross always allows
  infinitely many values. Hence :meth:`Requirement.has_intersection` is **exact**: it is
  true iff some string ``v`` has ``a.has(v) and b.has(v)``; and for every pair,
  ``a.has_intersection(b) == not a.intersection(b).allows_nothing()``.

Sets of requirements (one per key, ANDed) are :mod:`eks_gpu.scheduling.requirements`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eks_gpu.scheduling.well_known import normalize_key

MAX_INT = 2**63 - 1
MIN_INT = -(2**63)

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_EMPTY: frozenset[str] = frozenset()
_SHOWN_VALUES = 8


@lru_cache(maxsize=16384)
def parse_int(text: str) -> int | None:
    """``text`` as a 64-bit integer the way Go's ``strconv.Atoi`` reads it, else None."""
    if _INTEGER.fullmatch(text) is None or len(text.lstrip("+-").lstrip("0")) > 19:
        return None
    number = int(text)
    return number if MIN_INT <= number <= MAX_INT else None


def _within(value: str, gte: int | None, lte: int | None) -> bool:
    number = parse_int(value)
    return number is not None and (gte is None or number >= gte) and (lte is None or number <= lte)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None or a >= b else b


class RequirementError(ValueError):
    """A requirement that cannot be built; ``field`` names the bad part (key, values, …)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _string_values(values: Iterable[Any]) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise RequirementError("values", f"must be a list of strings, got {values!r}")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise RequirementError("values", f"must be strings, got {value!r}")
        out.append(str(value))
    return out


def _bound(operator: str, values: list[str]) -> int:
    number = parse_int(values[0]) if len(values) == 1 else None
    if number is None:
        raise RequirementError(
            "values", f'"{operator}" needs exactly one 64-bit integer value, got {values}'
        )
    return number


@dataclass(frozen=True, slots=True)
class Requirement:
    """One key's allowed values: a (possibly complemented) set, optionally integer-bounded."""

    key: str
    complement: bool
    values: frozenset[str]
    gte: int | None = None
    lte: int | None = None
    min_values: int | None = None

    @classmethod
    def create(
        cls, key: str, operator: str, values: Iterable[str] = (), min_values: int | None = None
    ) -> Requirement:
        """Build from a node selector requirement; raises :class:`RequirementError` (a
        ``ValueError``) on bad input. Alias keys are normalized, Gt/Lt become inclusive bounds.
        """
        if not isinstance(key, str) or not key:
            raise RequirementError("key", f"must be a non-empty string, got {key!r}")
        if min_values is not None and (
            isinstance(min_values, bool) or not isinstance(min_values, int) or min_values < 1
        ):
            raise RequirementError("minValues", f"must be a positive integer, got {min_values!r}")
        key = normalize_key(key)
        given = _string_values(values)
        if operator in ("In", "NotIn"):
            if not given:
                raise RequirementError("values", f'"{operator}" needs at least one value')
            if operator == "In" and min_values is not None and len(set(given)) < min_values:
                raise RequirementError(
                    "values", f"minValues is {min_values} but only {len(set(given))} listed"
                )
            return cls(key, operator == "NotIn", frozenset(given), min_values=min_values)
        if operator in ("Exists", "DoesNotExist"):
            if given:
                raise RequirementError("values", f'"{operator}" takes no values, got {given}')
            return cls(key, operator == "Exists", _EMPTY, min_values=min_values)
        if operator in ("Gt", "Lt", "Gte", "Lte"):
            return cls._bounded(key, operator, _bound(operator, given), min_values)
        raise RequirementError(
            "operator", f"unknown operator {operator!r} (expected one of {', '.join(OPERATORS)})"
        )

    @classmethod
    def _bounded(cls, key: str, operator: str, n: int, min_values: int | None) -> Requirement:
        gte = n + 1 if operator == "Gt" else n if operator == "Gte" else None
        lte = n - 1 if operator == "Lt" else n if operator == "Lte" else None
        if (gte is not None and gte > MAX_INT) or (lte is not None and lte < MIN_INT):
            return cls(key, False, _EMPTY, min_values=min_values)  # no int64 qualifies
        return cls(key, True, _EMPTY, gte, lte, min_values)

    @property
    def operator(self) -> str:
        """``In`` / ``NotIn`` / ``Exists`` / ``DoesNotExist`` (bounds ride along)."""
        if self.complement:
            return "NotIn" if self.values else "Exists"
        return "In" if self.values else "DoesNotExist"

    @property
    def bounded(self) -> bool:
        """True when an integer bound is set."""
        return self.gte is not None or self.lte is not None

    def has(self, value: str) -> bool:
        """Whether ``value`` is allowed (the label being present with this value)."""
        if (value in self.values) is self.complement:
            return False
        return (self.gte is None and self.lte is None) or _within(value, self.gte, self.lte)

    def intersection(self, other: Requirement) -> Requirement:
        """The requirement both allow (AND); keeps the larger ``min_values``."""
        if other is self or _unconstrained(other):
            return self
        if _unconstrained(self) and other.key == self.key:
            return other
        gte, lte = self.gte, self.lte
        if other.gte is not None and (gte is None or other.gte > gte):
            gte = other.gte
        if other.lte is not None and (lte is None or other.lte < lte):
            lte = other.lte
        min_values = _max(self.min_values, other.min_values)
        if gte is not None and lte is not None and gte > lte:
            return Requirement(self.key, False, _EMPTY, None, None, min_values)
        complement = self.complement and other.complement
        values = _combine(self, other)
        if values and (gte is not None or lte is not None):
            kept = [v for v in values if _within(v, gte, lte)]
            if len(kept) != len(values):
                values = frozenset(kept)
        if not complement:
            gte = lte = None  # a concrete set has had its bounds applied
        return Requirement(self.key, complement, values, gte, lte, min_values)

    def has_intersection(self, other: Requirement) -> bool:
        """``not self.intersection(other).allows_nothing()``, without allocating."""
        gte, lte = self.gte, self.lte
        if other.gte is not None and (gte is None or other.gte > gte):
            gte = other.gte
        if other.lte is not None and (lte is None or other.lte < lte):
            lte = other.lte
        if gte is not None and lte is not None and gte > lte:
            return False
        if self.complement:
            if other.complement:
                return True  # infinitely many strings (and spellings of each integer) remain
            concrete, excluded = other.values, self.values
        elif other.complement:
            concrete, excluded = self.values, other.values
        else:
            small, large = (self.values, other.values)
            if len(small) > len(large):
                small, large = large, small
            if gte is None and lte is None:
                return not small.isdisjoint(large)
            for value in small:  # noqa: SIM110 - a plain loop is 3x faster than any() here
                if value in large and _within(value, gte, lte):
                    return True
            return False
        if gte is None and lte is None:
            return not concrete <= excluded
        for value in concrete:  # noqa: SIM110 - a plain loop is 3x faster than any() here
            if value not in excluded and _within(value, gte, lte):
                return True
        return False

    def allows_nothing(self) -> bool:
        """True when no value is allowed (``DoesNotExist``-equivalent)."""
        if not self.complement:
            return not self.values or (self.bounded and not any(map(self.has, self.values)))
        return self.gte is not None and self.lte is not None and self.gte > self.lte

    def any_value(self) -> str | None:
        """A value this requirement allows (the smallest, deterministically); None if none."""
        if not self.complement:
            allowed = [v for v in self.values if self.has(v)] if self.bounded else self.values
            return min(allowed) if allowed else None
        if self.allows_nothing():
            return None
        if not self.bounded:
            return next(c for c in _fresh_strings() if c not in self.values)
        return next(v for v in _integer_spellings(self.gte, self.lte) if v not in self.values)

    def to_dicts(self) -> list[dict[str, Any]]:
        """As node selector requirement dicts: one, or one per bound (plus ``NotIn``)."""
        out: list[dict[str, Any]] = []
        if not (self.complement and self.bounded and not self.values):
            item: dict[str, Any] = {"key": self.key, "operator": self.operator}
            if self.values:
                item["values"] = sorted(self.values)
            out.append(item)
        if self.complement:
            for operator, bound in (("Gte", self.gte), ("Lte", self.lte)):
                if bound is not None:
                    out.append({"key": self.key, "operator": operator, "values": [str(bound)]})
        if self.min_values is not None:
            out[0]["minValues"] = self.min_values
        return out

    def describe(self, limit: int | None = _SHOWN_VALUES) -> str:
        """Like ``str()``, showing at most ``limit`` values (for messages)."""
        parts = [self.key]
        if not (self.complement and self.bounded and not self.values):
            parts.append(self.operator)
        if self.values:
            shown = sorted(self.values)
            more = len(shown) - limit if limit is not None and len(shown) > limit else 0
            text = " ".join(shown[: len(shown) - more])
            parts.append(f"[{text} and {more} more]" if more else f"[{text}]")
        if self.complement:
            parts += [
                f"{op} {n}" for op, n in (("Gte", self.gte), ("Lte", self.lte)) if n is not None
            ]
        if self.min_values is not None:
            parts.append(f"minValues {self.min_values}")
        return " ".join(parts)

    def __str__(self) -> str:
        """E.g. ``key In [a b]``, ``key NotIn [x] Gte 3``, ``key Gte 1 Lte 8``; all values."""
        return self.describe(None)


def _unconstrained(r: Requirement) -> bool:
    return (
        r.complement and not r.values and r.gte is None and r.lte is None and r.min_values is None
    )


def _combine(a: Requirement, b: Requirement) -> frozenset[str]:
    """The values of ``a ∩ b`` before bounds are applied."""
    if a.complement:
        if b.complement:
            return a.values | b.values if a.values and b.values else a.values or b.values
        return b.values - a.values if a.values else b.values
    if b.complement:
        return a.values - b.values if b.values else a.values
    return a.values & b.values


def _fresh_strings() -> Iterator[str]:
    yield "a"
    n = 0
    while True:
        yield f"a{n}"
        n += 1


def _integer_spellings(gte: int | None, lte: int | None) -> Iterator[str]:
    """Integers in ``[gte, lte]`` from the lower (else upper) bound, then ever more
    zero-padded spellings of that bound, which read as the same integer."""
    low = MIN_INT if gte is None else gte
    high = MAX_INT if lte is None else lte
    start, step = (low, 1) if gte is not None else (high, -1)
    n = start
    while low <= n <= high and abs(n - start) <= 64:
        yield str(n)
        n += step
    sign, digits = ("-" if start < 0 else ""), str(abs(start))
    zeros = 1
    while True:
        yield f"{sign}{'0' * zeros}{digits}"
        zeros += 1


def absent_ok(r: Requirement) -> bool:
    """``NotIn`` or ``DoesNotExist`` with no bound: an absent label satisfies it."""
    return (r.complement is bool(r.values)) and r.gte is None and r.lte is None


__all__ = [
    "MAX_INT",
    "MIN_INT",
    "OPERATORS",
    "Requirement",
    "RequirementError",
    "absent_ok",
    "parse_int",
]
