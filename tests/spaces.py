"""Finite spaces of test values, each drawn by hypothesis as one integer.

The placement property tests draw pods and NodePools from small alphabets. Built from
``st.lists``/``st.one_of``/``st.composite``, one example took some 20 draws, and drawing was
most of the run time. A :class:`Space` enumerates the same values and decodes one integer
into one of them, so a whole field (a list of up to three terms, a set of NodePools) is
one draw.

Two details keep the power of the test:

* hypothesis prefers small integers, which would favour the first values of a space; the
  drawn integer goes through a bijection of ``[0, size)`` that fixes 0 (multiplication by a
  unit modulo ``size``), so every part of the space is reached about as often;
* unions weigh their branches equally (a list is as often short as long, as with the
  strategies it replaces), and 0 decodes to the simplest value (no list items, the first
  item), so shrinking a field still heads for its simplest value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")
U = TypeVar("U")
_GOLDEN = (math.sqrt(5) - 1) / 2


@dataclass(frozen=True)
class Space(Generic[T]):
    """``size`` values, the ``i``-th being ``decode(i)``."""

    size: int
    decode: Callable[[int], T]

    def map(self, fn: Callable[[T], U]) -> Space[U]:
        decode = self.decode
        return Space(self.size, lambda i: fn(decode(i)))

    def strategy(self) -> st.SearchStrategy[T]:
        """One integer draw, scrambled (module docstring), decoded."""
        size, decode = self.size, self.decode
        unit = _unit(size)
        return st.integers(0, size - 1).map(lambda i: decode(i * unit % size))


def _unit(size: int) -> int:
    """A multiplier coprime with ``size`` near ``size`` times the golden ratio, so small
    integers land far apart."""
    unit = max(1, int(size * _GOLDEN)) | 1
    while math.gcd(unit, size) != 1:
        unit += 2
    return unit


def of(items: Sequence[T]) -> Space[T]:
    """Each item once; the first is the simplest."""
    values = tuple(items)
    return Space(len(values), values.__getitem__)


def union(*spaces: Space[Any]) -> Space[Any]:
    """The spaces' values, each space drawn equally often (branch ``i % k``)."""
    count = len(spaces)
    inner = math.lcm(*(s.size for s in spaces))

    def decode(i: int) -> Any:
        space = spaces[i % count]
        return space.decode(i // count % space.size)

    return Space(count * inner, decode)


def product(*spaces: Space[Any]) -> Space[tuple[Any, ...]]:
    """Tuples with one value from each space (mixed radix)."""

    def decode(i: int) -> tuple[Any, ...]:
        out = []
        for space in spaces:
            i, digit = divmod(i, space.size)
            out.append(space.decode(digit))
        return tuple(out)

    return Space(math.prod(s.size for s in spaces), decode)


def lists(space: Space[T], min_size: int, max_size: int) -> Space[list[T]]:
    """Lists of ``min_size`` to ``max_size`` values, each length equally often."""
    return union(*(product(*[space] * n).map(list) for n in range(min_size, max_size + 1)))


def optional(space: Space[T]) -> Space[T | None]:
    """None half of the time (as ``st.none() | strategy``)."""
    return union(of([None]), space)


__all__ = ["Space", "lists", "of", "optional", "product", "union"]
