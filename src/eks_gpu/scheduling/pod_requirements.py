"""A pod's node requirements, and the relaxation ladder Karpenter walks when they fail.

The sources are the pod's ``nodeSelector`` (as ``In``), one term of its required node
affinity (terms are alternatives; later terms are tried as relaxations) and, under
Karpenter's default ``Respect`` preference policy, the heaviest preferred term treated as
required, then relaxed away (:func:`pod_requirement_variants`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eks_gpu.scheduling.requirements import EMPTY, RequirementError, Requirements

_NODE_AFFINITY = "spec.affinity.nodeAffinity"
_REQUIRED_FIELD = "requiredDuringSchedulingIgnoredDuringExecution"
_PREFERRED_FIELD = "preferredDuringSchedulingIgnoredDuringExecution"
_VARIANTS_CACHE: dict[Any, tuple[tuple[Requirements, str], ...]] = {}
_VARIANTS_CACHE_SIZE = 4096


def _node_affinity(pod_spec: Mapping[str, Any]) -> Mapping[str, Any]:
    affinity = pod_spec.get("affinity")
    node = affinity.get("nodeAffinity") if isinstance(affinity, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _required_terms(node_affinity: Mapping[str, Any]) -> list[Requirements]:
    required = node_affinity.get(_REQUIRED_FIELD)
    terms = required.get("nodeSelectorTerms") if isinstance(required, Mapping) else None
    path = f"{_NODE_AFFINITY}.{_REQUIRED_FIELD}.nodeSelectorTerms"
    return [
        Requirements.from_dicts(
            term.get("matchExpressions") if isinstance(term, Mapping) else None,
            f"{path}[{i}].matchExpressions",
        )
        for i, term in enumerate(terms or ())
    ]


def _preferred_terms(node_affinity: Mapping[str, Any]) -> list[tuple[int, int, Requirements]]:
    """``(index, weight, requirements)``, heaviest first (ties keep their order)."""
    out = []
    for i, term in enumerate(node_affinity.get(_PREFERRED_FIELD) or ()):
        term = term if isinstance(term, Mapping) else {}
        preference = term.get("preference")
        expressions = (
            preference.get("matchExpressions") if isinstance(preference, Mapping) else None
        )
        path = f"{_NODE_AFFINITY}.{_PREFERRED_FIELD}[{i}].preference.matchExpressions"
        weight = term.get("weight", 0)
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise RequirementError(f"{_NODE_AFFINITY}.{_PREFERRED_FIELD}[{i}].weight",
                                   f"must be an integer, got {weight!r}")  # fmt: skip
        out.append((i, weight, Requirements.from_dicts(expressions, path)))
    return sorted(out, key=lambda t: -t[1])


def _node_selector(pod_spec: Mapping[str, Any]) -> Requirements:
    selector = pod_spec.get("nodeSelector")
    if selector is not None and not isinstance(selector, Mapping):
        raise RequirementError("spec.nodeSelector", f"must be a mapping, got {selector!r}")
    return Requirements.from_labels(selector)


def pod_requirements(
    pod_spec: Mapping[str, Any], term: int = 0, with_preferred: bool = True
) -> Requirements | None:
    """A pod's node requirements: ``nodeSelector`` + required term ``term`` (+ the heaviest
    preferred term, treated as required as Karpenter's default ``Respect`` policy does).

    ``pod_spec`` is the pod's ``spec``. None when ``term`` > 0 and the pod has no such
    term; a :class:`RequirementError` (``ValueError``) naming the field on bad input.
    """
    node_affinity = _node_affinity(pod_spec)
    terms = _required_terms(node_affinity)
    if term != 0 and not 0 <= term < len(terms):
        return None
    out = _node_selector(pod_spec)
    if terms:
        out = out.add(terms[term])
    if with_preferred:
        preferred = _preferred_terms(node_affinity)
        if preferred:
            out = out.add(preferred[0][2])
    return out


def pod_requirement_variants(pod_spec: Mapping[str, Any]) -> list[tuple[Requirements, str]]:
    """The relaxation ladder, strictest first, each with a short note; duplicates dropped.

    Karpenter's order (``Preferences.Relax``): while more than one required term is left,
    the first is dropped; then the preferred terms are dropped, heaviest first. With
    required terms T0..Tn and preferred terms P0..Pm (heaviest first, ties in list order)
    the ladder is T0+P0, T1+P0, …, Tn+P0, Tn+P1, …, Tn+Pm, Tn. ``nodeSelector`` is part of
    every variant. Results are cached by the pod's ``nodeSelector`` and node affinity.
    """
    selector, node_affinity = pod_spec.get("nodeSelector"), _node_affinity(pod_spec)
    if not selector and not node_affinity:
        return [(EMPTY, "as written")]
    key = (_freeze(selector), _freeze(node_affinity))
    cached = _VARIANTS_CACHE.get(key)
    if cached is None:
        cached = _ladder(_node_selector(pod_spec), node_affinity)
        if len(_VARIANTS_CACHE) >= _VARIANTS_CACHE_SIZE:
            _VARIANTS_CACHE.clear()
        _VARIANTS_CACHE[key] = cached
    return list(cached)


def _ladder(
    base: Requirements, node_affinity: Mapping[str, Any]
) -> tuple[tuple[Requirements, str], ...]:
    terms = [(f"required term {i}", r) for i, r in enumerate(_required_terms(node_affinity))]
    terms = terms or [("", EMPTY)]
    preferred = [
        (f"preferred term {i} (weight {weight})", r)
        for i, weight, r in _preferred_terms(node_affinity)
    ]
    steps = [(term, preferred[:1]) for term in terms]
    steps += [(terms[-1], [p]) for p in preferred[1:]]
    if preferred:
        steps.append((terms[-1], []))
    out: dict[Requirements, str] = {}
    for (term_note, term), prefs in steps:
        requirements = base.add(term, *(r for _, r in prefs))
        note = " + ".join(n for n in (term_note, *(n for n, _ in prefs)) if n)
        out.setdefault(requirements, note or ("without preferences" if preferred else "as written"))
    return tuple(out.items())


def _freeze(obj: Any) -> Any:
    """A hashable stand-in for a JSON-like value (for cache keys)."""
    if isinstance(obj, Mapping):
        return frozenset((k, _freeze(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return tuple(_freeze(v) for v in obj)
    return obj


__all__ = ["pod_requirement_variants", "pod_requirements"]
