"""Requirements on a concrete label set: does this node (or instance type) satisfy them?

A requirement is what Kubernetes calls a node selector requirement and Karpenter a NodePool
requirement: ``{key, operator, values}`` with the operators ``In``, ``NotIn``, ``Exists``,
``DoesNotExist``, ``Gt``, ``Lt`` and Karpenter's inclusive ``Gte``/``Lte``. A list of them
is a conjunction (a ``matchExpressions`` list, a NodePool's ``requirements``).

Here the node side is *concrete*: one label set, as a real node or one catalog instance type
has. That is all the lint rules and the diagnosis engine need; comparing two requirement
*sets* (NodePool against pod) is the job of the requirement algebra. The semantics follow
Kubernetes: a missing label fails ``In``, ``Exists`` and the numeric operators and passes
``NotIn`` and ``DoesNotExist``; numeric operators compare integers and fail on anything
else. Deprecated ``beta.kubernetes.io/*`` and ``failure-domain.beta.*`` keys are read as
their current names, as Karpenter does.

Two questions built on that: can *any* label set satisfy a list (:func:`satisfiable`, exact
per key, which is how a pod's wish is compared with the labels a NodePool fixes), and which
catalog instance types a NodePool may launch (:func:`instance_types_allowed`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from eks_gpu.catalog.instance_types import InstanceType, all_instance_types
from eks_gpu.names import LABEL_NODEPOOL
from eks_gpu.scheduling.requirement import OPERATORS
from eks_gpu.scheduling.well_known import KEY_ALIASES, normalize_key

NUMERIC_OPERATORS = ("Gt", "Lt", "Gte", "Lte")
_ALIASES_OF: Mapping[str, tuple[str, ...]] = {
    name: tuple(alias for alias, current in KEY_ALIASES.items() if current == name)
    for name in set(KEY_ALIASES.values())
}
_INTEGER = re.compile(r"-?[0-9]+")

Requirement = Mapping[str, Any]


def _label(labels: Mapping[str, str], key: str) -> str | None:
    """The value of ``key`` (a normalized key) in ``labels``, also under its old names."""
    value = labels.get(key)
    if value is None:
        for alias in _ALIASES_OF.get(key, ()):
            value = labels.get(alias)
            if value is not None:
                break
    return None if value is None else str(value)


def _integer(text: str | None) -> int | None:
    return int(text) if text is not None and _INTEGER.fullmatch(text) else None


def _values(requirement: Requirement) -> list[str]:
    raw = requirement.get("values")
    return [str(v) for v in raw] if isinstance(raw, list) else []


def _shown(value: str | None) -> str:
    return "absent" if value is None else f'"{value}"'


def _compare(operator: str, number: int, bound: int) -> bool:
    if operator == "Gt":
        return number > bound
    if operator == "Lt":
        return number < bound
    if operator == "Gte":
        return number >= bound
    return number <= bound


def _numeric_reason(key: str, operator: str, values: list[str], value: str | None) -> str | None:
    """Why ``value`` fails a Gt/Lt/Gte/Lte requirement, or None when it holds."""
    bound = _integer(values[0]) if len(values) == 1 else None
    if bound is None:
        return f"{key} {operator} needs exactly one integer value, got {values}"
    number = _integer(value)
    if number is not None and _compare(operator, number, bound):
        return None
    return f"label {key} is {_shown(value)}, not {operator} {bound}"


def requirement_reason(labels: Mapping[str, str], requirement: Requirement) -> str | None:
    """Why ``labels`` fail one requirement, or None when they satisfy it.

    ``In`` with no values matches nothing, as in Kubernetes (the API refuses it anyway).
    """
    key = normalize_key(str(requirement.get("key", "")))
    operator = str(requirement.get("operator", ""))
    values = _values(requirement)
    value = _label(labels, key)
    if operator in NUMERIC_OPERATORS:
        return _numeric_reason(key, operator, values, value)
    if operator == "In":
        holds = value is not None and value in values
    elif operator == "NotIn":
        holds = value is None or value not in values
    elif operator == "Exists":
        holds = value is not None
    elif operator == "DoesNotExist":
        holds = value is None
    else:
        return f"{key}: unknown operator {operator!r} (known: {', '.join(OPERATORS)})"
    if holds:
        return None
    shown_values = f" {values}" if operator in ("In", "NotIn") else ""
    return f"label {key} is {_shown(value)}, not {operator}{shown_values}"


def check_satisfies(labels: Mapping[str, str], requirements: Sequence[Requirement]) -> list[str]:
    """Every reason ``labels`` fail ``requirements`` (empty when they satisfy all of them)."""
    reasons = (requirement_reason(labels, r) for r in requirements)
    return [reason for reason in reasons if reason is not None]


def satisfies(labels: Mapping[str, str], requirements: Sequence[Requirement]) -> bool:
    """True when ``labels`` satisfy every requirement (an empty list is always satisfied)."""
    return all(requirement_reason(labels, r) is None for r in requirements)


def _bounds(requirements: Sequence[Requirement]) -> tuple[int | None, int | None]:
    """The inclusive integer range the numeric requirements leave, ``None`` for unbounded."""
    low: int | None = None
    high: int | None = None
    for requirement in requirements:
        operator, values = requirement.get("operator"), _values(requirement)
        bound = _integer(values[0]) if len(values) == 1 else None
        if bound is None or operator not in NUMERIC_OPERATORS:
            continue
        if operator in ("Gt", "Gte"):
            start = bound + 1 if operator == "Gt" else bound
            low = start if low is None else max(low, start)
        else:
            end = bound - 1 if operator == "Lt" else bound
            high = end if high is None else min(high, end)
    return low, high


def _witnesses(requirements: Sequence[Requirement]) -> Iterator[str | None]:
    """Candidate values of one key, enough to find one satisfying all requirements if any does.

    Absent; every listed value; integers at the edge of the numeric range, skipping as many as
    ``NotIn`` could exclude; and a fresh value no requirement names.
    """
    yield None
    listed = sorted({v for r in requirements for v in _values(r)})
    yield from listed
    low, high = _bounds(requirements)
    if low is not None:
        yield from (str(low + step) for step in range(len(listed) + 1))
    elif high is not None:
        yield from (str(high - step) for step in range(len(listed) + 1))
    yield "*" * (max((len(v) for v in listed), default=0) + 1)


def check_satisfiable(requirements: Sequence[Requirement]) -> list[str]:
    """Keys whose requirements no label value (nor its absence) can satisfy, with why."""
    by_key: dict[str, list[Requirement]] = {}
    for requirement in requirements:
        by_key.setdefault(normalize_key(str(requirement.get("key", ""))), []).append(requirement)
    reasons = []
    for key, group in by_key.items():
        candidates = ({} if value is None else {key: value} for value in _witnesses(group))
        if not any(satisfies(labels, group) for labels in candidates):
            shown = " and ".join(f"{r.get('operator')} {_values(r)}" for r in group)
            reasons.append(f"no value of {key} satisfies {shown}")
    return reasons


def satisfiable(requirements: Sequence[Requirement]) -> bool:
    """True when some label set satisfies every requirement (keys are independent)."""
    return not check_satisfiable(requirements)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def nodepool_requirements(nodepool: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What every node of ``nodepool`` has: its requirements, template labels as ``In``, and
    ``karpenter.sh/nodepool`` (as Karpenter builds a NodeClaim's requirements)."""
    template = _mapping(_mapping(nodepool.get("spec")).get("template"))
    raw = _mapping(template.get("spec")).get("requirements")
    out = [dict(r) for r in raw if isinstance(r, Mapping)] if isinstance(raw, list) else []
    labels = _mapping(_mapping(template.get("metadata")).get("labels"))
    out += [{"key": k, "operator": "In", "values": [str(v)]} for k, v in sorted(labels.items())]
    name = _mapping(nodepool.get("metadata")).get("name")
    if name:
        out.append({"key": LABEL_NODEPOOL, "operator": "In", "values": [str(name)]})
    return out


