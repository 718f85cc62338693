"""Scenario tests of the scheduling simulator: what Karpenter would launch, and why not.

Every scenario runs the whole library path (:func:`eks_gpu.scheduling.simulate.simulate`)
over NodePools/EC2NodeClasses rendered from a config, the bundled price book (or a
hand-made refreshed one) and pods built here. ``$EKS_GPU_CACHE_DIR`` points at an empty
folder so a user's refreshed prices never change the answers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from builders import GPU_TAINT, GPU_TOLERATION, expr, make_daemonset, make_pod
from eks_gpu.catalog.instance_types import all_instance_types
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.config.parse import config_from_data
from eks_gpu.loaders.price_cache import load_price_book
from eks_gpu.loaders.snapshot_file import read_snapshot
from eks_gpu.render.bundle import render_all
from eks_gpu.scheduling.isolation import check_isolation
from eks_gpu.scheduling.simulate import Inputs, Simulation, build_pools, simulate
from eks_gpu.scheduling.snapshot import SnapshotNode
from eks_gpu.scheduling.workloads import SimPod

Obj = dict[str, Any]
GPU = "nvidia.com/gpu"
GUIDE_POOL = "nodepool-gpu"
GUIDE_FAMILIES = ("g4dn", "g5", "g6", "g6e", "p3", "p4d", "p4de")
FAMILY = "karpenter.k8s.aws/instance-family"
GPU_NAME = "karpenter.k8s.aws/instance-gpu-name"
GPU_MEMORY = "karpenter.k8s.aws/instance-gpu-memory"
GPU_COUNT = "karpenter.k8s.aws/instance-gpu-count"
ZONE = "topology.kubernetes.io/zone"
CAPACITY_TYPE = "karpenter.sh/capacity-type"
ON_DEMAND = {"nodePools": [{"capacityTypes": ["on-demand"]}]}
CONTRACT_KEYS = {"nodeclaims", "unschedulable", "existing", "cost_per_hour", "assumptions"}
CLAIM_KEYS = {
    "nodepool", "instance_type", "capacity_type", "zone", "price_per_hour", "pods", "round",
    "held_by",
}  # fmt: skip


@pytest.fixture(autouse=True)
def no_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty cache folder: the bundled price book, never a user's refreshed one."""
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))


# --- builders ------------------------------------------------------------------------------


def rendered(config: Obj | None = None) -> list[Obj]:
    """Everything ``render`` produces for ``config`` (the guide's defaults when None)."""
    return [item.obj for item in render_all(config_from_data(config or {}), "demo")]


