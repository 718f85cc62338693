"""The one placement verdict (``placement.check_pool``) and DaemonSet fit
(``placement.is_daemon_compatible``, Karpenter v1.14.1 ``scheduler.go``
``isDaemonPodCompatible``), on hand-made pools and instance types."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from builders import (
    GPU_TAINT,
    GPU_TOLERATION,
    expr,
    make_daemonset,
    make_instance_type,
    make_nodeclass,
    make_nodepool,
    make_pod,
    make_spec,
)
from eks_gpu.catalog.instance_types import all_instance_types
from eks_gpu.loaders.price_cache import load_price_book
from eks_gpu.names import (
    LABEL_ARCH,
    LABEL_GPU_COUNT,
    LABEL_GPU_MANUFACTURER,
    LABEL_INSTANCE_FAMILY,
    LABEL_ZONE,
)
from eks_gpu.scheduling.instance_model import admitted_types, catalog_types, type_requirements
from eks_gpu.scheduling.placement import (
    check_pool,
    daemon_overheads,
    is_daemon_compatible,
)
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.scheduling.pools import PoolModel, order_pools, pool_requirements, pool_spec
from eks_gpu.scheduling.reasons import REASON_CODES
from eks_gpu.scheduling.simulate import Inputs, build_pools, simulate
from eks_gpu.scheduling.solver import Solver
from eks_gpu.scheduling.workloads import SimPod, expand_workloads

D = Decimal
KEYS = (LABEL_ARCH, LABEL_GPU_COUNT, LABEL_INSTANCE_FAMILY)
GPU_TYPE = make_instance_type(
    "g.xlarge", labels={LABEL_ARCH: "amd64", LABEL_GPU_COUNT: "1"}, undefined=KEYS, gpus=1
)
CPU_TYPE = make_instance_type("c.large", labels={LABEL_ARCH: "arm64"}, undefined=KEYS)


def pool(
    *, requirements: list[dict[str, Any]] | None = None, types: Any = (GPU_TYPE,), **kw: Any
) -> PoolModel:
    """A PoolModel from ``make_nodepool(**kw)`` over hand-made ``types``."""
    nodepool = make_nodepool(requirements=requirements or [], **kw)
    spec = pool_spec(nodepool)
    return PoolModel(
        spec.name, spec.weight, spec.requirements, spec.labels, spec.taints, {}, list(types)
    )


def view(**spec: Any) -> PodView:
    return PodView.from_spec(make_spec(**spec))


# --- the g5/g6 + device plugin example of the issue -----------------------------------------

DEVICE_PLUGIN = make_daemonset(
    "nvidia-device-plugin",
    cpu="50m",
    memory="100Mi",
    tolerations=[GPU_TOLERATION],
    affinity_terms=[[expr(LABEL_GPU_MANUFACTURER, "In", "nvidia")]],
)
G5_G6_POOL = make_nodepool(
    "gpu", requirements=[expr(LABEL_INSTANCE_FAMILY, "In", "g5", "g6")], taints=[GPU_TAINT]
)


def test_device_plugin_overhead_counts_on_a_family_only_pool() -> None:
    """The pool leaves ``instance-gpu-manufacturer`` undefined; it is well-known, and the
    g5/g6 types define it as ``nvidia``: Karpenter counts the plugin on every node."""
    _, daemons, _ = expand_workloads([DEVICE_PLUGIN])
    inputs = Inputs([G5_G6_POOL], [make_nodeclass()], [], load_price_book())
    (gpu_pool,) = build_pools(inputs, daemons)
    assert gpu_pool.types, "the pool launches g5/g6"
    plugin = {"cpu": D("0.05"), "memory": D(100 * 1024**2), "pods": D(1)}
    assert {t.name: dict(gpu_pool.overhead_for(t.name)) for t in gpu_pool.types} == {
        t.name: plugin for t in gpu_pool.types
    }
    assert all(is_daemon_compatible(daemons[0], gpu_pool, t) for t in gpu_pool.types)


def test_device_plugin_overhead_reaches_the_plan() -> None:
    """A pod that fills the cheapest type's CPU exactly leaves no room for the plugin's 50m,
    so the plan moves to another type, as Karpenter's would."""

    def launched(*workloads: dict[str, Any]) -> str:
        inputs = Inputs([G5_G6_POOL], [make_nodeclass()], list(workloads), load_price_book())
        name: str = simulate(inputs).document["nodeclaims"][0]["instance_type"]
        return name

    cheapest = launched(make_pod(gpus=1, cpu="100m", memory="1Gi"))
    (gpu_pool,) = build_pools(Inputs([G5_G6_POOL], [make_nodeclass()], [], load_price_book()), [])
    cpu = next(t for t in gpu_pool.types if t.name == cheapest).allocatable["cpu"]
    full = make_pod(gpus=1, cpu=f"{cpu * 1000}m", memory="1Gi")
    assert launched(full) == cheapest
    assert launched(full, DEVICE_PLUGIN) != cheapest


