"""The one verdict "can this pod get a node from this NodePool", and DaemonSet fit.

Everything that asks where a pod may run (the simulator's new NodeClaims and open claims,
DaemonSet overhead, the isolation check, the validate rules) asks here, so the answers
cannot drift apart. The checks run in Karpenter v1.14.1's order
(``pkg/controllers/provisioning/scheduling/scheduler.go`` ``add`` → ``nodeclaim.go``
``CanAdd`` / ``filterInstanceTypesByRequirements``), and each level has its own function:

1. **taints** (:func:`check_taints`): the pod must tolerate *every* pool taint, whatever
   its effect (``Taints.ToleratesPod``); code ``taint-not-tolerated``;
2. **requirements** (:func:`check_requirements`): ``pool.requirements.check_compatible``
   (custom keys must be defined by the pool, well-known keys may stay undefined, shared keys
   must intersect); codes ``label-undefined`` / ``requirement-conflict``;
3. **instance types** (:func:`check_instance_types`): some instance type of the pool whose
   requirements intersect ``pool ∩ pod``; the code says which side matched nothing
   (:func:`no_type_reason`): ``nodepool-admits-no-type``, ``no-offering`` (the pool admits
   types, none is offered under it) or ``pod-excludes-nodepool-types``.

Levels 1–3 are :func:`check_pool_term` (one rung of the relaxation ladder) and
:func:`check_pool` (the whole ladder, then the ``PreferNoSchedule`` toleration). They do
**not** look at resources: as in Karpenter, ``nvidia.com/gpu`` (and cpu, memory, pods) is
a matter of *fit* — requests plus DaemonSet overhead against each type's allocatable — and
offerings and ``limits`` come after that; the solver owns those levels (4 fit, 5 offering,
6 limits), because they depend on what is already packed on a NodeClaim.

DaemonSets are judged by :func:`is_daemon_compatible`, Karpenter's ``isDaemonPodCompatible``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cache, lru_cache
from typing import Protocol, TypeVar

from eks_gpu.names import LABEL_CAPACITY_TYPE, LABEL_ZONE
from eks_gpu.scheduling.instance_model import admitted_types, catalog_types
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.scheduling.reasons import Reason, ReasonCode
from eks_gpu.scheduling.requirement import Requirement
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import total
from eks_gpu.scheduling.taints import (
    PREFER_NO_SCHEDULE_TOLERATION,
    Taint,
    Toleration,
    taint_str,
    untolerated,
)

_SHOWN_TYPES = 3
NOTHING_MATCHES_MESSAGE = (
    "every required node affinity term is empty; an empty term matches no node"
)


class TypeLike(Protocol):
    """An instance type as placement sees it: a name and requirements defining every
    well-known key (``SimInstanceType``, ``CatalogType``)."""

    @property
    def name(self) -> str: ...

    @property
    def requirements(self) -> Requirements: ...


T = TypeVar("T", bound=TypeLike)


class PoolLike(Protocol):
    """A NodePool as placement sees it (``PoolModel`` for the simulator, ``PoolSpec`` for
    validate): ``requirements`` = spec requirements + template labels + nodepool name;
    ``taints`` = ``spec.template.spec.taints``; ``types`` = the instance types it may launch."""

    @property
    def name(self) -> str: ...

    @property
    def requirements(self) -> Requirements: ...

    @property
    def taints(self) -> Sequence[Taint]: ...

    @property
    def types(self) -> Sequence[TypeLike]: ...


def check_taints(pool: PoolLike, tolerations: Iterable[Toleration]) -> list[Reason]:
    """Level 1: one reason per pool taint (any effect) no toleration matches."""
    return [
        Reason(pool.name, "taint-not-tolerated", f"the pod does not tolerate {taint_str(taint)}")
        for taint in untolerated(pool.taints, tolerations)
    ]


def check_requirements(pool: PoolLike, requirements: Requirements) -> list[Reason]:
    """Level 2: why ``requirements`` (one rung) are not compatible with the pool's."""
    return [
        Reason(pool.name, problem.code, problem.detail)
        for problem in pool.requirements.check_compatible(requirements)
    ]


def compatible_types(types: Sequence[T], merged: Requirements) -> list[T]:
    """The types whose requirements intersect ``merged`` (pool ∩ pod), in the given order
    (Karpenter's ``compatible`` in ``filterInstanceTypesByRequirements``)."""
    return [t for t in types if t.requirements.is_intersecting(merged)]


def check_instance_types(pool: PoolLike, requirements: Requirements) -> list[Reason]:
    """Level 3: no instance type of the pool intersects ``pool ∩ requirements``."""
    merged = pool.requirements.add(requirements)
    if any(t.requirements.is_intersecting(merged) for t in pool.types):
        return []
    return [no_type_reason(pool, requirements)]


