"""``requirement-matches-nothing``: a NodePool requirement no instance type can meet.

Karpenter drops every instance type whose requirements do not intersect the NodeClaim
template's (sigs.k8s.io/karpenter@v1.14.1 ``pkg/controllers/provisioning/scheduling/
nodeclaim.go`` ``filterInstanceTypesByRequirements``), so one requirement that matches no
type leaves the pool launching nothing, with no error anywhere: pods just stay Pending.
Typical causes: label values Karpenter lowercases (``instance-gpu-manufacturer In [NVIDIA]``),
the guide's word ``p4`` for what Karpenter calls ``p4d``/``p4de``, a capacity type spelled
``Spot`` (values are case-sensitive), a ``Gt`` bound above every type.

Which values exist comes from the one instance model (:mod:`eks_gpu.scheduling.
instance_model`): a requirement is checked against every catalog type's requirement on the
same key. When every requirement alone matches something but together they match nothing,
the pool is reported as a whole.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import cache
from typing import Any

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_CAPACITY_TYPE, LABEL_INSTANCE_TENANCY
from eks_gpu.scheduling.instance_model import ABSENT_KEYS, admitted_types, catalog_types
from eks_gpu.scheduling.requirement import Requirement, RequirementError, parse_int
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.pools import pool_of
from eks_gpu.validate.rules.rule import Rule

# Karpenter's capacity types (sigs.k8s.io/karpenter@v1.14.1 pkg/apis/v1/labels.go).
CAPACITY_TYPES = ("on-demand", "reserved", "spot")
PATH = ".spec.template.spec.requirements"


@cache
def known_values(key: str) -> tuple[str, ...]:
    """Every value catalog types carry for ``key`` (capacity types: Karpenter's three)."""
    if key == LABEL_CAPACITY_TYPE:
        return CAPACITY_TYPES
    values: set[str] = set()
    for instance_type in catalog_types():
        requirement = instance_type.requirements.get(key)
        if not requirement.complement:
            values |= requirement.values
    return tuple(sorted(values))


@cache
def defined_keys() -> frozenset[str]:
    """The label keys whose values the catalog knows (as a value or ``DoesNotExist``), plus
    the capacity type. Keys the model only pins (capacity reservations, Windows build,
    tenancy) are left out: real offerings can carry values the model does not."""
    first = catalog_types()[0].requirements
    unknown = {*ABSENT_KEYS, LABEL_INSTANCE_TENANCY}
    return frozenset(first.keys() - unknown) | {LABEL_CAPACITY_TYPE}


def _matches_some_type(requirement: Requirement) -> bool:
    if requirement.key == LABEL_CAPACITY_TYPE:
        return any(requirement.has(value) for value in CAPACITY_TYPES)
    return any(
        t.requirements.get(requirement.key).has_intersection(requirement) for t in catalog_types()
    )


def _value_hint(value: str, known: tuple[str, ...]) -> str:
    """Why one listed value matches nothing, and what was probably meant."""
    if value.lower() != value and value.lower() in known:
        return f'"{value}" (values are lowercase: "{value.lower()}")'
    near = [k for k in known if k.lower().startswith(value.lower()) and k != value]
    if near:
        return f'"{value}" (no such value; did you mean {", ".join(near[:4])}?)'
    close = difflib.get_close_matches(value, known, n=2, cutoff=0.75)
    if close:
        return f'"{value}" (did you mean {", ".join(close)}?)'
    return f'"{value}"'


def _bounds_text(key: str) -> str:
    numbers = sorted(n for n in map(parse_int, known_values(key)) if n is not None)
    return f"instance types carry {numbers[0]} to {numbers[-1]}" if numbers else "none is numeric"


def _describe(item: dict[str, Any], requirement: Requirement) -> tuple[str, str]:
    """The message and fix for one requirement that matches no type."""
    key, operator = requirement.key, str(item.get("operator"))
    known = known_values(key)
    shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
    if operator == "In":
        values = [str(v) for v in item.get("values") or []]
        hints = ", ".join(_value_hint(v, known) for v in values)
        return (
            f"{key} In [{', '.join(values)}] matches no instance type: {hints}; the pool "
            "launches nothing and its pods stay Pending",
            f"use values Karpenter sets for {key} (case-sensitive), e.g. {shown}",
        )
    if operator in ("Gt", "Lt", "Gte", "Lte"):
        values = item.get("values") or ["?"]
        return (
            f"{key} {operator} {values[0]} matches no instance type ({_bounds_text(key)}); the "
            "pool launches nothing and its pods stay Pending",
            f"pick a bound some instance type meets ({_bounds_text(key)})",
        )
    return (
        f"{key} {operator} matches no instance type; the pool launches nothing",
        f"relax the requirement on {key}; known values: {shown}",
    )


def _requirement_findings(nodepool: dict[str, Any]) -> Iterator[Finding]:
    spec = nodepool.get("spec") if isinstance(nodepool.get("spec"), dict) else {}
    template = (spec or {}).get("template") or {}
    items = (template.get("spec") or {}).get("requirements") if isinstance(template, dict) else []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        try:
            requirement = Requirement.create(
                item.get("key", ""), str(item.get("operator")), item.get("values") or ()
            )
        except (RequirementError, TypeError):
            continue  # the CRD schema and CEL checks report malformed requirements
        if requirement.key not in defined_keys() or _matches_some_type(requirement):
            continue
        message, fix = _describe(item, requirement)
        yield RULE.finding(nodepool, f"{PATH}[{index}]", message, fix)


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for nodepool in manifests.nodepools:
        found = list(_requirement_findings(nodepool))
        yield from found
        pool = pool_of(nodepool)
        if found or pool is None:
            continue
        known = Requirements(r for r in pool.requirements if r.key in defined_keys())
        if admitted_types(known):
            continue
        yield RULE.finding(
            nodepool,
            PATH,
            "each requirement matches some instance type, but together they match none (and "
            "the template labels): the pool launches nothing and its pods stay Pending",
            "relax one requirement; `eks-gpu instances` lists the types and their labels",
        )


RULE = Rule(
    id="requirement-matches-nothing",
    severity="error",
    summary="a NodePool requirement (or the set of them) that no instance type meets",
    check=_check,
)

__all__ = ["CAPACITY_TYPES", "RULE", "defined_keys", "known_values"]
