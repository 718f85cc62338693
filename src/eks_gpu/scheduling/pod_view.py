"""A pod spec read once: its node requirements, tolerations and requests (:class:`PodView`).

Every consumer of "where may this pod run" (the simulator, DaemonSet overhead, the
isolation check, the validate rules) reads the same :class:`PodView`, so none of them
parses ``nodeSelector`` or node affinity on its own and none can disagree with another.

Sources, after Karpenter v1.14.1 ``pkg/scheduling/requirements.go`` ``newPodRequirements``:

* ``nodeSelector`` as ``In`` requirements, part of every alternative;
* the required node affinity terms, which are ORed: :attr:`PodView.terms` holds
  ``nodeSelector AND term`` for each, in order (just ``(nodeSelector,)`` without terms).
  Karpenter starts with the first term and drops one at a time when it fails
  (``Preferences.removeRequiredNodeAffinityTerm``). A term with neither
  ``matchExpressions`` nor ``matchFields`` matches no node (kube-scheduler's rule; Karpenter
  would read it as "anything", but the pod could never bind), so it is left out; a pod
  whose terms are all empty has no ``terms`` at all and can go nowhere. ``matchFields``
  cannot be known for a node that does not exist yet and are ignored.
* the preferred terms, heaviest first: under Karpenter's default ``Respect`` policy the
  heaviest is treated as required, then relaxed away (:meth:`PodView.variants`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.requirement import RequirementError
from eks_gpu.scheduling.requirements import EMPTY, Requirements
from eks_gpu.scheduling.resources import pod_requests
from eks_gpu.scheduling.taints import Toleration

_NODE_AFFINITY = "spec.affinity.nodeAffinity"
_REQUIRED_FIELD = "requiredDuringSchedulingIgnoredDuringExecution"
_PREFERRED_FIELD = "preferredDuringSchedulingIgnoredDuringExecution"
_TERMS_PATH = f"{_NODE_AFFINITY}.{_REQUIRED_FIELD}.nodeSelectorTerms"


class Variant(NamedTuple):
    """One rung of the relaxation ladder: the requirements tried, and a short note."""

    requirements: Requirements
    note: str


@dataclass(frozen=True)
class PodView:
    """What placement needs from one pod spec, parsed once (see the module docstring).

    ``terms`` are the strict requirement alternatives (``nodeSelector`` AND each non-empty
    required term; ``()`` when every term is empty: the pod matches no node).
    ``preferred`` is ``(weight, requirements)``, heaviest first, ties in spec order.
    ``requests`` are the effective requests (:func:`~eks_gpu.scheduling.resources.pod_requests`:
    init containers, sidecars, overhead, one ``pods`` slot).
    """

    node_selector: Requirements
    terms: tuple[Requirements, ...]
    preferred: tuple[tuple[int, Requirements], ...]
    tolerations: tuple[Toleration, ...] = field(hash=False)
    requests: Mapping[str, Decimal] = field(hash=False)
    ladder: tuple[Variant, ...] = field(repr=False)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> PodView:
        """Parse a pod's ``spec`` (or a template's).

        Raises:
            RequirementError: a bad ``nodeSelector``, node affinity term or weight, naming
                the field (``spec.affinity.nodeAffinity...[1].matchExpressions[0].values``).
            ValueError: bad ``spec.tolerations`` or resource quantities, naming the field.
        """
        node_affinity = _node_affinity(spec)
        selector = _node_selector(spec)
        required = _required_terms(node_affinity)
        preferred = _preferred_terms(node_affinity)
        if required is None:  # every term is empty: no node matches
            terms: tuple[Requirements, ...] = ()
            ladder: tuple[Variant, ...] = ()
        else:
            terms = tuple(selector.add(term) for _, term in required) or (selector,)
            ladder = _ladder(selector, required, preferred)
        return cls(
            node_selector=selector,
            terms=terms,
            preferred=tuple((weight, term) for _, weight, term in preferred),
            tolerations=_tolerations(spec),
            requests=pod_requests(spec),
            ladder=ladder,
        )

    def variants(self) -> tuple[Variant, ...]:
        """The relaxation ladder, strictest first; duplicates dropped; ``()`` if no node matches.

        Karpenter's order (``Preferences.Relax``): while more than one required term is left,
        the first is dropped; then the preferred terms are dropped, heaviest first. With
        required terms T0..Tn and preferred terms P0..Pm (heaviest first, ties in list order)
        the ladder is T0+P0, T1+P0, …, Tn+P0, Tn+P1, …, Tn+Pm, Tn. ``nodeSelector`` is part
        of every rung. (The last step, tolerating ``PreferNoSchedule`` taints, is a toleration,
        not a requirement: see ``placement.check_pool``.)
        """
        return self.ladder

    @property
    def requirements(self) -> Requirements | None:
        """The first rung (Karpenter's ``NewPodRequirements``); None if no node matches."""
        return self.ladder[0].requirements if self.ladder else None

    @property
    def gpus(self) -> Decimal:
        """The ``nvidia.com/gpu`` the pod requests (0 when none)."""
        return self.requests.get(RESOURCE_NVIDIA_GPU, Decimal(0))


def _node_affinity(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    affinity = spec.get("affinity")
    node = affinity.get("nodeAffinity") if isinstance(affinity, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _node_selector(spec: Mapping[str, Any]) -> Requirements:
    selector = spec.get("nodeSelector")
    if selector is not None and not isinstance(selector, Mapping):
        raise RequirementError("spec.nodeSelector", f"must be a mapping, got {selector!r}")
    return Requirements.from_labels(selector)


def _is_empty_term(term: Any) -> bool:
    """A term with neither matchExpressions nor matchFields: it matches no node."""
    return not isinstance(term, Mapping) or not (
        term.get("matchExpressions") or term.get("matchFields")
    )


def _required_terms(
    node_affinity: Mapping[str, Any],
) -> list[tuple[int, Requirements]] | None:
    """``(index in the spec, requirements)`` of each non-empty required term; None when
    there are terms but all are empty (no node matches)."""
    required = node_affinity.get(_REQUIRED_FIELD)
    terms = required.get("nodeSelectorTerms") if isinstance(required, Mapping) else None
    if terms is not None and (not isinstance(terms, Sequence) or isinstance(terms, str)):
        raise RequirementError(_TERMS_PATH, f"must be a list of terms, got {terms!r}")
    out = [
        (i, Requirements.from_dicts(term.get("matchExpressions"), f"{_TERMS_PATH}[{i}]"
                                    ".matchExpressions"))
        for i, term in enumerate(terms or ())
        if not _is_empty_term(term)
    ]  # fmt: skip
    return None if terms and not out else out


def _preferred_terms(node_affinity: Mapping[str, Any]) -> list[tuple[int, int, Requirements]]:
    """``(index, weight, requirements)``, heaviest first (ties keep their order)."""
    out = []
    for i, term in enumerate(node_affinity.get(_PREFERRED_FIELD) or ()):
        term = term if isinstance(term, Mapping) else {}
        preference = term.get("preference")
        expressions = (
            preference.get("matchExpressions") if isinstance(preference, Mapping) else None
        )
        path = f"{_NODE_AFFINITY}.{_PREFERRED_FIELD}[{i}]"
        weight = term.get("weight", 0)
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise RequirementError(f"{path}.weight", f"must be an integer, got {weight!r}")
        out.append(
            (i, weight, Requirements.from_dicts(expressions, f"{path}.preference.matchExpressions"))
        )
    return sorted(out, key=lambda t: -t[1])


def _tolerations(spec: Mapping[str, Any]) -> tuple[Toleration, ...]:
    raw = spec.get("tolerations")
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise ValueError(f"spec.tolerations: must be a list of tolerations, got {raw!r}")
    for i, toleration in enumerate(raw):
        if not isinstance(toleration, Mapping):
            raise ValueError(f"spec.tolerations[{i}]: must be a mapping, got {toleration!r}")
    return tuple(raw)


def _ladder(
    base: Requirements,
    required: list[tuple[int, Requirements]],
    preferred: list[tuple[int, int, Requirements]],
) -> tuple[Variant, ...]:
    """The rungs of :meth:`PodView.variants` with their notes."""
    terms = [(f"required term {i}", r) for i, r in required] or [("", EMPTY)]
    prefs = [(f"preferred term {i} (weight {w})", r) for i, w, r in preferred]
    steps = [(term, prefs[:1]) for term in terms]
    steps += [(terms[-1], [p]) for p in prefs[1:]]
    if prefs:
        steps.append((terms[-1], []))
    out: dict[Requirements, str] = {}
    for (term_note, term), chosen in steps:
        requirements = base.add(term, *(r for _, r in chosen))
        note = " + ".join(n for n in (term_note, *(n for n, _ in chosen)) if n)
        out.setdefault(requirements, note or ("without preferences" if prefs else "as written"))
    return tuple(Variant(r, note) for r, note in out.items())


__all__ = ["PodView", "Variant"]