def no_type_reason(pool: PoolLike, requirements: Requirements) -> Reason:
    """Why no type of ``pool`` matches ``pool ∩ requirements``, naming the side at fault.

    The pool's side when it has no types at all: its requirements admit no catalog type
    (``nodepool-admits-no-type``), or the types they admit have no offering under it
    (``no-offering``). Otherwise the pod's (``pod-excludes-nodepool-types``). Messages name
    the requirements that rule out everything on their own, and say when one of the pod's
    matches no instance type of the catalog at all (a value no type has, such as ``p4``).
    """
    if not pool.types:
        code, message = _pool_side(pool.requirements)
        return Reason(pool.name, code, message)
    message = _pod_side(_Identity(pool.types), pool.requirements, requirements)
    return Reason(pool.name, "pod-excludes-nodepool-types", message)


class _Identity:
    """Hashes and compares by identity: a cache key for a pool's list of types (the cache
    holds the list, so its id cannot be reused while the entry lives)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Sequence[TypeLike]) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj


@lru_cache(maxsize=1024)
def _pod_side(types: _Identity, pool: Requirements, requirements: Requirements) -> str:
    """The ``pod-excludes-nodepool-types`` message (cached: the solver asks again on every
    failed attempt, and a pool may have a thousand types)."""
    blocking = _excluding(types.obj, pool, requirements)
    who = f"{_joined(blocking)} excludes" if blocking else "requirements together exclude"
    message = f"the pod's {who} every instance type the NodePool admits ({_type_names(types.obj)})"
    nowhere = [r for r in blocking if _matches_no_catalog_type(r)]
    return message + (f"; no instance type has {_joined(nowhere)} at all" if nowhere else "")


def _joined(requirements: Sequence[Requirement]) -> str:
    return " and ".join(r.describe() for r in requirements)


def _type_names(types: Sequence[TypeLike]) -> str:
    names = [t.name for t in types[:_SHOWN_TYPES]]
    more = len(types) - len(names)
    return ", ".join(names) + (f" and {more} more" if more else "")


def _excluding(
    types: Sequence[TypeLike], base: Requirements, candidates: Iterable[Requirement]
) -> list[Requirement]:
    """The requirements of ``candidates`` that, each alone added to ``base``, leave no type."""
    return [
        r for r in candidates if not any(t.requirements.is_intersecting(base.add(r)) for t in types)
    ]


@cache
def _catalog_requirements() -> dict[str, tuple[Requirements, ...]]:
    """Per key, the distinct one-key requirements the catalog's types have on it."""
    out: dict[str, dict[Requirement, None]] = {}
    for instance_type in catalog_types():
        for requirement in instance_type.requirements:
            out.setdefault(requirement.key, {})[requirement] = None
    return {key: tuple(Requirements([r]) for r in found) for key, found in out.items()}


@lru_cache(maxsize=1024)
def _matches_no_catalog_type(requirement: Requirement) -> bool:
    """True when ``requirement`` alone intersects no catalog type (``is_intersecting`` on its
    one key, against each distinct value the catalog has there; a key no type defines
    matches every type)."""
    options = _catalog_requirements().get(requirement.key)
    alone = Requirements([requirement])
    return options is not None and not any(o.is_intersecting(alone) for o in options)


@lru_cache(maxsize=256)
def _pool_side(requirements: Requirements) -> tuple[ReasonCode, str]:
    """Why a pool with these requirements has no instance type (it has none at all)."""
    admitted = admitted_types(requirements)
    if admitted:
        return "no-offering", (
            f"the NodePool's requirements admit {len(admitted)} instance type(s) "
            f"({_type_names(admitted)}), but none is offered in the zones and capacity types "
            f"it allows ({requirements.get(LABEL_ZONE)}; {requirements.get(LABEL_CAPACITY_TYPE)})"
        )
    nowhere = [r for r in requirements if _matches_no_catalog_type(r)]
    where = f": no instance type has {_joined(nowhere)}" if nowhere else ", taken together"
    return "nodepool-admits-no-type", (
        f"the NodePool's requirements admit no instance type at all{where}; no pod can get "
        "a node from it"
    )


def is_pool_compatible(
    pool: PoolLike, requirements: Requirements, tolerations: Iterable[Toleration]
) -> bool:
    """Levels 1 and 2 as a bool, without messages (for the solver's open NodeClaims)."""
    return not untolerated(pool.taints, tolerations) and pool.requirements.is_compatible(
        requirements
    )


def check_pool_term(
    pool: PoolLike, requirements: Requirements, tolerations: Iterable[Toleration]
) -> list[Reason]:
    """Levels 1–3 for one rung of the ladder: the reasons of the first level that fails."""
    tolerations = tuple(tolerations)
    return (
        check_taints(pool, tolerations)
        or check_requirements(pool, requirements)
        or check_instance_types(pool, requirements)
    )


