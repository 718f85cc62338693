"""Can a pod land on a NodePool's nodes? Tolerations against taints, selectors against labels.

The pod side is its ``nodeSelector`` plus the terms of its required node affinity (terms
are alternatives; ``matchFields`` are ignored, node names being unknowable offline). The
pool side is what :mod:`eks_gpu.validate.rules.pools` worked out. A pod requirement on a key
that instance types define must hold on one instance type the pool allows; any other key
must be compatible with the pool's own requirements and labels or, when the pool says
nothing about it, be well-known (zone, capacity type...) or tolerate the label's absence:
Karpenter's asymmetric compatibility.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eks_gpu.catalog.instance_types import InstanceType
from eks_gpu.names import (
    LABEL_CAPACITY_TYPE,
    LABEL_REGION,
    LABEL_WINDOWS_BUILD,
    LABEL_ZONE,
    PREFIX_AWS,
    RESOURCE_NVIDIA_GPU,
)
from eks_gpu.scheduling.labels import (
    check_satisfiable,
    instance_type_keys,
    nodepool_requirements,
    satisfies,
)
from eks_gpu.scheduling.taints import untolerated
from eks_gpu.scheduling.well_known import normalize_key
from eks_gpu.validate.rules.pools import Pool, format_taint
from eks_gpu.validate.rules.workloads import quantity

WELL_KNOWN = frozenset(
    {
        LABEL_ZONE,
        LABEL_REGION,
        LABEL_CAPACITY_TYPE,
        LABEL_WINDOWS_BUILD,
    }
)
Term = list[dict[str, Any]]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def untolerated_taints(pod_spec: dict[str, Any], taints: Sequence[dict[str, Any]]) -> list[str]:
    """The taints (as ``key=value:Effect``) the pod does not tolerate.

    Every taint given counts, whatever its effect: callers pass the pool's
    ``NoSchedule``/``NoExecute`` taints (:attr:`Pool.hard_taints`). The match is
    :func:`eks_gpu.scheduling.taints.tolerates`.
    """
    raw = pod_spec.get("tolerations")
    tolerations = [t for t in raw if isinstance(t, dict)] if isinstance(raw, list) else []
    return [format_taint(taint) for taint in untolerated(taints, tolerations)]


def exists_toleration(taint: str) -> str:
    """The ``{key: k, operator: Exists, effect: E}`` toleration for a ``key=value:Effect`` taint."""
    key, _, effect = taint.partition(":")
    return f"{{key: {key.partition('=')[0]}, operator: Exists, effect: {effect}}}"


def selector_terms(pod_spec: dict[str, Any]) -> list[Term]:
    """The pod's node requirements as alternatives: ``nodeSelector`` AND one affinity term.

    An affinity term with no expressions and no fields matches no node, as in Kubernetes.
    """
    selector = _dict(pod_spec.get("nodeSelector"))
    base = [{"key": k, "operator": "In", "values": [str(v)]} for k, v in selector.items()]
    node_affinity = _dict(_dict(pod_spec.get("affinity")).get("nodeAffinity"))
    required = _dict(node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution"))
    raw_terms = required.get("nodeSelectorTerms")
    if not isinstance(raw_terms, list) or not raw_terms:
        return [base]
    terms = []
    for raw in raw_terms:
        term = _dict(raw)
        expressions = [e for e in term.get("matchExpressions") or [] if isinstance(e, dict)]
        if expressions or term.get("matchFields"):
            terms.append(base + expressions)
    return terms


def has_node_constraints(pod_spec: dict[str, Any]) -> bool:
    """True when the pod has a ``nodeSelector`` or required node affinity at all."""
    return selector_terms(pod_spec) != [[]]


def _show(term: Term) -> str:
    parts = (f"{r.get('key')} {r.get('operator')} {r.get('values') or ''}" for r in term)
    return ", ".join(part.rstrip() for part in parts)


def _gives_gpus(types: Sequence[InstanceType]) -> list[InstanceType]:
    """The types with ``nvidia.com/gpu`` capacity (as Karpenter models it)."""
    return [it for it in types if (quantity(it.resources.get(RESOURCE_NVIDIA_GPU)) or 0) > 0]


def _instance_type_reasons(term: Term, pool: Pool, gpu: bool) -> list[str]:
    """Why no instance type of the pool satisfies the term's instance-type keys."""
    types = _gives_gpus(pool.instance_types) if gpu else list(pool.instance_types)
    if not types:
        return [
            f"it launches no instance type with {RESOURCE_NVIDIA_GPU}"
            if gpu
            else "it launches none"
        ]
    if any(satisfies(it.labels, term) for it in types):
        return []
    failing = [r for r in term if not any(satisfies(it.labels, [r]) for it in types)]
    if not failing:
        return [f"no single instance type it allows has all of {_show(term)}"]
    return [f"no instance type it allows has {_show(failing)}"]


def _other_key_reasons(key: str, wanted: Term, pool: Pool) -> list[str]:
    """Why a pod requirement on a key instance types do not define cannot hold on the pool."""
    offered = [r for r in nodepool_requirements(pool.obj) if normalize_key(str(r["key"])) == key]
    if offered:
        if not check_satisfiable(offered + wanted):
            return []
        return [f"its nodes have {_show(offered)}, the pod wants {_show(wanted)}"]
    if key in WELL_KNOWN or key.startswith(PREFIX_AWS):
        return check_satisfiable(wanted)
    if satisfies({}, wanted):
        return []
    return [f"it does not set label {key} (in its template labels or requirements)"]


def term_reasons(term: Term, pool: Pool, gpu: bool) -> list[str]:
    """Why one selector term cannot be met by a node of ``pool`` (empty when it can)."""
    keys = instance_type_keys()
    by_key: dict[str, Term] = {}
    for requirement in term:
        by_key.setdefault(normalize_key(str(requirement.get("key", ""))), []).append(requirement)
    typed = [r for key, group in by_key.items() if key in keys for r in group]
    reasons = _instance_type_reasons(typed, pool, gpu)
    for key, group in by_key.items():
        if key not in keys:
            reasons += _other_key_reasons(key, group, pool)
    return reasons


def selector_reasons(pod_spec: dict[str, Any], pool: Pool, gpu: bool) -> list[str]:
    """Why no node of ``pool`` matches the pod's selector and affinity (empty when one does)."""
    terms = selector_terms(pod_spec)
    if not terms:
        return ["its required node affinity has only empty terms, which match no node"]
    first: list[str] = []
    for term in terms:
        reasons = term_reasons(term, pool, gpu)
        if not reasons:
            return []
        first = first or reasons
    return first


def landing_types(pod_spec: dict[str, Any], pool: Pool, gpu: bool) -> list[InstanceType]:
    """The pool's instance types the pod could run on (none when taints or labels forbid)."""
    if untolerated_taints(pod_spec, pool.hard_taints) or selector_reasons(pod_spec, pool, gpu):
        return []
    keys = instance_type_keys()
    terms = [
        [r for r in term if normalize_key(str(r.get("key", ""))) in keys]
        for term in selector_terms(pod_spec)
    ]
    types = _gives_gpus(pool.instance_types) if gpu else list(pool.instance_types)
    return [it for it in types if any(satisfies(it.labels, term) for term in terms)]


__all__ = [
    "WELL_KNOWN",
    "exists_toleration",
    "has_node_constraints",
    "landing_types",
    "selector_reasons",
    "selector_terms",
    "term_reasons",
    "untolerated_taints",
]
