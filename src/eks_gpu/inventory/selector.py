"""kubectl's label selector syntax (``--selector``/``-l``), parsed and matched without I/O.

The grammar is apimachinery's ``labels.Parse`` (k8s.io/apimachinery/pkg/labels/selector.go):
comma-separated requirements, each ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``,
``k notin (a,b)``, ``k`` (exists) or ``!k`` (does not exist). ``k!=v`` and ``notin`` match
objects without the label, as kubectl's do. Gt/Lt (``k>1``) are field-selector-only there
and not accepted here either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from eks_gpu.errors import UsageError

SELECTOR_HINT = "e.g. --selector 'karpenter.sh/nodepool=gpu,karpenter.sh/capacity-type in (spot)'"
_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
# Terms are stripped before matching, so no pattern starts or ends with ``\s*``: two runs of
# ``\s*`` side by side (``\s*(!?)\s*``) backtrack quadratically on a long run of spaces.
_SET = re.compile(rf"({_KEY})\s+(in|notin)\s*\(([^()]*)\)")
_EQ = re.compile(rf"({_KEY})\s*(==|=|!=)\s*({_VALUE})")
_EXISTS = re.compile(rf"(!?)\s*({_KEY})")
_VALUE_ONLY = re.compile(rf"^{_VALUE}$")


@dataclass(frozen=True)
class Requirement:
    """One term: ``key``, ``operator`` (``in``, ``notin``, ``exists``, ``!``), ``values``."""

    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this term (apimachinery ``Requirement.Matches``)."""
        if self.operator == "exists":
            return self.key in labels
        if self.operator == "!":
            return self.key not in labels
        value = labels.get(self.key)
        if self.operator == "in":
            return value is not None and value in self.values
        return value is None or value not in self.values  # notin, !=


@dataclass(frozen=True)
class Selector:
    """All terms must hold; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()
    text: str = ""

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with ``labels`` is selected."""
        found = labels or {}
        return all(term.matches(found) for term in self.requirements)


def _split_terms(text: str) -> list[str]:
    """Commas separate terms, except inside ``( )`` of a set term."""
    terms, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth < 0 or depth > 1:
            raise UsageError(f"--selector {text!r}: unbalanced parentheses", hint=SELECTOR_HINT)
        if char == "," and depth == 0:
            terms.append(text[start:index])
            start = index + 1
    if depth:
        raise UsageError(f"--selector {text!r}: unbalanced parentheses", hint=SELECTOR_HINT)
    terms.append(text[start:])
    return terms


def _values(raw: str, term: str) -> frozenset[str]:
    values = [value.strip() for value in raw.split(",")]
    for value in values:
        if not _VALUE_ONLY.match(value) or len(value) > 63:
            raise UsageError(f"--selector: {term.strip()!r}: {value!r} is not a valid label value")
    return frozenset(values)


def _term(term: str) -> Requirement:
    stripped = term.strip()
    if match := _SET.fullmatch(stripped):
        if not match[4].strip():
            raise UsageError(f"--selector: {term.strip()!r}: {match[3]} needs at least one value")
        return Requirement(match[1], match[3], _values(match[4], term))
    if match := _EQ.fullmatch(stripped):
        operator = "notin" if match[3] == "!=" else "in"
        return Requirement(match[1], operator, _values(match[4], term))
    if match := _EXISTS.fullmatch(stripped):
        return Requirement(match[2], "!" if match[1] else "exists")
    raise UsageError(
        f"--selector: {term.strip()!r} is not a label selector term "
        "(k=v, k!=v, k in (a,b), k notin (a,b), k, !k)",
        hint=SELECTOR_HINT,
    )


def parse_selector(text: str | None) -> Selector:
    """The selector ``text`` says (None or blank: select everything).

    Raises:
        UsageError: naming the term that is not valid selector syntax.
    """
    if text is None or not text.strip():
        return Selector()
    return Selector(tuple(_term(term) for term in _split_terms(text)), text)


__all__ = ["Requirement", "Selector", "parse_selector"]