def check_pool(view: PodView, pool: PoolLike) -> list[Reason]:
    """Why ``pool`` can give the pod no node on any rung of its ladder ([] when it can).

    Each rung of :meth:`PodView.variants` is tried in order; if all fail and the pool has a
    ``PreferNoSchedule`` taint, the last rung is tried once more tolerating those taints
    (Karpenter's last relaxation, ``toleratePreferNoScheduleTaints``). The reasons are the
    last attempt's. Resources, offerings and limits are not judged here (module docstring).
    """
    ladder = view.variants()
    if not ladder:
        return [Reason(pool.name, "affinity-matches-nothing", NOTHING_MATCHES_MESSAGE)]
    reasons: list[Reason] = []
    for requirements, _note in ladder:
        reasons = check_pool_term(pool, requirements, view.tolerations)
        if not reasons:
            return []
    if any(taint.get("effect") == "PreferNoSchedule" for taint in pool.taints):
        relaxed = (*view.tolerations, PREFER_NO_SCHEDULE_TOLERATION)
        return check_pool_term(pool, ladder[-1].requirements, relaxed)
    return reasons


def is_daemon_compatible(view: PodView, pool: PoolLike, instance_type: TypeLike) -> bool:
    """Whether a DaemonSet's pod would run on a node of ``instance_type`` from ``pool``.

    Karpenter v1.14.1 ``scheduler.go`` ``isDaemonPodCompatible``, step by step:

    * ``PreferNoSchedule`` taints are tolerated (a daemon pod ignores preferences), every
      other pool taint must be tolerated by the pod's own tolerations (``ToleratesPod``).
      The pod is the template as ``getDaemonSetPods`` → ``daemonset.PodForDaemonSet``
      builds it: the DaemonSet controller's default tolerations (``not-ready``,
      ``unreachable``, ``*-pressure``, ``unschedulable``, ``network-unavailable``) are
      **not** added, so a pool tainted with one of those keys keeps an intolerant daemon
      off, as Karpenter assumes (for a live cluster Karpenter reads a running daemon pod
      instead, which does carry them; we model the manifests).
    * Only strict requirements (``NewStrictPodRequirements``: ``nodeSelector`` + one
      required term, no preferences); the terms are tried one by one
      (``removeRequiredNodeAffinityTerm``).
    * A term passes when ``pool.requirements.is_compatible(term)`` (undefined well-known keys
      allowed, custom keys must be defined by the pool) **and**
      ``instance_type.requirements.is_intersecting(term)`` (one-sided keys ignored).

    Karpenter mutates the shared daemon pod while relaxing, so a term dropped for one
    (pool, type) stays dropped for the next; we evaluate every pair from the first term,
    which can only count a daemon Karpenter would skip in that order-dependent case.
    """
    return any(instance_type.requirements.is_intersecting(t) for t in _daemon_terms(view, pool))


def _daemon_terms(view: PodView, pool: PoolLike) -> tuple[Requirements, ...]:
    """The daemon's strict terms the pool admits (taints and pool requirements); the part
    of :func:`is_daemon_compatible` that does not depend on the instance type."""
    tolerations = (*view.tolerations, PREFER_NO_SCHEDULE_TOLERATION)
    if untolerated(pool.taints, tolerations):
        return ()
    return tuple(term for term in view.terms if pool.requirements.is_compatible(term))


def daemon_overheads(
    daemons: Sequence[PodView], pool: PoolLike
) -> dict[str, Mapping[str, Decimal]]:
    """Instance type name → summed requests of the DaemonSets that run on it in ``pool``.

    Karpenter groups a pool's instance types by the set of compatible daemon pods
    (``buildDaemonOverheadGroups``) and adds each group's overhead to the requests of a
    NodeClaim when it checks whether that type fits; the same set gives the same mapping
    object here. A type no DaemonSet runs on maps to ``{}``.
    """
    admitted = [_daemon_terms(daemon, pool) for daemon in daemons]  # per type: intersects only
    groups: dict[tuple[int, ...], Mapping[str, Decimal]] = {}
    out: dict[str, Mapping[str, Decimal]] = {}
    for instance_type in pool.types:
        reqs = instance_type.requirements
        key = tuple(
            i for i, terms in enumerate(admitted) if any(reqs.is_intersecting(t) for t in terms)
        )
        if key not in groups:
            groups[key] = total([daemons[i].requests for i in key])
        out[instance_type.name] = groups[key]
    return out


__all__ = [
    "NOTHING_MATCHES_MESSAGE",
    "PoolLike",
    "TypeLike",
    "check_instance_types",
    "check_pool",
    "check_pool_term",
    "check_requirements",
    "check_taints",
    "compatible_types",
    "daemon_overheads",
    "is_daemon_compatible",
    "is_pool_compatible",
    "no_type_reason",
]
