"""The validate rules that ask "can this run there" agree with the algebra and the taint check.

The sibling of ``test_placement_properties.py`` for validate's consumers. Hypothesis draws
NodePools (requirements over arch, family, GPU manufacturer and count and a custom key;
template labels; taints of every effect), a workload (nodeSelector, required terms, empty
ones included, tolerations, one GPU or none) and the NVIDIA device plugin (its own
selector, terms and tolerations), with EKS's admission on or off, and runs the real rules
over them:
``workload-selector-unsatisfiable``, ``device-plugin-crashloop-cpu-nodes``,
``device-plugin-untolerated-taint`` and ``arch-mismatch``.

The oracle is built only from ``Requirements`` (``from_dicts``/``from_labels``,
``check_compatible``, ``check_intersects``, ``Requirement.has``) and ``taints.untolerated``,
reading the raw dicts the builders made, never ``PodView`` or ``placement``; EKS's admission
is :meth:`Pod.admitted`, written from upstream's ``AddOrUpdateTolerationInPod``. To keep each
example cheap, the instance-type universe is six real catalog types (``admitted_types``, the
placement messages' and the rules' catalog look-ups are patched to it, caches cleared around
the test).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spaces
from builders import expr, make_nodepool, make_pod, make_spec, make_workload
from eks_gpu.manifests import Manifest, ManifestSet
from eks_gpu.names import (
    LABEL_ARCH,
    LABEL_GPU_COUNT,
    LABEL_GPU_MANUFACTURER,
    LABEL_INSTANCE_FAMILY,
    LABEL_NODEPOOL,
    RESOURCE_NVIDIA_GPU,
)
from eks_gpu.scheduling import placement
from eks_gpu.scheduling import pools as scheduling_pools
from eks_gpu.scheduling.instance_model import CatalogType, catalog_types
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.taints import EFFECTS, PREFER_NO_SCHEDULE_TOLERATION, untolerated
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules import RULES_BY_ID, arch_mismatch, device_plugin_crashloop, pools

NAMES = ("g5.xlarge", "g5g.xlarge", "g4ad.xlarge", "p3dn.24xlarge", "m5.large", "m6g.large")
TYPES: tuple[CatalogType, ...] = tuple(t for t in catalog_types() if t.name in NAMES)
CUSTOM = "team"
VALUES: dict[str, tuple[str, ...]] = {
    LABEL_ARCH: ("amd64", "arm64"),
    LABEL_INSTANCE_FAMILY: ("g5", "g5g", "g4ad", "m5", "p3"),
    LABEL_GPU_MANUFACTURER: ("nvidia", "amd"),
    LABEL_GPU_COUNT: ("1", "8"),
    CUSTOM: ("ml", "web"),
}
TAINT_KEYS = (RESOURCE_NVIDIA_GPU, "dedicated")
GPU_ADMITTED = {"key": RESOURCE_NVIDIA_GPU, "operator": "Exists", "effect": "NoSchedule"}
PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.18.0"
PROPERTY = settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True)
def six_types(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The catalog seen by pool_spec and the rules is :data:`TYPES` (caches cleared)."""

    def admitted(requirements: Requirements) -> list[CatalogType]:
        return [t for t in TYPES if t.requirements.is_intersecting(requirements)]

    caches = (
        pools._spec_of,
        device_plugin_crashloop._non_nvidia_types,
        arch_mismatch.family_types,
        placement._pool_side,
        placement._pod_side,
        placement._catalog_requirements,
        placement._matches_no_catalog_type,
    )
    monkeypatch.setattr(scheduling_pools, "admitted_types", admitted)
    monkeypatch.setattr(placement, "admitted_types", admitted)
    monkeypatch.setattr(placement, "catalog_types", lambda: TYPES)
    monkeypatch.setattr(device_plugin_crashloop, "catalog_types", lambda: TYPES)
    monkeypatch.setattr(arch_mismatch, "catalog_types", lambda: TYPES)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


# --- the drawn objects ------------------------------------------------------------------------


# A NodePool set and a pod are one draw each, from finite spaces (tests/spaces.py): drawing
# them field by field cost most of the run time. Each key, then each operator, is as likely
# as with the former strategies.
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
BOUNDS = ("0", "1", "4")