def of_kind(objects: Sequence[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj.get("kind") == kind]


def edit_pool(
    objects: Sequence[Obj],
    taints: list[Obj] | None = None,
    families: Sequence[str] | None = None,
) -> list[Obj]:
    """A copy of ``objects`` with the NodePool's taints and/or families replaced (the
    config refuses untainted or non-GPU pools, so such pools are made by hand)."""
    out = copy.deepcopy(list(objects))
    for pool in of_kind(out, "NodePool"):
        template = pool["spec"]["template"]["spec"]
        if taints is not None:
            template["taints"] = taints
        if families is not None:
            dropped = (FAMILY, "karpenter.k8s.aws/instance-gpu-manufacturer")
            keep = [r for r in template["requirements"] if r["key"] not in dropped]
            template["requirements"] = [*keep, expr(FAMILY, "In", *families)]
    return out


def inputs(
    workloads: Sequence[Obj],
    config: Obj | None = None,
    *,
    objects: Sequence[Obj] | None = None,
    prices: PriceBook | None = None,
    zones: Sequence[str] = (),
    nodes: Sequence[SnapshotNode] = (),
    pending: Sequence[SimPod] = (),
) -> Inputs:
    """Inputs as ``simulate`` builds them: pools, classes and DaemonSets from the render."""
    objects = rendered(config) if objects is None else objects
    return Inputs(
        nodepools=of_kind(objects, "NodePool"),
        nodeclasses=of_kind(objects, "EC2NodeClass"),
        workloads=[*workloads, *of_kind(objects, "DaemonSet")],
        prices=prices or load_price_book(),
        zones=zones,
        nodes=nodes,
        pending=pending,
    )


def run(workloads: Sequence[Obj], config: Obj | None = None, **kwargs: Any) -> dict[str, Any]:
    """The ``simulate -o json`` document."""
    return simulate(inputs(workloads, config, **kwargs)).document


def only_claim(document: dict[str, Any]) -> dict[str, Any]:
    """The one NodeClaim of a run where every pod was placed."""
    assert document["unschedulable"] == [], document["unschedulable"]
    assert len(document["nodeclaims"]) == 1, document["nodeclaims"]
    claim: dict[str, Any] = document["nodeclaims"][0]
    return claim


def only_reason(document: dict[str, Any], pod: str = "default/p") -> dict[str, str]:
    """The single rejection reason of the single unschedulable pod ``pod``."""
    assert document["nodeclaims"] == []
    (entry,) = document["unschedulable"]
    assert entry["pod"] == pod
    (reason,) = entry["reasons"]
    return dict(reason)


def labels(instance_type: str) -> dict[str, str]:
    return dict(all_instance_types()[instance_type].labels)


# --- the issue's Done-when scenarios -------------------------------------------------------


def test_one_gpu_pod_goes_to_g4dn_xlarge_on_demand_at_its_price() -> None:
    document = run([make_pod("p", gpus=1)], ON_DEMAND)
    price = load_price_book().on_demand["g4dn.xlarge"]
    assert only_claim(document) == {
        "nodepool": GUIDE_POOL,
        "instance_type": "g4dn.xlarge",
        "capacity_type": "on-demand",
        "zone": "us-east-1a",
        "price_per_hour": price,
        "pods": ["default/p"],
        "round": 1,
        "held_by": None,
    }
    assert document["cost_per_hour"] == price


def test_gpu_memory_over_20000_goes_to_the_cheapest_24gb_class_type() -> None:
    pod = make_pod("p", affinity_terms=[[expr(GPU_MEMORY, "Gt", "20000")]], gpus=1)
    claim = only_claim(run([pod], ON_DEMAND))
    book = load_price_book()
    big = {
        name: book.on_demand[name]
        for name, spec in all_instance_types().items()
        if spec.labels.get(FAMILY) in GUIDE_FAMILIES
        and int(spec.labels.get(GPU_MEMORY, "0")) > 20000
        and name in book.on_demand
    }
    assert claim["instance_type"] == min(big, key=big.__getitem__) == "g6.xlarge"
    assert claim["price_per_hour"] == book.on_demand["g6.xlarge"]
    assert int(labels("g6.xlarge")[GPU_MEMORY]) // 1024 in (22, 23, 24)


def test_eight_gpu_a100_pod_goes_to_p4d_24xlarge() -> None:
    pod = make_pod("p", gpus=8, affinity_terms=[[expr(GPU_NAME, "In", "a100")]])
    claim = only_claim(run([pod], ON_DEMAND))
    assert claim["instance_type"] == "p4d.24xlarge"
    assert claim["pods"] == ["default/p"]


@pytest.mark.parametrize(
    ("pod", "config", "code", "fragments"),
    [
        pytest.param(make_pod("p", tolerations=[]), None, "taint-not-tolerated",
                     ["nvidia.com/gpu=true:NoSchedule"], id="no-toleration"),
        pytest.param(make_pod("p", gpus=8), {"nodePools": [{"limits": {GPU: "4"}}]},
                     "nodepool-limit-exceeded", ["limits.nvidia.com/gpu is 4", "8"],
                     id="over-gpu-limit"),
        pytest.param(make_pod("p", gpus=2, cpu="6"), {"nodePools": [{"limits": {"cpu": "4"}}]},
                     "nodepool-limit-exceeded", ["limits.cpu is 4"], id="over-cpu-limit"),
        pytest.param(make_pod("p", gpus=16), None, "no-instance-type-fits",
                     [GPU, "needs 16", "8"], id="sixteen-gpus"),
        pytest.param(make_pod("p", cpu="500", gpus=1), None, "no-instance-type-fits",
                     ["cpu", "needs 500"], id="too-much-cpu"),
        pytest.param(make_pod("p", node_selector={"team": "ml"}, gpus=1), None, "label-undefined",
                     ['"team"'], id="custom-label"),
        pytest.param(make_pod("p", node_selector={"kubernetes.io/arch": "arm64"}, gpus=1), None,
                     "requirement-conflict", ["kubernetes.io/arch", "arm64", "amd64"],
                     id="arm64-on-amd64-pool"),
        pytest.param(make_pod("p", node_selector={CAPACITY_TYPE: "spot"}, gpus=1), ON_DEMAND,
                     "requirement-conflict", [CAPACITY_TYPE, "spot", "on-demand"],
                     id="spot-on-on-demand-pool"),
        pytest.param(make_pod("p", affinity_terms=[[expr(FAMILY, "In", "p5")]], gpus=1), None,
                     "requirement-conflict", [FAMILY, "p5", "g4dn"], id="family-outside-pool"),
    ],
)  # fmt: skip
def test_unschedulable_reasons(
    pod: Obj, config: Obj | None, code: str, fragments: list[str]
) -> None:
    reason = only_reason(run([pod], config))
    assert reason["nodepool"] == GUIDE_POOL
    assert reason["code"] == code
    for fragment in fragments:
        assert fragment in reason["message"]


def test_limit_counts_earlier_nodeclaims() -> None:
    pods = [make_pod(f"p{i}", gpus=8) for i in range(3)]
    document = run(pods)
    assert [len(c["pods"]) for c in document["nodeclaims"]] == [1, 1]
    (entry,) = document["unschedulable"]
    assert entry["pod"] == "default/p2"
    assert entry["reasons"][0]["code"] == "nodepool-limit-exceeded"
    assert "limits.nvidia.com/gpu is 16" in entry["reasons"][0]["message"]


def test_nodes_limit_is_not_charged_within_one_pass() -> None:
    """An instance type's capacity has no ``nodes``, so ``subtractMax`` never lowers the
    nodes left within a pass; only ``nodesRemaining.IsZero()`` at the start of a pass
    refuses (sigs.k8s.io/karpenter v1.14.1 scheduler.go ``addToNewNodeClaim``; "node limits
    are not supported for dynamic NodePools", provisioner.go ``CreateNodeClaims``). Two pods
    that cannot share a node get two NodeClaims in the first pass despite ``nodes: 1``."""
    pods = [make_pod(f"p{i}", gpus=8) for i in range(2)]
    document = run(pods, {"nodePools": [{"limits": {"nodes": "1"}}]})
    assert [c["round"] for c in document["nodeclaims"]] == [1, 1]
    assert document["unschedulable"] == []


def test_nodes_limit_refuses_once_launched_nodes_use_it_up() -> None:
    """The next pass counts each launched NodeClaim as one node (``StateNode.Capacity``):
    with ``nodes: 2`` and three 8-GPU pods under a 16-GPU limit, the GPU limit holds the
    third pod back in pass 1, and in pass 2 the two launched nodes exhaust ``nodes``."""
    pods = [make_pod(f"p{i}", gpus=8) for i in range(3)]
    config = {"nodePools": [{"limits": {"nodes": "2", "nvidia.com/gpu": "16"}}]}
    document = run(pods, config)
    assert len(document["nodeclaims"]) == 2
    (entry,) = document["unschedulable"]
    assert entry["reasons"][0]["code"] == "nodepool-limit-exceeded"
    assert "limits.nodes is 2" in entry["reasons"][0]["message"]


def test_zone_without_offerings_is_no_offering() -> None:
    pod = make_pod("p", node_selector={ZONE: "us-east-1d"}, gpus=1)
    reason = only_reason(run([pod], zones=("us-east-1a",)))
    assert reason["code"] == "no-offering"
    assert "us-east-1d" in reason["message"]


def test_no_nodepool() -> None:
    reason = only_reason(run([make_pod("p", gpus=1)], objects=[]))
    assert reason == {
        "nodepool": "-",
        "code": "no-nodepool",
        "message": reason["message"],
    }
    assert "NodePool" in reason["message"]


def test_every_pool_gives_its_own_reason() -> None:
    config = {"nodePools": [{"name": "a100", "instanceFamilies": ["p4d"]},
                            {"name": "cheap", "capacityTypes": ["on-demand"]}]}  # fmt: skip
    pod = make_pod("p", gpus=16)
    (entry,) = run([pod], config)["unschedulable"]
    assert [(r["nodepool"], r["code"]) for r in entry["reasons"]] == [
        ("cheap", "no-instance-type-fits"),
        ("a100", "no-instance-type-fits"),
    ]  # equal weights: the later name first (Karpenter's OrderByWeight)


# --- the exotic filter, packing, pool order ------------------------------------------------

MIXED = {"nodePools": [{"name": "mixed", "capacityTypes": ["on-demand"]}]}


@pytest.mark.parametrize(
    ("pod", "instance_type"),
    [
        # g4dn.xlarge ($0.526) is cheaper than x1e.xlarge ($0.834): only the filter avoids it
        (make_pod("p", gpus=0, tolerations=[]), "x1e.xlarge"),
        (make_pod("p", gpus=1, tolerations=[]), "g4dn.xlarge"),
    ],
)
def test_exotic_filter_keeps_gpu_types_for_gpu_pods(pod: Obj, instance_type: str) -> None:
    objects = edit_pool(rendered(MIXED), taints=[], families=["g4dn", "x1e"])
    book = load_price_book()
    assert book.on_demand["g4dn.xlarge"] < book.on_demand["x1e.xlarge"]
    claim = only_claim(run([pod], objects=objects))
    assert claim["instance_type"] == instance_type


def test_two_small_pods_share_one_nodeclaim() -> None:
    document = run([make_pod("a", gpus=1), make_pod("b", gpus=1)])
    claim = only_claim(document)
    assert sorted(claim["pods"]) == ["default/a", "default/b"]
    assert int(labels(claim["instance_type"])[GPU_COUNT]) >= 2


@pytest.mark.parametrize(
    "pods",
    [
        pytest.param([make_pod("a", gpus=8), make_pod("b", gpus=8)], id="too-big-together"),
        pytest.param([make_pod("a", node_selector={GPU_NAME: "t4"}, gpus=1),
                      make_pod("b", node_selector={GPU_NAME: "a10g"}, gpus=1)],
                     id="conflicting-selectors"),
    ],
)  # fmt: skip
def test_pods_that_cannot_share_get_separate_nodeclaims(pods: list[Obj]) -> None:
    document = run(pods)
    assert document["unschedulable"] == []
    assert sorted(c["pods"][0] for c in document["nodeclaims"]) == ["default/a", "default/b"]
    assert all(len(c["pods"]) == 1 for c in document["nodeclaims"])


@pytest.mark.parametrize(
    ("pools", "winner"),
    [
        pytest.param([{"name": "zeta", "weight": 10}, {"name": "alpha"}], "zeta", id="heavier"),
        pytest.param([{"name": "alpha", "weight": 5}, {"name": "zeta", "weight": 50}], "zeta",
                     id="heavier-listed-last"),
        pytest.param([{"name": "alpha"}, {"name": "zeta"}], "zeta", id="tie-by-name"),
        pytest.param([{"name": "alpha", "weight": 7}, {"name": "zeta", "weight": 7}], "zeta",
                     id="equal-weights-by-name"),
        pytest.param([{"name": "zeta", "weight": 90, "instanceFamilies": ["p4d"]},
                      {"name": "alpha"}], "alpha", id="heavier-cannot-take-it"),
    ],
)  # fmt: skip
def test_pool_weight_order(pools: list[Obj], winner: str) -> None:
    pod = make_pod("p", node_selector={GPU_NAME: "t4"}, gpus=1)
    assert only_claim(run([pod], {"nodePools": pools}))["nodepool"] == winner


def test_pool_order_is_karpenters_not_an_assumption() -> None:
    """Equal weights go later name first, as Karpenter v1.14.1 ``OrderByWeight`` does, so no
    assumption line has to excuse a different order."""
    assumptions = run([make_pod("p", gpus=1)])["assumptions"]
    assert not any("name ascending" in line for line in assumptions)


# --- node affinity: preferences and required terms -----------------------------------------


@pytest.mark.parametrize(
    ("pod", "instance_type"),
    [
        pytest.param(make_pod("p", preferred=[(50, [expr(GPU_NAME, "In", "l4")])], gpus=1),
                     "g6.xlarge", id="preference-held"),
        pytest.param(make_pod("p", preferred=[(50, [expr(GPU_NAME, "In", "h100")])], gpus=1),
                     "g4dn.xlarge", id="preference-relaxed"),
        pytest.param(make_pod("p", preferred=[(10, [expr(GPU_NAME, "In", "l4")]),
                                              (90, [expr(GPU_NAME, "In", "h100")])], gpus=1),
                     "g6.xlarge", id="heaviest-relaxed-first"),
        pytest.param(make_pod("p", affinity_terms=[[expr(GPU_NAME, "In", "h100")],
                                             [expr(GPU_NAME, "In", "a10g")]], gpus=1),
                     "g5.xlarge", id="required-term-2-when-1-cannot"),
        pytest.param(make_pod("p", affinity_terms=[[expr(GPU_NAME, "In", "a10g")],
                                             [expr(GPU_NAME, "In", "t4")]], gpus=1),
                     "g5.xlarge", id="required-term-1-when-it-can"),
    ],
)  # fmt: skip
def test_node_affinity(pod: Obj, instance_type: str) -> None:
    assert only_claim(run([pod]))["instance_type"] == instance_type


def test_required_terms_that_all_fail_are_unschedulable() -> None:
    pod = make_pod(
        "p", affinity_terms=[[expr(GPU_NAME, "In", "h100")], [expr(GPU_NAME, "In", "b200")]], gpus=1
    )
    document = run([pod])
    assert document["nodeclaims"] == []
    assert [u["pod"] for u in document["unschedulable"]] == ["default/p"]


def test_topology_spread_is_reported_not_simulated() -> None:
    spread = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "x"}}}]  # fmt: skip
    document = run([make_pod("p", topologySpreadConstraints=spread, gpus=1)])
    assert only_claim(document)["pods"] == ["default/p"]
    assert any("default/p" in line and "not simulated" in line for line in document["assumptions"])


