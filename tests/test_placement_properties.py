"""Every consumer of the placement model agrees with the algebra and the one taint check.

Hypothesis draws pods (nodeSelector, required terms including empty ones, preferred terms,
tolerations) and NodePools (requirements over a small alphabet of well-known and custom
keys, template labels, taints of every effect), over three hand-made instance types (no
catalog, so each example stays cheap). The oracle here is built only from
``Requirements.check_compatible`` / ``check_intersects`` and ``taints.untolerated``; the
consumers under test are the solver's new-NodeClaim verdict (and ``check_pool``), the
DaemonSet overhead inclusion (``daemon_overheads``) and the isolation check.

Validate's consumers join this file later (they ask the same ``placement`` functions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spaces
from builders import expr, make_instance_type, make_nodepool, make_spec
from eks_gpu.names import LABEL_ARCH, LABEL_GPU_COUNT, LABEL_INSTANCE_FAMILY
from eks_gpu.scheduling.isolation import check_isolation
from eks_gpu.scheduling.placement import check_pool, daemon_overheads
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.scheduling.pools import PoolModel, pool_requirements
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.solver import Solver
from eks_gpu.scheduling.taints import EFFECTS, PREFER_NO_SCHEDULE_TOLERATION, untolerated
from eks_gpu.scheduling.workloads import SimPod

WELL_KNOWN = (LABEL_ARCH, LABEL_INSTANCE_FAMILY, LABEL_GPU_COUNT)
CUSTOM = ("team", "tier")
KEYS = WELL_KNOWN + CUSTOM
VALUES = ("a", "b", "1", "2")
TAINT_KEYS = ("k1", "k2")
TYPES = (
    make_instance_type("g.a1", labels={LABEL_ARCH: "a", LABEL_INSTANCE_FAMILY: "a",
                                       LABEL_GPU_COUNT: "1"}, undefined=WELL_KNOWN, gpus=1,
                       cpu="64", memory="256Gi"),
    make_instance_type("g.b2", labels={LABEL_ARCH: "b", LABEL_INSTANCE_FAMILY: "b",
                                       LABEL_GPU_COUNT: "2"}, undefined=WELL_KNOWN, gpus=2,
                       cpu="64", memory="256Gi"),
    make_instance_type("c.a", labels={LABEL_ARCH: "a", LABEL_INSTANCE_FAMILY: "a"},
                       undefined=WELL_KNOWN, cpu="64", memory="256Gi"),
)  # fmt: skip
PROBE = PodView.from_spec(make_spec(cpu="100m", memory="128Mi"))
PROPERTY = settings(
    max_examples=2000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _all_expressions() -> list[dict[str, Any]]:
    """Every valid node selector requirement over the alphabet (sampling a list is much
    cheaper for hypothesis than composing one)."""
    value_sets = [[v] for v in VALUES] + [["a", "b"], ["1", "2"], ["a", "1"]]
    out = [expr(k, op, *vs) for k in KEYS for op in ("In", "NotIn") for vs in value_sets]
    out += [expr(k, op, n) for k in KEYS for op in ("Gt", "Lt") for n in ("0", "1", "2")]
    return out + [expr(k, op) for k in KEYS for op in ("Exists", "DoesNotExist")]


def _all_taints() -> list[dict[str, Any]]:
    values: list[dict[str, str]] = [{}, {"value": "v"}, {"value": "w"}]
    return [{"key": k, "effect": e, **v} for k in TAINT_KEYS for e in EFFECTS for v in values]


def _all_tolerations() -> list[dict[str, Any]]:
    effects: list[dict[str, str]] = [{}, *({"effect": e} for e in EFFECTS)]
    keyed = [{"key": k, "operator": op, **value, **effect}
             for k in TAINT_KEYS for op, value in (("Exists", {}), ("Equal", {"value": "v"}))
             for effect in effects]  # fmt: skip
    return [*keyed, {"operator": "Exists"}, {"operator": "Exists", "effect": "NoSchedule"}]


# The pod and the pool are one draw each, from finite spaces (tests/spaces.py): drawing
# lists item by item cost most of the run time.
EXPRESSION = spaces.of(_all_expressions())
TERM = spaces.lists(EXPRESSION, 0, 2)  # [] is an empty term: it matches nothing
LABELS = spaces.lists(spaces.of([(k, v) for k in KEYS for v in VALUES]), 0, 2).map(dict)
POD = spaces.product(
    LABELS,  # nodeSelector
    spaces.optional(spaces.lists(TERM, 1, 3)),  # required terms
    spaces.lists(spaces.product(spaces.of((1, 50, 100)), TERM), 0, 2),  # preferred terms
    spaces.lists(spaces.of(_all_tolerations()), 0, 2),
)
POOL = spaces.product(TERM, LABELS, spaces.lists(spaces.of(_all_taints()), 0, 2))


@dataclass(frozen=True)
class Case:
    """One drawn pod and pool, with the raw pieces the oracle reads."""

    selector: dict[str, str]
    terms: list[list[dict[str, Any]]] | None
    spec: dict[str, Any]
    pool: PoolModel


def _case(drawn: tuple[tuple[Any, ...], tuple[Any, ...]]) -> Case:
    (selector, terms, preferred, tolerations), (requirements, labels, taints) = drawn
    spec = make_spec(cpu="100m", memory="128Mi", tolerations=tolerations,
                     node_selector=selector, affinity_terms=terms,
                     preferred=preferred or None)  # fmt: skip
    nodepool = make_nodepool("pool", requirements=requirements, labels=labels, taints=taints)
    template = nodepool["spec"]["template"]
    pool = PoolModel(
        "pool", 0, pool_requirements(nodepool), template.get("metadata", {}).get("labels", {}),
        tuple(template["spec"].get("taints", ())), {}, list(TYPES),
    )  # fmt: skip
    return Case(selector, terms, spec, pool)


CASES = st.tuples(POD.strategy(), POOL.strategy()).map(_case)


# --- the oracle: the algebra and the taint check, nothing else -----------------------------


def oracle_strict_terms(case: Case) -> tuple[Requirements, ...]:
    selector = Requirements.from_labels(case.selector)
    if case.terms is None:
        return (selector,)
    return tuple(selector.add(Requirements.from_dicts(t)) for t in case.terms if t)


def oracle_code(pool: PoolModel, rung: Requirements, tolerations: Any) -> str | None:
    """The first level that fails for one rung, or None when the pool takes the pod."""
    if untolerated(pool.taints, tolerations):
        return "taint-not-tolerated"
    problems = pool.requirements.check_compatible(rung)
    if problems:
        return problems[0].code
    merged = pool.requirements.add(rung)
    if not any(not t.requirements.check_intersects(merged) for t in pool.types):
        return "pod-excludes-nodepool-types"  # the pool has types: the pod's side is at fault
    return None


def oracle_verdict(view: PodView, pool: PoolModel) -> str | None:
    """None when some rung (or the PreferNoSchedule step) passes, else the last code."""
    ladder = view.variants()
    if not ladder:
        return "affinity-matches-nothing"
    code = None
    for rung, _ in ladder:
        code = oracle_code(pool, rung, view.tolerations)
        if code is None:
            return None
    if any(t.get("effect") == "PreferNoSchedule" for t in pool.taints):
        relaxed = (*view.tolerations, PREFER_NO_SCHEDULE_TOLERATION)
        code = oracle_code(pool, ladder[-1].requirements, relaxed)
    return code


def oracle_daemon(view: PodView, pool: PoolModel, instance_type: Any) -> bool:
    tolerations = (*view.tolerations, PREFER_NO_SCHEDULE_TOLERATION)
    if untolerated(pool.taints, tolerations):
        return False
    return any(
        not pool.requirements.check_compatible(term)
        and not instance_type.requirements.check_intersects(term)
        for term in view.terms
    )


# --- the properties -------------------------------------------------------------------------


@PROPERTY
@given(CASES)
def test_every_consumer_agrees_with_the_algebra(case: Case) -> None:
    """One drawn case, every consumer: the strict terms, check_pool, the solver's new
    NodeClaim, DaemonSet overhead per instance type and the isolation check."""
    view = PodView.from_spec(case.spec)
    assert view.terms == oracle_strict_terms(case)

    expected = oracle_verdict(view, case.pool)
    reasons = check_pool(view, case.pool)
    assert [r.code for r in reasons][:1] == ([] if expected is None else [expected])

    plan = Solver([case.pool]).solve([SimPod("default", "p", view)])
    if expected is None:
        assert len(plan.claims) == 1 and not plan.unschedulable
    else:
        assert not plan.claims
        assert plan.unschedulable["default/p"][0].code == expected

    overheads = daemon_overheads([view], case.pool)
    for instance_type in case.pool.types:
        counted = bool(overheads[instance_type.name])
        assert counted is oracle_daemon(view, case.pool, instance_type)

    # the isolation probe (no toleration, no selector) lands iff the oracle lets it
    (result,) = check_isolation([case.pool])
    assert result.isolated is (oracle_verdict(PROBE, case.pool) is not None)