def _expressions(key: str, operator: str) -> spaces.Space[dict[str, Any]]:
    """Every valid ``key operator ...`` over the alphabet (values: one or two, repeats too)."""
    if operator in ("In", "NotIn"):
        values = spaces.lists(spaces.of(VALUES[key]), 1, 2)
        return values.map(lambda vs: expr(key, operator, *vs))
    if operator in ("Gt", "Lt"):
        return spaces.of([expr(key, operator, n) for n in BOUNDS])
    return spaces.of([expr(key, operator)])


EXPRESSION = spaces.union(
    *(spaces.union(*(_expressions(k, op) for op in OPERATORS)) for k in sorted(VALUES))
)
TERM = spaces.lists(EXPRESSION, 0, 2)  # [] is an empty term: it matches nothing
SELECTOR_KEYS = (LABEL_ARCH, LABEL_INSTANCE_FAMILY, CUSTOM)
SELECTOR_PAIRS = [(k, v) for k in SELECTOR_KEYS for v in ("amd64", "g5", "m5", "ml")]
SELECTOR = spaces.lists(spaces.of(SELECTOR_PAIRS), 0, 2).map(dict)
TAINT_VALUES: tuple[dict[str, str], ...] = ({}, {"value": "true"}, {"value": "x"})
TAINTS = spaces.lists(spaces.of([{"key": k, "effect": e, **v} for k in TAINT_KEYS
                                 for e in EFFECTS for v in TAINT_VALUES]), 0, 2)  # fmt: skip
TOLERATIONS = spaces.lists(spaces.of([
    {"operator": op, **key, **value, **effect}
    for op in ("Exists", "Equal")
    for key in ({}, *({"key": k} for k in TAINT_KEYS))
    for value in ({}, {"value": "true"}, {"value": "x"})
    for effect in ({}, *({"effect": e} for e in EFFECTS))
]), 0, 2)  # fmt: skip


@dataclass(frozen=True)
class Pod:
    """A drawn pod (or DaemonSet template) with the raw pieces the oracle reads."""

    selector: dict[str, str]
    terms: list[list[dict[str, Any]]] | None
    tolerations: list[dict[str, Any]]
    gpus: int

    def spec(self) -> dict[str, Any]:
        return make_spec(
            gpus=self.gpus,
            tolerations=self.tolerations,
            node_selector=self.selector,
            affinity_terms=self.terms,
        )

    def pod(self) -> dict[str, Any]:
        return make_pod(
            gpus=self.gpus,
            tolerations=self.tolerations,
            node_selector=self.selector,
            affinity_terms=self.terms,
        )

    def admitted(self, eks_admission: bool) -> Pod:
        """The pod as EKS's ExtendedResourceToleration admission stores it: a GPU pod's
        toleration equal to GPU_ADMITTED in key, operator, value and effect is replaced by
        it, else GPU_ADMITTED is appended (k8s.io/kubernetes helper
        ``AddOrUpdateTolerationInPod``)."""
        if not eks_admission or not self.gpus:
            return self
        fields = ("key", "operator", "value", "effect")
        same = [all(t.get(f, "") == GPU_ADMITTED.get(f, "") for f in fields)
                for t in self.tolerations]  # fmt: skip
        tolerations = [
            GPU_ADMITTED if m else t for t, m in zip(self.tolerations, same, strict=True)
        ]
        return replace(self, tolerations=tolerations if any(same) else [*tolerations, GPU_ADMITTED])


POD_SPACE = spaces.product(
    SELECTOR, spaces.optional(spaces.lists(TERM, 1, 2)), TOLERATIONS, spaces.of((0, 1))
)
PODS = POD_SPACE.map(lambda fields: Pod(*fields)).strategy()
POOL_LABELS = spaces.of([{}, *({CUSTOM: v} for v in VALUES[CUSTOM])])


