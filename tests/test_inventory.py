"""The GPU inventory core (``eks_gpu.inventory``): selectors, pod GPU requests, the pod
ledger, GPU counting of shared/MIG resources, node rows, NodePool limits and totals."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from builders import make_node, make_nodepool, make_pod
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.errors import UsageError
from eks_gpu.inventory.gpus import inventory
from eks_gpu.inventory.pods import PodLedger, pod_gpu_requests
from eks_gpu.inventory.selector import parse_selector
from eks_gpu.inventory.units import gpus_per_unit, hourly_price, in_gpus
from eks_gpu.manifests import ManifestError
from eks_gpu.manifests.cluster_state import ClusterState, state_from_objects
from eks_gpu.names import (
    LABEL_CAPACITY_TYPE,
    LABEL_GPU_COUNT,
    LABEL_GPU_NAME,
    LABEL_NODEPOOL,
    LABEL_NVIDIA_GPU_PRODUCT,
    LABEL_ZONE,
    RESOURCE_NVIDIA_GPU,
    RESOURCE_NVIDIA_GPU_SHARED,
)

Obj = dict[str, Any]
GPU = RESOURCE_NVIDIA_GPU
MIG_1G = "nvidia.com/mig-1g.10gb"
MIG_3G = "nvidia.com/mig-3g.40gb"
PRICES = PriceBook(
    "us-east-1",
    "aws",
    "2026-12-01",
    on_demand={"g5.xlarge": 1.0, "g5.12xlarge": 5.0, "p4d.24xlarge": 20.0},
    spot={"g5.xlarge": {"us-east-1a": 0.4, "us-east-1b": 0.5}},
)


# --- selector ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels", "selected"),
    [
        ("a=b", {"a": "b"}, True),
        ("a==b", {"a": "c"}, False),
        ("a!=b", {}, True),  # != matches objects without the label, as kubectl's does
        ("a!=b", {"a": "b"}, False),
        ("a in (x, y)", {"a": "y"}, True),
        ("a in (x,y)", {}, False),
        ("a notin (x,y)", {"a": "z"}, True),
        ("a notin (x,y)", {"a": "x"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": "1"}, False),
        ("!a", {}, True),
        (
            "karpenter.sh/nodepool=gpu,!taint,zone in (a,b)",
            {LABEL_NODEPOOL: "gpu", "zone": "b"},
            True,
        ),
        ("karpenter.sh/nodepool=gpu,zone in (a,b)", {LABEL_NODEPOOL: "gpu", "zone": "c"}, False),
        ("", {"a": "b"}, True),
    ],
)
def test_selector_matches_as_kubectl(text: str, labels: dict[str, str], selected: bool) -> None:
    assert parse_selector(text).matches(labels) is selected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a in (x", "unbalanced parentheses"),
        ("a>1", "is not a label selector term"),
        ("a in ()", "needs at least one value"),
        ("a=b c", "is not a label selector term"),
        ("a in (b c)", "is not a valid label value"),
    ],
)
def test_bad_selector_names_the_term(text: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_selector(text)
    assert says in caught.value.message


# --- pod GPU requests and the ledger --------------------------------------------------------


def gpu_pod(name: str, gpus: int, node: str | None = None, **kw: Any) -> Obj:
    return make_pod(name, node=node, gpus=gpus, **kw)


def test_gpu_request_defaults_from_the_limit() -> None:
    pod = make_pod("p", limits={GPU: "2"})
    assert pod_gpu_requests(pod) == {GPU: Decimal(2)}
    pod["spec"]["containers"].append({"name": "b", "resources": {"requests": {MIG_1G: "1"}}})
    assert pod_gpu_requests(pod) == {GPU: 2, MIG_1G: 1}


def test_init_container_gpus_follow_the_scheduler_rule() -> None:
    pod = make_pod("p", gpus=1)
    pod["spec"]["initContainers"] = [{"name": "i", "resources": {"limits": {GPU: "4"}}}]
    assert pod_gpu_requests(pod) == {GPU: 4}  # max(init, sum of app containers)


def test_bad_gpu_quantity_names_the_pod() -> None:
    pod = make_pod("broken", limits={GPU: "lots"})
    with pytest.raises(ManifestError) as caught:
        pod_gpu_requests(pod)
    assert "Pod default/broken" in caught.value.message and GPU in caught.value.message


def test_ledger_counts_bound_non_terminal_and_pending_gpu_pods() -> None:
    pods = [
        gpu_pod("a", 2, "n1"),
        gpu_pod("b", 1, "n1"),
        gpu_pod("done", 1, "n1", phase="Succeeded"),
        gpu_pod("failed", 1, "n1", phase="Failed"),
        make_pod("cpu", node="n1"),
        gpu_pod("waiting", 1),
        gpu_pod("waiting-cpu", 0),
    ]
    ledger = PodLedger.of(pods)
    assert ledger.by_node["n1"].requested == {GPU: 3}
    assert ledger.by_node["n1"].pods == 2
    assert [p.name for p in ledger.pending.values()] == ["waiting"]


def test_ledger_updated_event_by_event_equals_a_fresh_count() -> None:
    rng = random.Random(7)
    live: dict[str, Obj] = {}
    ledger = PodLedger()
    for step in range(400):
        name = f"p{rng.randrange(30)}"
        if name in live and rng.random() < 0.3:
            ledger.remove(live.pop(name))
            continue
        phase = rng.choice(["Running", "Running", "Succeeded", None])
        node = rng.choice(["n1", "n2", None])
        pod = gpu_pod(name, rng.randrange(3), node, phase=phase)
        live[name] = pod
        ledger.add(pod)
        if step % 50 == 0:
            fresh = PodLedger.of(live.values())
            assert {k: (v.requested, v.pods) for k, v in ledger.by_node.items()} == {
                k: (v.requested, v.pods) for k, v in fresh.by_node.items()
            }
            assert ledger.pending.keys() == fresh.pending.keys()


# --- counting GPUs -------------------------------------------------------------------------


def test_whole_gpus_count_one_each() -> None:
    assert gpus_per_unit({GPU: Decimal(4)}, 4) == {GPU: 1.0}


def test_time_slicing_under_the_gpu_name_counts_the_physical_share() -> None:
    per_unit = gpus_per_unit({GPU: Decimal(16)}, 4)  # 4 GPUs x 4 replicas
    assert in_gpus({GPU: Decimal(6)}, per_unit) == 1.5


def test_shared_units_divide_the_physical_gpus() -> None:
    per_unit = gpus_per_unit({RESOURCE_NVIDIA_GPU_SHARED: Decimal(8)}, 1)
    assert in_gpus({RESOURCE_NVIDIA_GPU_SHARED: Decimal(3)}, per_unit) == 0.375


def test_mig_slices_count_by_compute_size() -> None:
    # One A100 as 7x 1g, one as 2x 3g (+1 unused slice): 2 GPUs, 13 weighted slices.
    capacity = {MIG_1G: Decimal(7), MIG_3G: Decimal(2)}
    per_unit = gpus_per_unit(capacity, 2)
    assert per_unit[MIG_3G] == pytest.approx(3 * per_unit[MIG_1G])
    assert in_gpus(capacity, per_unit) == pytest.approx(2.0)


def test_mixed_whole_and_mig_gpus() -> None:
    capacity = {GPU: Decimal(6), MIG_1G: Decimal(14)}  # 8 GPUs: 6 whole, 2 in 1g slices
    per_unit = gpus_per_unit(capacity, 8)
    assert in_gpus(capacity, per_unit) == pytest.approx(8.0)
    assert in_gpus({MIG_1G: Decimal(7)}, per_unit) == pytest.approx(1.0)


def test_unknown_gpu_count_counts_a_slice_as_one() -> None:
    assert gpus_per_unit({MIG_1G: Decimal(7)}, None) == {MIG_1G: 1.0}


# --- prices --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "zone", "price"),
    [
        ("on-demand", "us-east-1a", 1.0),
        (None, None, 1.0),
        ("spot", "us-east-1b", 0.5),  # the node's zone, not the cheapest
        ("spot", "us-east-1c", None),  # no spot price for that zone
        ("reserved", "us-east-1a", None),  # billed by the reservation
    ],
)
def test_hourly_price(capacity: str | None, zone: str | None, price: float | None) -> None:
    assert hourly_price(PRICES, "g5.xlarge", capacity, zone) == price


# --- the inventory -------------------------------------------------------------------------


def gpu_node(
    name: str,
    itype: str,
    gpus: int,
    *,
    allocatable: int | None = None,
    labels: dict[str, str] | None = None,
    pool: str = "gpu",
    **kw: Any,
) -> Obj:
    node = make_node(name, nodepool=pool, instance_type=itype, gpus=gpus, labels=labels, **kw)
    if allocatable is not None:
        node["status"]["allocatable"] = {**node["status"]["allocatable"], GPU: str(allocatable)}
        node["status"]["capacity"] = {**node["status"]["capacity"], GPU: str(gpus)}
    return node


def state(
    *objects: Obj,
    read: tuple[str, ...] = ("Node", "Pod", "NodePool", "NodeClaim"),
    missing: dict[str, str] | None = None,
) -> ClusterState:
    found = state_from_objects(objects)
    return ClusterState(found.objects, (), frozenset(read), missing or {})


def test_idle_and_unhealthy_are_apart_and_cost_the_idle_share() -> None:
    node = gpu_node("big", "g5.12xlarge", 4, allocatable=3)  # one GPU unhealthy
    found = inventory(state(node, gpu_pod("a", 1, "big")), PRICES)
    (row,) = found.nodes
    assert (row.gpus_capacity, row.gpus_allocatable, row.gpus_requested) == (4, 3, 1)
    assert (row.gpus_idle, row.gpus_unhealthy, row.gpu_pods) == (2, 1, 1)
    assert row.idle_cost_per_hour == pytest.approx(5.0 * 2 / 4)
    t = found.totals
    assert (t.gpus_idle, t.gpus_unhealthy, t.cost_per_hour, t.unpriced) == (2, 1, 5.0, 0)


def test_gpu_nodes_only_tainted_and_cordoned_included() -> None:
    objects = [
        make_node("cpu", nodepool="default", instance_type="m5.large", gpus=0),
        gpu_node("tainted", "g5.xlarge", 1, taints=[{"key": "x", "effect": "NoExecute"}]),
        gpu_node("cordoned", "g5.xlarge", 1, unschedulable=True),
        # a GPU type whose device plugin is not running yet: a GPU node with 0 GPUs
        make_node("no-plugin", nodepool="gpu", instance_type="g5.xlarge", gpus=0, taints=[]),
    ]
    zero = make_node("zero", nodepool="default", instance_type="m5.large", gpus=0)
    zero["status"]["capacity"] = zero["status"]["allocatable"] = {GPU: "0"}  # not a GPU node
    found = inventory(state(*objects, zero), PRICES)
    assert [n.name for n in found.nodes] == ["cordoned", "no-plugin", "tainted"]
    rows = {n.name: n for n in found.nodes}
    assert rows["tainted"].taints == ("x:NoExecute",)
    assert rows["cordoned"].unschedulable
    assert rows["no-plugin"].gpus_capacity == 0


def test_gpu_model_precedence() -> None:
    karpenter = gpu_node(
        "k",
        "g5.xlarge",
        1,
        labels={LABEL_GPU_NAME: "a10g-k", LABEL_NVIDIA_GPU_PRODUCT: "NVIDIA-A10G"},
    )
    gfd = gpu_node("g", "g5.xlarge", 1, labels={LABEL_NVIDIA_GPU_PRODUCT: "NVIDIA-A10G"})
    catalog = gpu_node("c", "p4d.24xlarge", 8)
    unknown = gpu_node("u", "x9.weird", 1)
    found = inventory(state(karpenter, gfd, catalog, unknown), PRICES)
    assert {n.name: n.gpu_name for n in found.nodes} == {
        "k": "a10g-k",
        "g": "NVIDIA-A10G",
        "c": "a100",
        "u": None,
    }
    assert found.totals.unpriced == 1  # x9.weird


def test_spot_node_prices_its_zone() -> None:
    labels = {LABEL_CAPACITY_TYPE: "spot", LABEL_ZONE: "us-east-1a"}
    found = inventory(state(gpu_node("s", "g5.xlarge", 1, labels=labels)), PRICES)
    assert found.nodes[0].price_per_hour == 0.4
    assert found.nodes[0].capacity_type == "spot"


def test_selector_filters_nodes_and_pools() -> None:
    objects = [
        gpu_node("a", "g5.xlarge", 1, pool="one"),
        gpu_node("b", "g5.xlarge", 1, pool="two"),
        make_nodepool("one", limits={GPU: 4}),
        make_nodepool("two", limits={GPU: 4}),
    ]
    found = inventory(state(*objects), PRICES, parse_selector("karpenter.sh/nodepool=two"))
    assert [n.name for n in found.nodes] == ["b"]
    assert [p.name for p in found.pools] == ["two"]


def test_metrics_unavailable_is_never_zero() -> None:
    node = gpu_node("n", "g5.xlarge", 1)
    missing = inventory(state(node, missing={"NodeMetrics": "no metrics-server"}), PRICES)
    assert missing.metrics == "no metrics-server"
    assert missing.nodes[0].cpu_used is None
    metrics = {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "NodeMetrics",
        "metadata": {"name": "n"},
        "usage": {"cpu": "1500m", "memory": "2Gi"},
    }
    read = inventory(state(node, metrics, read=("Node", "Pod", "NodeMetrics")), PRICES)
    assert read.metrics is None
    assert (read.nodes[0].cpu_used, read.nodes[0].memory_used) == (
        Decimal("1.5"),
        Decimal(2 * 1024**3),
    )


def launching_claim(name: str, pool: str, gpus: int, node: str | None = None) -> Obj:
    status: Obj = {
        "capacity": {"cpu": "4", GPU: str(gpus)},
        "conditions": [
            {"type": "Launched", "status": "True"},
            {"type": "Initialized", "status": "Unknown", "reason": "NotInitialized"},
        ],
    }
    if node:
        status["nodeName"] = node
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodeClaim",
        "metadata": {"name": name, "labels": {LABEL_NODEPOOL: pool}},
        "spec": {"resources": {"requests": {GPU: str(gpus)}}},
        "status": status,
    }


def test_nodepool_limits_count_capacity_of_nodes_and_launching_claims() -> None:
    objects = [
        gpu_node("a", "g5.12xlarge", 4, allocatable=3),  # capacity counts, not allocatable
        gpu_node("b", "g5.xlarge", 1),
        make_node("cpu-in-pool", nodepool="gpu", instance_type="m5.large", gpus=0, cpu="2"),
        launching_claim("claim-1", "gpu", 8),
        make_nodepool("gpu", limits={GPU: 16, "cpu": "100", "nodes": "10"}),
        make_nodepool("cpu-only", limits={"cpu": "10"}),  # not a GPU pool: not shown
    ]
    found = inventory(state(*objects), PRICES)
    (pool,) = found.pools
    assert pool.name == "gpu" and pool.nodes == 2
    assert pool.limits_used == {GPU: 4 + 1 + 8, "cpu": Decimal("3.92") * 2 + 2 + 4, "nodes": 4}
    assert [c.name for c in found.launching] == ["claim-1"]
    assert found.launching[0].conditions[1] == ("Initialized", "Unknown", "NotInitialized")


def test_initialized_claims_are_not_launching() -> None:
    claim = launching_claim("done", "gpu", 1, node="a")
    claim["status"]["conditions"][1]["status"] = "True"
    found = inventory(state(gpu_node("a", "g5.xlarge", 1), claim), PRICES)
    assert found.launching == ()
    assert found.pools[0].limits_used == {}  # no limits on a pool with no NodePool object


def test_gpu_count_label_counts_shared_units() -> None:
    node = make_node(
        "ts", nodepool="gpu", instance_type="x9.weird", gpus=0, labels={LABEL_GPU_COUNT: "2"}
    )
    node["status"]["capacity"] = node["status"]["allocatable"] = {RESOURCE_NVIDIA_GPU_SHARED: "8"}
    pod = make_pod("p", node="ts", limits={RESOURCE_NVIDIA_GPU_SHARED: "2"})
    found = inventory(state(node, pod), PRICES)
    assert (found.totals.gpus_capacity, found.totals.gpus_requested) == (2, 0.5)
    assert found.notes == ()


def test_unknown_gpu_count_is_noted() -> None:
    node = make_node("ts", nodepool="gpu", instance_type="x9.weird", gpus=0)
    node["status"]["capacity"] = node["status"]["allocatable"] = {MIG_1G: "7"}
    found = inventory(state(node), PRICES)
    assert found.totals.gpus_capacity == 7
    assert found.notes and "GPU count unknown" in found.notes[0]