# --- DaemonSet overhead --------------------------------------------------------------------


def agent(**spec: Any) -> Obj:
    """A DaemonSet whose pods request 3 CPUs (nothing else)."""
    return make_daemonset("agent", cpu="3", memory=None, **spec)


@pytest.mark.parametrize(
    ("daemonsets", "instance_type"),
    [
        pytest.param([], "g4dn.xlarge", id="none"),
        pytest.param([agent(tolerations=[GPU_TOLERATION])], "g4dn.2xlarge",
                     id="tolerating-3-cpu-pushes-to-bigger-type"),
        pytest.param([agent()], "g4dn.xlarge", id="not-tolerating-does-not-count"),
        pytest.param([agent(node_selector={"node-type": "cpu"}, tolerations=[GPU_TOLERATION])],
                     "g4dn.xlarge", id="selector-elsewhere-does-not-count"),
        pytest.param([agent(node_selector={"node-type": "gpu"}, tolerations=[GPU_TOLERATION])],
                     "g4dn.2xlarge", id="selector-matching-pool-label"),
    ],
)  # fmt: skip
def test_daemonset_overhead(daemonsets: list[Obj], instance_type: str) -> None:
    claim = only_claim(run([make_pod("p", gpus=1), *daemonsets]))
    assert claim["instance_type"] == instance_type
    assert claim["pods"] == ["default/p"]  # daemon pods are overhead, not placed pods