@cache
def instance_type_keys() -> frozenset[str]:
    """Every label key catalog instance types define (absent on a type = ``DoesNotExist``)."""
    return frozenset(key for it in all_instance_types().values() for key in it.labels)


def instance_type_requirements(nodepool: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The NodePool's requirements (labels included) on keys that instance types define.

    The others (capacity type, zone, custom labels) constrain offerings or the node's own
    labels, never which instance type it is.
    """
    keys = instance_type_keys()
    return [r for r in nodepool_requirements(nodepool) if normalize_key(str(r.get("key"))) in keys]


def instance_types_allowed(
    nodepool: Mapping[str, Any], candidates: Iterable[InstanceType] | None = None
) -> list[InstanceType]:
    """Catalog instance types (or ``candidates``) ``nodepool`` may launch, by name."""
    requirements = instance_type_requirements(nodepool)
    pool = all_instance_types().values() if candidates is None else candidates
    return sorted((it for it in pool if satisfies(it.labels, requirements)), key=lambda i: i.name)


__all__ = [
    "NUMERIC_OPERATORS",
    "Requirement",
    "check_satisfiable",
    "check_satisfies",
    "instance_type_keys",
    "instance_type_requirements",
    "instance_types_allowed",
    "nodepool_requirements",
    "requirement_reason",
    "satisfiable",
    "satisfies",
]