# --- isDaemonPodCompatible ----------------------------------------------------------------

DAEMON_CASES = [
    # (id, daemon spec keywords, pool keywords, instance type, runs?)
    ("plain on an untainted pool", {}, {}, CPU_TYPE, True),
    ("plain kept off the GPU taint", {}, {"taints": [GPU_TAINT]}, GPU_TYPE, False),
    ("tolerating", {"tolerations": [GPU_TOLERATION]}, {"taints": [GPU_TAINT]}, GPU_TYPE, True),
    ("tolerate everything", {"tolerations": [{"operator": "Exists"}]},
     {"taints": [GPU_TAINT]}, GPU_TYPE, True),
    ("PreferNoSchedule never keeps a daemon away", {},
     {"taints": [{"key": "spot", "effect": "PreferNoSchedule"}]}, CPU_TYPE, True),
    ("NoExecute must be tolerated", {},
     {"taints": [{"key": "dedicated", "value": "ml", "effect": "NoExecute"}]}, CPU_TYPE, False),
    # PodForDaemonSet copies the template: the DaemonSet controller's default tolerations
    # are not there, so Karpenter keeps an intolerant daemon off such a pool
    ("controller tolerations are not added", {},
     {"taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]},
     CPU_TYPE, False),
    ("well-known selector, type matches", {"node_selector": {LABEL_ARCH: "amd64"}}, {},
     GPU_TYPE, True),
    ("well-known selector, type differs", {"node_selector": {LABEL_ARCH: "amd64"}}, {},
     CPU_TYPE, False),
    ("old alias of a well-known key", {"node_selector": {"beta.kubernetes.io/arch": "arm64"}},
     {}, CPU_TYPE, True),
    ("custom label the pool lacks", {"node_selector": {"gpu": "true"}}, {}, GPU_TYPE, False),
    ("custom label the pool sets", {"node_selector": {"gpu": "true"}},
     {"labels": {"gpu": "true"}}, GPU_TYPE, True),
    ("affinity holds", {"affinity_terms": [[expr(LABEL_GPU_COUNT, "Gt", "0")]]}, {},
     GPU_TYPE, True),
    ("affinity fails on a CPU type", {"affinity_terms": [[expr(LABEL_GPU_COUNT, "Gt", "0")]]},
     {}, CPU_TYPE, False),
    ("terms are ORed", {"affinity_terms": [[expr(LABEL_GPU_COUNT, "Gt", "0")],
                                           [expr(LABEL_ARCH, "In", "arm64")]]}, {},
     CPU_TYPE, True),
    ("an empty term matches nothing", {"affinity_terms": [[]]}, {}, CPU_TYPE, False),
    ("the pool's own requirement conflicts",
     {"affinity_terms": [[expr(LABEL_INSTANCE_FAMILY, "In", "g5")]]},
     {"requirements": [expr(LABEL_INSTANCE_FAMILY, "In", "g6")]}, GPU_TYPE, False),
    ("preferred affinity does not restrict", {"preferred": [(1, [expr(LABEL_ARCH, "In", "x")])]},
     {}, CPU_TYPE, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("daemon", "pool_kw", "instance_type", "runs"),
    [c[1:] for c in DAEMON_CASES],
    ids=[c[0] for c in DAEMON_CASES],
)
def test_is_daemon_compatible(
    daemon: dict[str, Any], pool_kw: dict[str, Any], instance_type: Any, runs: bool
) -> None:
    the_pool = pool(types=(instance_type,), **pool_kw)
    the_view = view(cpu="500m", memory="256Mi", **daemon)
    assert is_daemon_compatible(the_view, the_pool, instance_type) is runs
    overhead = daemon_overheads([the_view], the_pool)[instance_type.name]
    assert dict(overhead) == ({"cpu": D("0.5"), "memory": D(256 * 1024**2), "pods": D(1)}
                              if runs else {})  # fmt: skip


def test_daemon_overheads_are_grouped_per_instance_type() -> None:
    everywhere = view(cpu="100m", memory="128Mi", tolerations=[{"operator": "Exists"}])
    gpu_only = view(cpu="50m", memory="100Mi", affinity_terms=[[expr(LABEL_GPU_COUNT, "Gt", "0")]])
    other = make_instance_type("g.2xlarge", labels={LABEL_GPU_COUNT: "2"}, undefined=KEYS)
    the_pool = pool(types=(GPU_TYPE, CPU_TYPE, other))
    overheads = daemon_overheads([everywhere, gpu_only], the_pool)
    assert overheads["c.large"] == {"cpu": D("0.1"), "memory": D(128 * 1024**2), "pods": D(1)}
    assert overheads["g.xlarge"] == {"cpu": D("0.15"), "memory": D(228 * 1024**2), "pods": D(2)}
    assert overheads["g.xlarge"] is overheads["g.2xlarge"], "one group, one overhead"
    assert daemon_overheads([], the_pool)["g.xlarge"] == {}


def test_the_solver_checks_fit_with_each_types_own_overhead() -> None:
    """A DaemonSet that runs only on the cheap type makes the pod spill to the dear one."""
    cheap = make_instance_type("a.large", labels={LABEL_INSTANCE_FAMILY: "a"}, undefined=KEYS,
                               cpu="4", price=1.0)  # fmt: skip
    dear = make_instance_type("b.large", labels={LABEL_INSTANCE_FAMILY: "b"}, undefined=KEYS,
                              cpu="4", price=2.0)  # fmt: skip
    the_pool = pool(types=(cheap, dear))
    daemon = view(cpu="3", memory=None, node_selector={LABEL_INSTANCE_FAMILY: "a"})
    the_pool.overhead = daemon_overheads([daemon], the_pool)
    plan = Solver([the_pool]).solve([SimPod.from_spec("default", "p", make_spec(cpu="2"))])
    assert [claim.launch()[0].name for claim in plan.claims] == ["b.large"]


# --- check_pool ---------------------------------------------------------------------------


def codes(reasons: list[Any]) -> list[str]:
    return [r.code for r in reasons]


def test_taints_come_before_requirements() -> None:
    reasons = check_pool(view(node_selector={"team": "ml"}), pool(taints=[GPU_TAINT]))
    assert codes(reasons) == ["taint-not-tolerated"]
    assert reasons[0].message == "the pod does not tolerate nvidia.com/gpu=true:NoSchedule"


@pytest.mark.parametrize(
    ("spec", "pool_kw", "expected"),
    [
        ({}, {}, []),
        ({"node_selector": {"team": "ml"}}, {}, ["label-undefined"]),
        ({"node_selector": {"team": "ml"}}, {"labels": {"team": "ml"}}, []),
        ({"node_selector": {"team": "web"}}, {"labels": {"team": "ml"}}, ["requirement-conflict"]),
        ({"node_selector": {LABEL_ZONE: "us-east-1a"}}, {}, []),  # well-known, offerings decide
        ({"node_selector": {LABEL_ARCH: "arm64"}}, {}, ["pod-excludes-nodepool-types"]),
        ({"affinity_terms": [[]]}, {}, ["affinity-matches-nothing"]),
        ({"affinity_terms": [[expr(LABEL_ARCH, "In", "arm64")], [expr(LABEL_ARCH, "Exists")]]},
         {}, []),  # the ladder drops the first term
        ({}, {"taints": [{"key": "spot", "effect": "PreferNoSchedule"}]}, []),  # last relaxation
    ],
)  # fmt: skip
def test_check_pool(spec: dict[str, Any], pool_kw: dict[str, Any], expected: list[str]) -> None:
    assert codes(check_pool(view(**spec), pool(**pool_kw))) == expected


def test_requirement_conflict_names_both_sides() -> None:
    (reason,) = check_pool(view(node_selector={"team": "web"}), pool(labels={"team": "ml"}))
    assert reason.message == "team: the pod needs team In [web], the pool allows team In [ml]"


def test_every_reason_code_is_listed_once() -> None:
    assert len(set(REASON_CODES)) == len(REASON_CODES)


# --- which side matched no instance type ---------------------------------------------------


def test_the_pod_excludes_every_type_the_pool_admits() -> None:
    (reason,) = check_pool(view(node_selector={LABEL_ARCH: "arm64"}), pool())
    assert reason.code == "pod-excludes-nodepool-types"
    assert reason.message == (
        "the pod's kubernetes.io/arch In [arm64] excludes every instance type the NodePool "
        "admits (g.xlarge)"
    )


def test_the_pods_requirements_together_exclude_the_pools_types() -> None:
    """Each alone leaves a type; together none: the message says so, naming no single key."""
    types = (GPU_TYPE, CPU_TYPE)  # amd64 with a GPU, arm64 without
    terms = [[expr(LABEL_ARCH, "In", "arm64"), expr(LABEL_GPU_COUNT, "Gt", "0")]]
    (reason,) = check_pool(view(affinity_terms=terms), pool(types=types))
    assert reason.code == "pod-excludes-nodepool-types"
    assert reason.message.startswith("the pod's requirements together exclude every")
    assert "(g.xlarge, c.large)" in reason.message


def test_a_pod_value_no_instance_type_has_is_named() -> None:
    """``p4`` is the guide's word, not a family: the message says no type has it at all."""
    pod = view(node_selector={LABEL_INSTANCE_FAMILY: "p4"})
    (reason,) = check_pool(pod, pool())
    assert reason.code == "pod-excludes-nodepool-types"
    assert reason.message == (
        "the pod's karpenter.k8s.aws/instance-family In [p4] excludes every instance type the "
        "NodePool admits (g.xlarge); no instance type has karpenter.k8s.aws/instance-family "
        "In [p4] at all"
    )


def test_the_pools_requirements_admit_no_type() -> None:
    requirements = [expr(LABEL_INSTANCE_FAMILY, "In", "p4")]
    (reason,) = check_pool(view(), pool(requirements=requirements, types=()))
    assert reason.code == "nodepool-admits-no-type"
    assert reason.message == (
        "the NodePool's requirements admit no instance type at all: no instance type has "
        "karpenter.k8s.aws/instance-family In [p4]; no pod can get a node from it"
    )


def test_a_pool_whose_types_have_no_offering_says_so() -> None:
    """The requirements admit g5 types, but none is offered under the pool (here: no
    offering at all), so the pool side is at fault, with its own code."""
    requirements = [expr(LABEL_INSTANCE_FAMILY, "In", "g5")]
    (reason,) = check_pool(view(), pool(requirements=requirements, types=()))
    assert reason.code == "no-offering"
    assert "admit 8 instance type(s) (g5.12xlarge, g5.16xlarge, g5.24xlarge and 5 more)" in (
        reason.message
    )


@pytest.mark.parametrize(
    ("requirement", "code", "fragment"),
    [
        (expr(LABEL_INSTANCE_FAMILY, "In", "p4"), "nodepool-admits-no-type",
         "no instance type has karpenter.k8s.aws/instance-family In [p4]"),
        (expr(LABEL_ZONE, "In", "us-west-2a"), "no-offering",
         "none is offered in the zones and capacity types it allows"),
    ],
)  # fmt: skip
def test_simulate_blames_a_pool_that_can_launch_nothing(
    requirement: dict[str, Any], code: str, fragment: str
) -> None:
    """End to end: the pool's requirements (a family no type has; a zone not offered)
    leave it no instance type, so every pod gets the pool-side code."""
    nodepool = make_nodepool("broken", requirements=[requirement])
    inputs = Inputs([nodepool], [make_nodeclass()], [make_pod("p")], load_price_book())
    (entry,) = simulate(inputs).document["unschedulable"]
    (reason,) = entry["reasons"]
    assert reason["code"] == code and fragment in reason["message"]


def test_the_simulator_reports_the_side_too() -> None:
    """The solver's verdict for a new NodeClaim is the same reason."""
    plan = Solver([pool()]).solve([SimPod.from_spec("default", "p", make_spec(
        node_selector={LABEL_ARCH: "arm64"}))])  # fmt: skip
    assert [r.code for r in plan.unschedulable["default/p"]] == ["pod-excludes-nodepool-types"]


# --- NodePool order ------------------------------------------------------------------------


def test_pools_are_ordered_as_karpenter_orders_them() -> None:
    """sigs.k8s.io/karpenter v1.14.1 pkg/utils/nodepool/nodepool.go ``OrderByWeight``: weight
    descending; equal weights by name descending (``nps[a].Name > nps[b].Name``)."""
    pools = [pool(name=n, weight=w) for n, w in
             (("alpha", 0), ("zeta", 0), ("mid", 10), ("beta", 10), ("omega", None))]  # fmt: skip
    assert [p.name for p in order_pools(pools)] == ["mid", "beta", "zeta", "omega", "alpha"]


def test_the_first_pool_in_karpenters_order_takes_the_pod() -> None:
    """Two equal-weight pools that can both hold the pod: the later name wins."""
    pools = [pool(name="a-pool"), pool(name="b-pool")]
    plan = Solver(pools).solve([SimPod.from_spec("default", "p", make_spec())])
    assert [claim.pool.name for claim in plan.claims] == ["b-pool"]


# --- PodView -------------------------------------------------------------------------------


def test_pod_view_terms_are_the_selector_and_each_non_empty_term() -> None:
    a, b = expr("team", "In", "a"), expr(LABEL_ARCH, "In", "arm64")
    selector = {LABEL_ZONE: "us-east-1a"}
    the_view = view(node_selector=selector, affinity_terms=[[a], [], [b]])
    assert [str(t) for t in the_view.terms] == [
        f"team In [a], {LABEL_ZONE} In [us-east-1a]",
        f"{LABEL_ARCH} In [arm64], {LABEL_ZONE} In [us-east-1a]",
    ]
    assert [note for _, note in the_view.variants()] == ["required term 0", "required term 2"]
    assert [str(t) for t in view(node_selector=selector).terms] == [f"{LABEL_ZONE} In [us-east-1a]"]
    nothing = view(affinity_terms=[[], []])
    assert nothing.terms == () and nothing.variants() == () and nothing.requirements is None


def test_pod_view_reads_requests_tolerations_and_preferences() -> None:
    the_view = view(gpus=2, cpu="2", preferred=[(5, [expr("a", "In", "1")]), (50, [])])
    assert the_view.gpus == D(2) and the_view.requests["cpu"] == D(2)
    assert the_view.tolerations == (GPU_TOLERATION,)
    assert [weight for weight, _ in the_view.preferred] == [50, 5]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"tolerations": "all"}, r"spec\.tolerations: must be a list"),
        ({"tolerations": ["x"]}, r"spec\.tolerations\[0\]: must be a mapping"),
        ({"nodeSelector": ["a"]}, r"spec\.nodeSelector: must be a mapping"),
        ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": "x"}}}}, r"nodeSelectorTerms: must be a list"),
    ],
)  # fmt: skip
def test_pod_view_errors_name_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PodView.from_spec({"containers": [], **spec})