# --- existing nodes from a snapshot --------------------------------------------------------


def snapshot_node(
    name: str, *, gpus: int = 1, taints: list[Obj] | None = None, pool: str = GUIDE_POOL
) -> Obj:
    """A g4dn.xlarge-sized Node as ``kubectl get nodes -o yaml`` prints it."""
    allocatable = {"cpu": "3920m", "memory": "14481Mi", "pods": "29", GPU: str(gpus)}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {
            "karpenter.sh/nodepool": pool, "node-type": "gpu", "kubernetes.io/arch": "amd64",
            "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "g4dn.xlarge",
            ZONE: "us-east-1a", CAPACITY_TYPE: "on-demand"}},
        "spec": {"taints": [GPU_TAINT] if taints is None else taints},
        "status": {"allocatable": allocatable, "capacity": allocatable},
    }  # fmt: skip


def bound(pod: Obj, node: str) -> Obj:
    pod = copy.deepcopy(pod)
    pod["spec"]["nodeName"] = node
    pod["status"] = {"phase": "Running"}
    return pod


def snapshot(tmp_path: Path, *items: Obj) -> tuple[tuple[SnapshotNode, ...], tuple[SimPod, ...]]:
    """Write ``items`` as a ``kind: List`` (kubectl's format) and read it back."""
    path = tmp_path / "snapshot.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": list(items)}))
    state = read_snapshot(str(path))
    return state.nodes, state.pending


