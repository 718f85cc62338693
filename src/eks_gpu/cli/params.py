"""Shared flag parsing: comma lists, as kubectl and the AWS CLI accept them."""

from __future__ import annotations

from collections.abc import Iterable


def comma_list(values: Iterable[str]) -> tuple[str, ...]:
    """``('g5,g6', 'p5')`` -> ``('g5', 'g6', 'p5')``: repeated flags and comma lists both work."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


__all__ = ["comma_list"]
