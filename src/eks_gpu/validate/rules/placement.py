"""Can a pod or a DaemonSet land on a NodePool's nodes? The rules' questions, asked of the
one placement model.

Nothing here reads a selector, an affinity term or a taint on its own: a pod spec is read
once into a :class:`~eks_gpu.scheduling.pod_view.PodView`, and every verdict comes from
:mod:`eks_gpu.scheduling.placement`, the code the simulator uses (``check_pool`` for pods,
``is_daemon_compatible`` for DaemonSets; the taints named are ``taints.untolerated``'s, the
one toleration matcher). What is
added is only what a lint rule needs and the simulator does not: splitting the "no" into
"the selector/affinity" and "the taints", and restricting a GPU pod to the types that give
``nvidia.com/gpu`` at all (how many GPUs fit is the simulator's job).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from eks_gpu.names import LABEL_NODEPOOL, RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.admission import admit
from eks_gpu.scheduling.instance_model import CatalogType
from eks_gpu.scheduling.placement import (
    check_pool,
    check_requirements,
    compatible_types,
    is_daemon_compatible,
)
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.scheduling.pools import PoolSpec
from eks_gpu.scheduling.reasons import Reason
from eks_gpu.scheduling.requirement import Requirement
from eks_gpu.scheduling.requirements import EMPTY, Requirements
from eks_gpu.scheduling.taints import PREFER_NO_SCHEDULE_TOLERATION, Taint, untolerated
from eks_gpu.validate.rules.pools import Pool

OUTSIDE_KARPENTER = PoolSpec(
    name="-",
    weight=0,
    requirements=Requirements([Requirement.create(LABEL_NODEPOOL, "DoesNotExist")]),
    labels={},
    taints=(),
    types=(),
)
"""A node no NodePool of the set made (a managed node group, another tool): no
``karpenter.sh/nodepool`` label, no custom labels, no taints we know of."""


def view_of(pod_spec: Mapping[str, Any], eks_admission: bool = True) -> PodView | None:
    """The pod spec parsed once, after EKS's admission unless ``eks_admission`` is False
    (``admission.admit``: the toleration for each extended resource it requests); None when
    it cannot be read (a bad selector, toleration or quantity: the core schema check reports
    it, the placement rules skip the workload)."""
    try:
        return PodView.from_spec(admit(pod_spec).spec if eks_admission else pod_spec)
    except (ValueError, TypeError):
        return None


def has_node_constraints(view: PodView) -> bool:
    """True when the pod has a ``nodeSelector`` or required node affinity at all."""
    return view.terms != (EMPTY,)


def gives_gpus(instance_type: CatalogType) -> bool:
    """True when Karpenter models ``nvidia.com/gpu`` capacity on the type."""
    amount = instance_type.spec.resources.get(RESOURCE_NVIDIA_GPU, "0")
    return str(amount) not in ("", "0")


def _for_pod(view: PodView, pool: Pool, taints: bool = True) -> PoolSpec:
    """The pool for this pod: a GPU pod can only use the types that give ``nvidia.com/gpu``;
    with ``taints=False``, as if untainted (to judge the selector alone)."""
    spec = pool.spec if taints else replace(pool.spec, taints=())
    if view.gpus > 0:
        spec = replace(spec, types=tuple(t for t in spec.types if gives_gpus(t)))
    return spec


def selector_reasons(view: PodView, pool: Pool) -> list[Reason]:
    """Why no node of ``pool`` matches the pod's selector and affinity, taints aside
    (``check_pool`` on the untainted pool; empty when one does)."""
    untainted = _for_pod(view, pool, taints=False)
    if view.gpus > 0 and not untainted.types:
        message = f"the NodePool launches no instance type with {RESOURCE_NVIDIA_GPU}"
        return [Reason(pool.spec.name, "nodepool-admits-no-type", message)]
    return check_pool(view, untainted)


def blocking_taints(view: PodView, pool: Pool) -> list[Taint]:
    """The pool taints that keep the pod off (empty when ``check_pool`` accepts it).

    Karpenter's last relaxation tolerates ``PreferNoSchedule``, so those count only when
    nothing else is in the way.
    """
    full = _for_pod(view, pool)
    if not check_pool(view, full):
        return []
    hard = untolerated(full.taints, (*view.tolerations, PREFER_NO_SCHEDULE_TOLERATION))
    return hard or untolerated(full.taints, view.tolerations)


def landing_types(view: PodView, pool: Pool) -> list[CatalogType]:
    """The pool's instance types the pod could run on (none when ``check_pool`` says no).

    Every rung of the pod's relaxation ladder counts (Karpenter falls back to later terms
    and drops preferences when capacity runs short), each with the types that intersect
    ``pool ∩ rung``.
    """
    full = _for_pod(view, pool)
    if check_pool(view, full):
        return []
    out: dict[str, CatalogType] = {}
    for requirements, _note in view.variants():
        if check_requirements(full, requirements):
            continue
        merged = full.requirements.add(requirements)
        out.update((t.name, t) for t in compatible_types(full.types, merged))
    return list(out.values())


def daemon_blocking_taints(view: PodView, pool: Pool, types: Sequence[CatalogType]) -> list[Taint]:
    """Why a DaemonSet runs on none of ``types`` in ``pool``, as far as taints go.

    Empty when ``is_daemon_compatible`` holds for one of them; else the pool taints its pod
    does not tolerate (``PreferNoSchedule`` excepted, as Karpenter excepts it for daemons),
    which is empty when only its selector/affinity keeps it off.
    """
    if any(is_daemon_compatible(view, pool.spec, t) for t in types):
        return []
    return untolerated(pool.spec.taints, (*view.tolerations, PREFER_NO_SCHEDULE_TOLERATION))


def daemon_lands_on(
    view: PodView, candidates: Iterable[tuple[PoolSpec, CatalogType]]
) -> CatalogType | None:
    """The first ``(pool, type)`` pair the DaemonSet would run on (``is_daemon_compatible``)."""
    for pool_target, instance_type in candidates:
        if is_daemon_compatible(view, pool_target, instance_type):
            return instance_type
    return None


def exists_toleration(taint: Taint) -> str:
    """The ``{key: k, operator: Exists, effect: E}`` toleration that tolerates ``taint``."""
    return f"{{key: {taint.get('key')}, operator: Exists, effect: {taint.get('effect')}}}"


__all__ = [
    "OUTSIDE_KARPENTER",
    "blocking_taints",
    "daemon_blocking_taints",
    "daemon_lands_on",
    "exists_toleration",
    "gives_gpus",
    "has_node_constraints",
    "landing_types",
    "selector_reasons",
    "view_of",
]