def test_existing_node_takes_the_pod_before_a_new_nodeclaim(tmp_path: Path) -> None:
    nodes, _ = snapshot(tmp_path, snapshot_node("node-1"))
    document = run([make_pod("p", gpus=1)], nodes=nodes)
    assert document["existing"] == [{"node": "node-1", "pods": ["default/p"]}]
    assert document["nodeclaims"] == []
    assert document["unschedulable"] == []
    assert document["cost_per_hour"] == 0


def test_existing_node_full_then_new_nodeclaim(tmp_path: Path) -> None:
    nodes, _ = snapshot(tmp_path, snapshot_node("node-1"))
    document = run([make_pod("a", gpus=1), make_pod("b", gpus=1)], nodes=nodes)
    assert document["existing"] == [{"node": "node-1", "pods": ["default/a"]}]
    assert only_claim(document)["pods"] == ["default/b"]


def test_existing_node_with_a_running_pod_has_no_room(tmp_path: Path) -> None:
    nodes, _ = snapshot(tmp_path, snapshot_node("node-1"), bound(make_pod("old", gpus=1), "node-1"))
    document = run([make_pod("p", gpus=1)], nodes=nodes)
    assert document["existing"] == []
    assert only_claim(document)["pods"] == ["default/p"]


def test_tainted_existing_node_is_skipped_when_not_tolerated(tmp_path: Path) -> None:
    dedicated = {"key": "dedicated", "value": "team-a", "effect": "NoSchedule"}
    nodes, _ = snapshot(tmp_path, snapshot_node("node-1", taints=[GPU_TAINT, dedicated]))
    document = run([make_pod("p", gpus=1)], nodes=nodes)
    assert document["existing"] == []
    assert only_claim(document)["instance_type"] == "g4dn.xlarge"