# --- the instance model validate uses -----------------------------------------------------


def _label(name: str, key: str) -> str | None:
    return all_instance_types()[name].labels.get(key)


@pytest.mark.parametrize(
    ("requirements", "admits"),
    [
        ([], lambda name: True),
        ([expr(LABEL_INSTANCE_FAMILY, "In", "g5", "g6")],
         lambda name: name.split(".")[0] in ("g5", "g6")),
        ([expr(LABEL_GPU_COUNT, "Gt", "3"), expr(LABEL_ARCH, "In", "amd64")],
         lambda name: int(_label(name, LABEL_GPU_COUNT) or 0) > 3
         and _label(name, LABEL_ARCH) == "amd64"),
        ([expr(LABEL_GPU_MANUFACTURER, "NotIn", "nvidia")],  # absent passes NotIn
         lambda name: _label(name, LABEL_GPU_MANUFACTURER) != "nvidia"),
        ([expr(LABEL_ZONE, "In", "us-east-1a"), expr("team", "In", "ml")],
         lambda name: True),  # offering and custom keys never pick a type
    ],
)  # fmt: skip
def test_admitted_types_read_the_catalog_labels(
    requirements: list[dict[str, Any]], admits: Any
) -> None:
    nodepool = make_nodepool(requirements=requirements)
    admitted = [t.name for t in admitted_types(pool_requirements(nodepool))]
    assert admitted == sorted(name for name in all_instance_types() if admits(name))
    assert [t.name for t in pool_spec(nodepool).types] == admitted


def test_catalog_requirements_are_built_once() -> None:
    assert catalog_types() is catalog_types()
    first = catalog_types()[0]
    assert type_requirements(first.name) is first.requirements
    derived = [t.name for t in catalog_types() if t.spec.derived]  # missing from Karpenter's list
    assert derived == ["p3.16xlarge", "p3.2xlarge", "p3.8xlarge"]