def _nodepools(pools: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """One or two NodePools (distinct names)."""
    return [
        make_nodepool(f"pool-{i}", requirements=requirements, labels=labels, taints=taints)
        for i, (requirements, labels, taints) in enumerate(pools)
    ]


NODEPOOLS = (
    spaces.lists(spaces.product(spaces.lists(EXPRESSION, 0, 3), POOL_LABELS, TAINTS), 1, 2)
    .map(_nodepools)
    .strategy()
)
EKS_ADMISSION = st.booleans()


def manifest_set(*objs: dict[str, Any], eks_admission: bool = True) -> ManifestSet:
    return ManifestSet([Manifest(obj, "test.yaml", i) for i, obj in enumerate(objs)], eks_admission)


def run(rule_id: str, *objs: dict[str, Any], eks_admission: bool = True) -> list[Finding]:
    return list(RULES_BY_ID[rule_id].check(manifest_set(*objs, eks_admission=eks_admission)))


def plugin(pod: Pod) -> dict[str, Any]:
    daemonset = make_workload("DaemonSet", "nvidia-device-plugin", pod=pod.spec())
    daemonset["spec"]["template"]["spec"]["containers"][0]["image"] = PLUGIN_IMAGE
    return daemonset


# --- the oracle: Requirements and the taint check, from the raw dicts -----------------------


@dataclass(frozen=True)
class OraclePool:
    """A NodePool as Karpenter builds a NodeClaim template from it."""

    name: str
    requirements: Requirements
    taints: Sequence[dict[str, Any]]
    types: tuple[CatalogType, ...]


def oracle_pool(nodepool: dict[str, Any]) -> OraclePool:
    template = nodepool["spec"]["template"]
    name = nodepool["metadata"]["name"]
    requirements = (
        Requirements.from_dicts(template["spec"]["requirements"])
        .add(Requirements.from_labels(template.get("metadata", {}).get("labels")))
        .add(Requirements.from_labels({LABEL_NODEPOOL: name}))
    )
    types = tuple(t for t in TYPES if not t.requirements.check_intersects(requirements))
    return OraclePool(name, requirements, template["spec"].get("taints", []), types)


def strict_terms(pod: Pod) -> list[Requirements]:
    """nodeSelector AND each non-empty required term (no terms: nodeSelector alone)."""
    selector = Requirements.from_labels(pod.selector)
    if pod.terms is None:
        return [selector]
    return [selector.add(Requirements.from_dicts(term)) for term in pod.terms if term]


def gives_gpu(instance_type: CatalogType) -> bool:
    return RESOURCE_NVIDIA_GPU in instance_type.spec.resources


def rung_fits(pool: OraclePool, rung: Requirements, gpu: bool) -> bool:
    """Requirements compatible and some (GPU, for a GPU pod) type intersects pool ∩ rung."""
    if pool.requirements.check_compatible(rung):
        return False
    merged = pool.requirements.add(rung)
    types = [t for t in pool.types if gives_gpu(t)] if gpu else pool.types
    return any(not t.requirements.check_intersects(merged) for t in types)


def selector_fits(pod: Pod, pool: OraclePool) -> bool:
    return any(rung_fits(pool, rung, pod.gpus > 0) for rung in strict_terms(pod))


def pod_fits(pod: Pod, pool: OraclePool) -> bool:
    """Some rung fits and every taint is tolerated, or the last rung fits once
    PreferNoSchedule taints are tolerated (Karpenter's last relaxation)."""
    rungs = strict_terms(pod)
    if not rungs:
        return False
    if selector_fits(pod, pool) and not untolerated(pool.taints, pod.tolerations):
        return True
    relaxed = [*pod.tolerations, PREFER_NO_SCHEDULE_TOLERATION]
    return rung_fits(pool, rungs[-1], pod.gpus > 0) and not untolerated(pool.taints, relaxed)


def daemon_runs(pod: Pod, pool: OraclePool, instance_type: CatalogType) -> bool:
    """A daemon ignores PreferNoSchedule; some strict term is compatible with the pool and
    intersects the type."""
    if untolerated(pool.taints, [*pod.tolerations, PREFER_NO_SCHEDULE_TOLERATION]):
        return False
    return any(
        not pool.requirements.check_compatible(term)
        and not instance_type.requirements.check_intersects(term)
        for term in strict_terms(pod)
    )


OUTSIDE = OraclePool(
    "-", Requirements.from_dicts([expr(LABEL_NODEPOOL, "DoesNotExist")]), [], TYPES
)
"""A node no NodePool of the set made: any type, no nodepool label, no taints."""


def is_nvidia(instance_type: CatalogType) -> bool:
    return instance_type.spec.labels.get(LABEL_GPU_MANUFACTURER) == "nvidia"


# --- the oracle's expected findings, rule by rule --------------------------------------------


def expected_workload(pools: list[OraclePool], pod: Pod) -> str | None:
    """``selector``, ``taints`` or None, as workload-selector-unsatisfiable must answer."""
    constrained = bool(pod.selector) or pod.terms is not None
    if pod.gpus == 0 and not constrained:
        return None
    if not any(selector_fits(pod, p) for p in pools):
        return "selector"
    if pod.gpus > 0 and not any(pod_fits(pod, p) for p in pools if selector_fits(pod, p)):
        return "taints"
    return None


def expected_arch(pools: list[OraclePool]) -> list[tuple[str, str]]:
    """(NodePool ref, family) for each named family whose every type the arch rules out."""
    out = []
    for pool in pools:
        named = pool.requirements.get(LABEL_INSTANCE_FAMILY)
        arch = pool.requirements.get(LABEL_ARCH)
        for family in [] if named.complement else sorted(named.values):
            of_family = [t for t in TYPES if t.spec.labels[LABEL_INSTANCE_FAMILY] == family]
            if of_family and not any(arch.has(t.spec.labels[LABEL_ARCH]) for t in of_family):
                out.append((f"NodePool/{pool.name}", family))
    return out


def expected_untolerated(pools: list[OraclePool], pod: Pod) -> list[tuple[str, str]]:
    """(pool name, taint key) for each taint that keeps the plugin off a pool's NVIDIA types."""
    relaxed = [*pod.tolerations, PREFER_NO_SCHEDULE_TOLERATION]
    out = []
    for pool in pools:
        nvidia = [t for t in pool.types if is_nvidia(t)]
        if nvidia and not any(daemon_runs(pod, pool, t) for t in nvidia):
            out += [(pool.name, taint["key"]) for taint in untolerated(pool.taints, relaxed)]
    return out


# --- the properties (one draw feeds the rules that read the same objects) --------------------


@PROPERTY
@given(NODEPOOLS, PODS, EKS_ADMISSION)
def test_workload_and_pool_rules_agree_with_the_algebra(
    nodepool_objs: list[dict[str, Any]], pod: Pod, eks_admission: bool
) -> None:
    """workload-selector-unsatisfiable (with or without EKS admission) and arch-mismatch."""
    oracle = [oracle_pool(obj) for obj in nodepool_objs]
    found = run("workload-selector-unsatisfiable", *nodepool_objs, pod.pod(),
                eks_admission=eks_admission)  # fmt: skip
    expected = expected_workload(oracle, pod.admitted(eks_admission))
    as_written = expected_workload(oracle, pod)
    if expected is None and as_written is None:
        assert found == []
    elif expected is None:  # only the admitted toleration lets it run: an info finding
        [finding] = found
        assert (finding.severity, as_written) == ("info", "taints")
        assert finding.path.endswith(".tolerations")
    else:
        [finding] = found
        assert finding.severity == "error"
        assert finding.path.endswith(".tolerations") is (expected == "taints")

    arch = run("arch-mismatch", *nodepool_objs)
    assert [(f.object, f.message.split()[1]) for f in arch] == expected_arch(oracle)


@PROPERTY
@given(NODEPOOLS, PODS, EKS_ADMISSION)
def test_device_plugin_rules_agree_with_the_algebra(
    nodepool_objs: list[dict[str, Any]], drawn: Pod, eks_admission: bool
) -> None:
    """device-plugin-crashloop-cpu-nodes and device-plugin-untolerated-taint (the plugin's
    pods admitted as EKS admits them, or not)."""
    oracle = [oracle_pool(obj) for obj in nodepool_objs]
    daemonset = plugin(drawn)
    pod = drawn.admitted(eks_admission)

    crashloop = run("device-plugin-crashloop-cpu-nodes", *nodepool_objs, daemonset,
                    eks_admission=eks_admission)  # fmt: skip
    lands = any(
        daemon_runs(pod, source, t)
        for source in [*oracle, OUTSIDE]
        for t in source.types
        if not is_nvidia(t)
    )
    assert bool(crashloop) is lands

    found = run("device-plugin-untolerated-taint", *nodepool_objs, daemonset,
                eks_admission=eks_admission)  # fmt: skip
    expected = expected_untolerated(oracle, pod)
    pools = [f.message.split("'s taint")[0].rpartition("/")[2] for f in found]
    assert pools == [name for name, _ in expected]
    fixes = [str(f.fix) for f in found]
    assert all(f"key: {key}," in fix for fix, (_, key) in zip(fixes, expected, strict=True))