def test_plain_pod_stays_off_a_gpu_tainted_existing_node(tmp_path: Path) -> None:
    nodes, _ = snapshot(tmp_path, snapshot_node("node-1"))
    document = run([make_pod("p", gpus=0, tolerations=[])], nodes=nodes)
    assert document["existing"] == []
    assert only_reason(document)["code"] == "taint-not-tolerated"


def test_pending_pods_of_the_snapshot_are_placed(tmp_path: Path) -> None:
    nodes, pending = snapshot(tmp_path, snapshot_node("node-1"), make_pod("waiting", gpus=1))
    document = run([], nodes=nodes, pending=pending)
    assert document["existing"] == [{"node": "node-1", "pods": ["default/waiting"]}]


def test_existing_nodes_count_against_pool_limits(tmp_path: Path) -> None:
    nodes, _ = snapshot(tmp_path, snapshot_node("big", gpus=16),
                        bound(make_pod("old", gpus=16), "big"))  # fmt: skip
    reason = only_reason(run([make_pod("p", gpus=1)], nodes=nodes))
    assert reason["code"] == "nodepool-limit-exceeded"
    assert "limits.nvidia.com/gpu is 16" in reason["message"]


# --- prices: unknown spot, refreshed spot --------------------------------------------------


def test_spot_preferred_when_both_allowed_and_spot_price_unknown() -> None:
    document = run([make_pod("p", gpus=1)])
    claim = only_claim(document)
    assert (claim["instance_type"], claim["capacity_type"]) == ("g4dn.xlarge", "spot")
    assert claim["price_per_hour"] is None
    assert document["cost_per_hour"] == 0
    text = "\n".join(document["assumptions"])
    assert "spot prices unknown" in text
    assert "rank at the on-demand price" in text
    assert "1 NodeClaim(s) have no known price" in text
    assert "$0.526/h" in text


