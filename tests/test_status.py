"""``eks-gpu status --from FILE``: the tables, the exact ``-o json`` shape, the selector, the
prices (bundled on-demand, a refreshed cache's spot by zone) and the benchmark generator."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from builders import make_node, make_nodepool, make_pod
from conftest import CliResult
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.loaders.price_cache import save_price_book
from eks_gpu.names import (
    LABEL_CAPACITY_TYPE,
    LABEL_NODEPOOL,
    LABEL_REGION,
    LABEL_ZONE,
    RESOURCE_NVIDIA_GPU,
)
from environment import empty_workdir

RunCli = Callable[..., CliResult]
Obj = dict[str, Any]
GPU = RESOURCE_NVIDIA_GPU
ROOT = Path(__file__).resolve().parents[1]
NODE_KEYS = [
    "name",
    "nodepool",
    "instance_type",
    "capacity_type",
    "zone",
    "gpu_name",
    "gpus_capacity",
    "gpus_allocatable",
    "gpus_requested",
    "price_per_hour",
]
TOTAL_KEYS = [
    "gpus_capacity",
    "gpus_allocatable",
    "gpus_requested",
    "gpus_idle",
    "idle_cost_per_hour",
    "cost_per_hour",
]


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return empty_workdir(tmp_path, monkeypatch)


def labelled(node: Obj, zone: str, capacity: str = "on-demand") -> Obj:
    node["metadata"]["labels"].update(
        {LABEL_ZONE: zone, LABEL_REGION: "us-east-1", LABEL_CAPACITY_TYPE: capacity}
    )
    node["metadata"]["creationTimestamp"] = "2026-11-30T12:00:00Z"
    return node


def cluster(tmp_path: Path) -> Path:
    """Two GPU nodes (one spot, one with an unhealthy GPU), a CPU node, GPU pods, a pending
    one, a NodePool with limits; as a ``kubectl get -o yaml`` List."""
    big = labelled(make_node("big", instance_type="g5.12xlarge", gpus=4), "us-east-1a")
    big["status"]["allocatable"] = {**big["status"]["allocatable"], GPU: "3"}
    spot = labelled(make_node("spot", instance_type="g5.xlarge", gpus=1), "us-east-1b", "spot")
    cpu = labelled(make_node("cpu", nodepool="default", instance_type="m5.large", gpus=0), "a")
    items = [
        big,
        spot,
        cpu,
        make_pod("train-1", node="big", gpus=2),
        make_pod("train-2", node="spot", gpus=1),
        make_pod("web", node="cpu"),
        make_pod("waiting", namespace="ml", gpus=1),
        make_nodepool("gpu", limits={GPU: 8}),
    ]
    header = {
        "apiVersion": "eks-gpu.io/v1",
        "kind": "ClusterDump",
        "metadata": {"name": "d"},
        "capturedAt": "2026-12-01T12:00:00Z",
        "readKinds": ["Node", "Pod", "NodePool"],
        "missing": {"NodeMetrics": "the metrics API is not installed"},
    }
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [header, *items]}))
    return path


def test_json_has_exactly_the_issue_keys(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("status", "--from", str(cluster(tmp_path)), "-o", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert list(doc) == [
        "apiVersion",
        "kind",
        "nodes",
        "nodepools",
        "totals",
        "launching",
        "pending",
    ]
    assert all(list(node) == NODE_KEYS for node in doc["nodes"])
    assert list(doc["totals"]) == TOTAL_KEYS
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert sorted(nodes) == ["big", "spot"]
    assert nodes["big"] | {"price_per_hour": None} == {
        "name": "big",
        "nodepool": "gpu",
        "instance_type": "g5.12xlarge",
        "capacity_type": "on-demand",
        "zone": "us-east-1a",
        "gpu_name": "a10g",
        "gpus_capacity": 4,
        "gpus_allocatable": 3,
        "gpus_requested": 2,
        "price_per_hour": None,
    }
    assert nodes["big"]["price_per_hour"] > 0  # bundled on-demand
    assert nodes["spot"]["price_per_hour"] is None  # no spot prices without a refresh
    big_price = nodes["big"]["price_per_hour"]
    assert doc["totals"] == {
        "gpus_capacity": 5,
        "gpus_allocatable": 4,
        "gpus_requested": 3,
        "gpus_idle": 1,
        "idle_cost_per_hour": round(big_price / 4, 4),
        "cost_per_hour": big_price,
    }
    assert doc["nodepools"][0]["limits"] == {GPU: "8"}
    assert doc["nodepools"][0]["limits_used"] == {GPU: "5"}
    assert [(p["namespace"], p["name"], p["gpus"]) for p in doc["pending"]] == [
        ("ml", "waiting", {GPU: 1})
    ]
    assert "1 of 2 GPU nodes have no known price" in result.err
    assert "CPU/memory use unavailable: the metrics API is not installed" in result.err


def test_refreshed_spot_prices_by_zone(run_cli: RunCli, tmp_path: Path) -> None:
    save_price_book(
        PriceBook(
            "us-east-1",
            "aws",
            "2026-12-01",
            on_demand={"g5.12xlarge": 5.0},
            spot={"g5.xlarge": {"us-east-1a": 0.3, "us-east-1b": 0.45}},
        )
    )
    doc = json.loads(run_cli("status", "--from", str(cluster(tmp_path)), "-o", "json").out)
    assert [n["price_per_hour"] for n in doc["nodes"]] == [5.0, 0.45]
    assert doc["totals"]["cost_per_hour"] == 5.45
    assert doc["totals"]["idle_cost_per_hour"] == 1.25  # 1 of big's 4 GPUs idle


def test_table_and_wide(run_cli: RunCli, tmp_path: Path) -> None:
    path = str(cluster(tmp_path))
    table = run_cli("status", "--from", path).out
    assert table.splitlines()[0].split() == [
        "NODE",
        "NODEPOOL",
        "TYPE",
        "CAPACITY",
        "ZONE",
        "GPU",
        "GPUS",
        "ALLOC",
        "REQ",
        "IDLE",
        "GPU",
        "PODS",
        "$/H",
    ]
    assert "unknown" in table  # the spot node's price
    assert "total: 5 GPUs on 2 nodes: 4 allocatable, 3 requested, 1 idle, 1 unhealthy" in table
    assert "nvidia.com/gpu 5/8" in table  # the NodePool's limit use
    assert "Pending GPU pods:" in table and "waiting" in table
    wide = run_cli("status", "--from", path, "-o", "wide").out
    assert "nvidia.com/gpu=true:NoSchedule" in wide  # taints
    assert "unavailable" in wide  # CPU use without metrics, never 0
    assert "nvidia.com/gpu=2/3/4" in wide  # requested/allocatable/capacity
    assert " 24h " in wide  # age from the dump's capture time, as kubectl prints it


def test_selector(run_cli: RunCli, tmp_path: Path) -> None:
    path = str(cluster(tmp_path))
    result = run_cli("status", "--from", path, "-o", "json", "-l", f"{LABEL_CAPACITY_TYPE}=spot")
    doc = json.loads(result.out)
    assert [n["name"] for n in doc["nodes"]] == ["spot"]
    assert doc["totals"]["gpus_capacity"] == 1
    bad = run_cli("status", "--from", path, "--selector", "a in (b")
    assert bad.code == 2 and "unbalanced parentheses" in bad.err and "Traceback" not in bad.err


def test_watch_needs_a_live_cluster(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("status", "--from", str(cluster(tmp_path)), "--watch")
    assert result.code == 2 and "--watch follows a live cluster" in result.err


def test_from_and_context_exclude_each_other(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("status", "--from", str(cluster(tmp_path)), "--context", "x")
    assert result.code == 2 and "pass one or the other" in result.err


def test_no_gpu_nodes(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(
        yaml.safe_dump(make_node("cpu", nodepool=None, gpus=0, instance_type="m5.large"))
    )
    result = run_cli("status", "--from", str(path))
    assert result.code == 0 and result.out.startswith("no GPU nodes")


def test_generated_dump_status_matches_an_independent_count(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """benchmarks/gen_dump.py at a tiny size; the totals recounted here from the raw JSON."""
    dump = tmp_path / "dump.json"
    script = ROOT / "benchmarks" / "gen_dump.py"
    subprocess.run(
        [sys.executable, str(script), "--nodes", "40", "--pods", "600", "-o", str(dump)],
        check=True,
        capture_output=True,
    )
    items = json.loads(dump.read_text())["items"]
    nodes = [i for i in items if i["kind"] == "Node" and GPU in i["status"]["capacity"]]
    names = {n["metadata"]["name"] for n in nodes}
    requested = sum(
        int(c.get("resources", {}).get("limits", {}).get(GPU, 0))
        for i in items
        if i["kind"] == "Pod" and i["spec"].get("nodeName") in names
        for c in i["spec"]["containers"]
    )
    result = run_cli("status", "--from", str(dump), "-o", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert len(doc["nodes"]) == len(nodes) == 8
    assert doc["totals"]["gpus_capacity"] == sum(int(n["status"]["capacity"][GPU]) for n in nodes)
    assert doc["totals"]["gpus_allocatable"] == sum(
        int(n["status"]["allocatable"][GPU]) for n in nodes
    )
    assert doc["totals"]["gpus_requested"] == requested > 0
    assert {n["metadata"]["labels"][LABEL_NODEPOOL] for n in nodes} == {"gpu"}
    assert len(doc["launching"]) == 1 and len(doc["pending"]) == 1


# --- the watch plumbing, without a server ---------------------------------------------------


def test_store_follows_events_and_relists() -> None:
    from eks_gpu.cluster.watch import Store
    from eks_gpu.manifests.cluster_state import state_from_objects

    a, b = make_node("a"), make_node("b")
    store = Store(state_from_objects([a, make_pod("p", node="a")]))
    assert store.apply("Node", "ADDED", b) is None
    changed = make_node("a", gpus=4)
    assert store.apply("Node", "MODIFIED", changed) is a
    assert store.apply("Node", "DELETED", b) is b
    assert [n["status"]["capacity"][GPU] for n in store.state().of("Node")] == ["4"]
    store.replace("Pod", [])
    assert store.state().of("Pod") == ()


def test_apply_updates_the_ledger_and_says_when_it_relisted() -> None:
    from eks_gpu.cluster.watch import Change, Store
    from eks_gpu.commands.status import _apply
    from eks_gpu.errors import ClusterAccessError
    from eks_gpu.inventory.pods import PodLedger
    from eks_gpu.manifests.cluster_state import state_from_objects

    first = make_pod("p", node="a", gpus=1)
    store = Store(state_from_objects([make_node("a", gpus=4), first]))
    ledger = PodLedger.of([first])
    grown = make_pod("p", node="a", gpus=3)
    ledger, notes = _apply([Change("Pod", "MODIFIED", grown)], store, ledger)
    assert (ledger.by_node["a"].requested, notes) == ({GPU: 3}, [])
    relisted = Change("Pod", "RELISTED", {"items": [make_pod("q", node="a", gpus=2)]})
    ledger, notes = _apply([relisted], store, ledger)
    assert ledger.by_node["a"].requested == {GPU: 2}
    assert notes == ["watch of Pod expired (410 Gone): re-listed Pod"]
    ledger, _ = _apply([Change("Pod", "DELETED", make_pod("q", node="a"))], store, ledger)
    assert "a" not in ledger.by_node
    failed = Change("Node", "ERROR", error=ClusterAccessError("watch forbidden", code=403))
    with pytest.raises(ClusterAccessError):
        _apply([failed], store, ledger)


def test_one_gpu_is_singular(run_cli: RunCli) -> None:
    healthy = ROOT / "tests" / "data" / "doctor" / "healthy.yaml"
    result = run_cli("status", "--from", str(healthy))
    assert result.code == 0, result.err
    assert "total: 1 GPU on 1 node: 1 allocatable" in result.out