def refreshed_book() -> PriceBook:
    """What ``catalog refresh`` would store: spot per zone, zones per type."""
    return PriceBook(
        "us-east-1",
        "aws",
        "2026-07-01",
        on_demand={"g4dn.xlarge": 0.526, "g5.xlarge": 1.006, "g6.xlarge": 0.8048},
        spot={
            "g4dn.xlarge": {"us-east-1b": 0.2103, "us-east-1c": 0.25},
            "g6.xlarge": {"us-east-1b": 0.3, "us-east-1c": 0.28},
        },
        zones={
            "g4dn.xlarge": ("us-east-1b", "us-east-1c"),
            "g5.xlarge": ("us-east-1b",),
            "g6.xlarge": ("us-east-1b", "us-east-1c"),
        },
    )


@pytest.mark.parametrize(
    ("pod", "config", "expected"),
    [
        pytest.param(make_pod("p", gpus=1), None, ("g4dn.xlarge", "spot", "us-east-1b", 0.2103),
                     id="cheapest-spot-zone"),
        pytest.param(make_pod("p", node_selector={GPU_NAME: "l4"}, gpus=1), None,
                     ("g6.xlarge", "spot", "us-east-1c", 0.28), id="spot-zone-by-price"),
        pytest.param(make_pod("p", gpus=1), ON_DEMAND,
                     ("g4dn.xlarge", "on-demand", "us-east-1b", 0.526),
                     id="on-demand-in-offered-zone"),
    ],
)  # fmt: skip
def test_refreshed_price_book_gives_real_prices_and_zones(
    pod: Obj, config: Obj | None, expected: tuple[str, str, str, float]
) -> None:
    document = run([pod], config, prices=refreshed_book())
    claim = only_claim(document)
    got = (claim["instance_type"], claim["capacity_type"], claim["zone"], claim["price_per_hour"])
    assert got == expected
    assert document["cost_per_hour"] == expected[3]
    assert "zones: us-east-1b, us-east-1c" in document["assumptions"]
    assert not any("no known price" in line for line in document["assumptions"])


def test_zones_option_restricts_offerings() -> None:
    claim = only_claim(run([make_pod("p", gpus=1)], ON_DEMAND, zones=("us-east-1c",)))
    assert claim["zone"] == "us-east-1c"


# --- isolation -----------------------------------------------------------------------------


def isolation(objects: Sequence[Obj]) -> list[tuple[str, bool, str]]:
    pools = build_pools(inputs([], objects=objects), [])
    return [(r.nodepool, r.isolated, r.message) for r in check_isolation(pools)]


def test_isolation_holds_for_the_guide_pool() -> None:
    ((pool, isolated, message),) = isolation(rendered())
    assert (pool, isolated) == (GUIDE_POOL, True)
    assert "nvidia.com/gpu=true:NoSchedule" in message


def test_isolation_broken_for_an_untainted_gpu_pool() -> None:
    ((pool, isolated, message),) = isolation(edit_pool(rendered(), taints=[]))
    assert (pool, isolated) == (GUIDE_POOL, False)
    assert "taint the pool" in message


def test_isolation_skips_pools_without_gpu_types() -> None:
    assert isolation(edit_pool(rendered(), taints=[], families=["m5"])) == []


def test_isolation_probe_does_not_use_up_limits() -> None:
    pools = build_pools(inputs([], objects=edit_pool(rendered(), taints=[])), [])
    check_isolation(pools)
    assert pools[0].used == {}


def test_simulation_reports_broken_isolation() -> None:
    simulation: Simulation = simulate(inputs([], objects=edit_pool(rendered(), taints=[])))
    assert simulation.isolation_broken
    assert any(line.startswith("isolation BROKEN") for line in simulation.document["assumptions"])


PREFER_NO_SCHEDULE = [{"key": GPU, "value": "true", "effect": "PreferNoSchedule"}]


def test_prefer_no_schedule_taint_is_relaxed() -> None:
    objects = edit_pool(rendered(), taints=PREFER_NO_SCHEDULE)
    claim = only_claim(run([make_pod("p", gpus=0, tolerations=[])], objects=objects))
    assert claim["nodepool"] == GUIDE_POOL


def test_isolation_broken_for_a_prefer_no_schedule_pool() -> None:
    ((_, isolated, _),) = isolation(edit_pool(rendered(), taints=PREFER_NO_SCHEDULE))
    assert not isolated


# --- the output contract and determinism ---------------------------------------------------


def test_output_has_exactly_the_contract_keys(tmp_path: Path) -> None:
    nodes, _ = snapshot(tmp_path, snapshot_node("node-1"))
    pods = [
        make_pod("on-node", gpus=1),
        make_pod("new", gpus=1),
        make_pod("stuck", tolerations=[], gpus=0),
    ]
    document = run(pods, nodes=nodes)
    assert set(document) == CONTRACT_KEYS
    assert document["nodeclaims"] and document["unschedulable"] and document["existing"]
    for claim in document["nodeclaims"]:
        assert set(claim) == CLAIM_KEYS
        assert claim["price_per_hour"] is None or isinstance(claim["price_per_hour"], float)
        assert all(isinstance(ref, str) and "/" in ref for ref in claim["pods"])
    for entry in document["unschedulable"]:
        assert set(entry) == {"pod", "reasons"}
        assert all(set(r) == {"nodepool", "code", "message"} for r in entry["reasons"])
    for entry in document["existing"]:
        assert set(entry) == {"node", "pods"}
    assert isinstance(document["cost_per_hour"], float)
    assert all(isinstance(line, str) for line in document["assumptions"])
    assert json.loads(json.dumps(document)) == document


def test_same_input_same_output() -> None:
    pods = [make_pod(f"p{i}", gpus=1 + i % 3, cpu=f"{1 + i % 4}") for i in range(8)]
    first, second = run(pods), run(pods)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_pod_input_order_does_not_change_the_result() -> None:
    pods = [
        make_pod("a", gpus=1, cpu="2"),
        make_pod("b", gpus=4, cpu="2"),
        make_pod("c", gpus=1, cpu="2"),
        make_pod("d", gpus=2, cpu="8", memory="30Gi"),
        make_pod("e", gpus=0, tolerations=[]),
        make_pod("f", gpus=1, node_selector={GPU_NAME: "l4"}),
    ]
    forward, backward = run(pods), run(list(reversed(pods)))
    assert forward == backward
    assert forward["nodeclaims"] and forward["unschedulable"]


@pytest.mark.parametrize(
    ("capacity_types", "launched"),
    [
        (["on-demand"], ("g4dn.4xlarge", "on-demand")),
        (["spot", "on-demand"], ("g5.4xlarge", "spot")),
    ],
)
def test_a_type_is_priced_by_the_offerings_its_nodeclaim_allows(
    capacity_types: list[str], launched: tuple[str, str]
) -> None:
    """Karpenter ranks a NodeClaim's types by the cheapest offering the claim's requirements
    allow (sigs.k8s.io/karpenter@v1.14.1 pkg/cloudprovider/types.go ``OrderByPrice``), so
    g5.4xlarge's cheap spot price must not win an on-demand-only pool (found by the agreement
    benchmark)."""
    import dataclasses

    from builders import make_nodeclass, make_nodepool

    names, zones = ("g4dn.4xlarge", "g5.4xlarge"), ("us-east-1a",)
    book = dataclasses.replace(
        load_price_book(),
        on_demand={"g4dn.4xlarge": 1.2, "g5.4xlarge": 1.6},
        spot={"g4dn.4xlarge": {"us-east-1a": 0.9}, "g5.4xlarge": {"us-east-1a": 0.2}},
        zones=dict.fromkeys(names, zones),
    )
    pool = make_nodepool(
        requirements=[
            expr("node.kubernetes.io/instance-type", "In", *names),
            expr("karpenter.sh/capacity-type", "In", *capacity_types),
        ]
    )
    pod = make_pod("p", gpus=1)
    result = simulate(Inputs([pool], [make_nodeclass()], [pod], book, zones=zones)).document
    [claim] = result["nodeclaims"]
    assert (claim["instance_type"], claim["capacity_type"]) == launched
