"""`eks-gpu status` against the real local API server: exact numbers on a cluster built here,
one LIST per kind (from the audit log), the fault proxy at 20% 429/500, and `--watch`
following a node that joins and one that leaves, without re-listing.

The cluster: kwok nodes with the capacity set here (a g5.12xlarge with one unhealthy GPU, a
spot g5.xlarge, a g6.2xlarge with an extra NoExecute taint, a CPU node), GPU pods bound to
them, a pending GPU pod nothing can place, a NodePool with a GPU limit and a NodeClaim still
launching. Every object carries this run's label, and status selects it with ``--selector``,
so other tests' nodes on the same plane do not change the numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builders import make_nodepool, make_pod
from eks_gpu.catalog.instance_types import on_demand_prices
from eks_gpu.commands.cluster_source import ClusterSource
from eks_gpu.commands.status import StatusResult, watch_status

from .audit import Mark, calls_since, lists_per_resource, mark
from .faultproxy import FaultProxy, Rates, _Handler, _status
from .kube import Kube, Obj, condition
from .plane import Plane, write_kubeconfig

pytestmark = pytest.mark.controlplane

RunCli = Any
GPU = "nvidia.com/gpu"
RUN = uuid.uuid4().hex[:6]
RUN_LABEL = "eks-gpu.test/status"
SELECTOR = f"{RUN_LABEL}={RUN}"
POOL = f"status-{RUN}"
LISTED = {
    "nodes",
    "pods",
    "nodepools.karpenter.sh",
    "nodeclaims.karpenter.sh",
    "nodes.metrics.k8s.io",
}
NOW = "2026-12-01T12:00:00Z"


def node(
    name: str,
    itype: str,
    gpus: int,
    *,
    allocatable: int | None = None,
    capacity_type: str = "on-demand",
    zone: str = "us-east-1a",
    taints: list[Obj] | None = None,
) -> Obj:
    capacity = {"cpu": "8", "memory": "32Gi", "pods": "110"}
    if gpus:
        capacity[GPU] = str(gpus)
    alloc = {**capacity, GPU: str(allocatable)} if allocatable is not None else dict(capacity)
    labels = {
        "kubernetes.io/hostname": name,
        "node.kubernetes.io/instance-type": itype,
        "topology.kubernetes.io/region": "us-east-1",
        "topology.kubernetes.io/zone": zone,
        "karpenter.sh/nodepool": POOL,
        "karpenter.sh/capacity-type": capacity_type,
        RUN_LABEL: RUN,
    }
    default_taints = [{"key": GPU, "value": "true", "effect": "NoSchedule"}] if gpus else []
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {"kwok.x-k8s.io/node": "fake"}},
        "spec": {"taints": default_taints + (taints or [])},
        "status": {"capacity": capacity, "allocatable": alloc},
    }


def node_claim() -> Obj:
    def cond(kind: str, status: str, reason: str) -> Obj:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": reason,
            "lastTransitionTime": NOW,
        }

    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodeClaim",
        "metadata": {
            "name": f"{POOL}-abcde",
            "labels": {"karpenter.sh/nodepool": POOL, RUN_LABEL: RUN},
        },
        "spec": {
            "nodeClassRef": {
                "group": "karpenter.k8s.aws",
                "kind": "EC2NodeClass",
                "name": "default",
            },
            "requirements": [
                {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]}
            ],
            "resources": {"requests": {GPU: "1", "cpu": "1"}},
        },
        "status_": {
            "capacity": {"cpu": "4", "memory": "16Gi", GPU: "1"},
            "conditions": [
                cond("Launched", "True", "Launched"),
                cond("Registered", "Unknown", "AwaitingRegistration"),
                cond("Initialized", "Unknown", "AwaitingInitialization"),
            ],
        },
    }


def pod(name: str, gpus: int, node_name: str | None) -> Obj:
    out = make_pod(f"{name}-{RUN}", namespace="default", gpus=gpus, cpu="100m", memory="64Mi")
    if node_name:
        out["spec"]["nodeName"] = node_name
    else:  # nothing matches: stays Pending (and unbound) whatever else runs on the plane
        out["spec"]["nodeSelector"] = {RUN_LABEL: "nowhere"}
    return out


def ready(kube: Kube, name: str) -> None:
    kube.wait_for(f"/api/v1/nodes/{name}", lambda n: condition(n, "Ready").get("status") == "True")


@pytest.fixture(scope="module")
def cluster(kube: Kube, plane: Plane) -> Iterator[dict[str, Obj]]:
    if "kwok" not in plane.pids:
        pytest.skip("kwok is not part of this control plane")
    nodes = {
        "big": node(f"big-{RUN}", "g5.12xlarge", 4, allocatable=3),
        "spot": node(f"spot-{RUN}", "g5.xlarge", 1, capacity_type="spot", zone="us-east-1b"),
        "tainted": node(
            f"tainted-{RUN}",
            "g6.2xlarge",
            1,
            taints=[{"key": "maintenance", "value": "true", "effect": "NoExecute"}],
        ),
        "cpu": node(f"cpu-{RUN}", "m5.large", 0),
    }
    pool = make_nodepool(POOL, limits={GPU: "16"})
    claim = node_claim()
    status = claim.pop("status_")
    pods = [
        pod("train-a", 1, nodes["big"]["metadata"]["name"]),
        pod("train-b", 1, nodes["big"]["metadata"]["name"]),
        pod("infer", 1, nodes["spot"]["metadata"]["name"]),
        make_pod(f"web-{RUN}", node=nodes["cpu"]["metadata"]["name"], cpu="100m", memory="64Mi"),
        pod("waiting", 2, None),
    ]
    created: list[Obj] = []
    try:
        for obj in [*nodes.values(), pool, claim, *pods]:
            kube.create(obj)
            created.append(obj)
        path = kube.object_path(claim) + "/status"
        live = kube.get(kube.object_path(claim))
        kube.request("PUT", path, {**live, "status": status})
        for obj in nodes.values():
            ready(kube, obj["metadata"]["name"])
        yield nodes
    finally:
        for obj in reversed(created):
            kube.delete(obj)


def run_status(run_cli: RunCli, kubeconfig: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli("status", "--kubeconfig", str(kubeconfig), "-o", "json", *args)
    assert "Traceback" not in result.err
    return result.code, (json.loads(result.out) if result.out.strip() else {}), result.err


def expected(nodes: dict[str, Obj]) -> dict[str, Any]:
    prices = on_demand_prices()
    big, g6 = prices["g5.12xlarge"], prices["g6.2xlarge"]
    return {
        "nodes": [
            [
                nodes["big"]["metadata"]["name"],
                POOL,
                "g5.12xlarge",
                "on-demand",
                "us-east-1a",
                "a10g",
                4,
                3,
                2,
                round(big, 4),
            ],
            [
                nodes["spot"]["metadata"]["name"],
                POOL,
                "g5.xlarge",
                "spot",
                "us-east-1b",
                "a10g",
                1,
                1,
                1,
                None,
            ],  # no spot prices without a refresh
            [
                nodes["tainted"]["metadata"]["name"],
                POOL,
                "g6.2xlarge",
                "on-demand",
                "us-east-1a",
                "l4",
                1,
                1,
                0,
                round(g6, 4),
            ],
        ],
        "totals": {
            "gpus_capacity": 6,
            "gpus_allocatable": 5,
            "gpus_requested": 3,
            "gpus_idle": 2,  # big: 3 allocatable - 2 requested; tainted: 1; never the lost one
            "idle_cost_per_hour": round(big * 1 / 4 + g6, 4),
            "cost_per_hour": round(big + g6, 4),
        },
    }


def test_status_numbers(run_cli: RunCli, kubeconfig: Path, cluster: dict[str, Obj]) -> None:
    code, doc, err = run_status(run_cli, kubeconfig, "--selector", SELECTOR)
    assert code == 0, err
    want = expected(cluster)
    assert [list(n.values()) for n in doc["nodes"]] == want["nodes"]
    assert doc["totals"] == want["totals"]
    (pool,) = doc["nodepools"]
    assert (pool["name"], pool["nodes"], pool["gpus_capacity"]) == (POOL, 3, 6)
    # Karpenter counts capacity (4+1+1, the unhealthy GPU too) plus the launching claim's 1.
    assert (pool["limits"], pool["limits_used"]) == ({GPU: "16"}, {GPU: "7"})
    (claim,) = doc["launching"]
    assert claim["name"] == f"{POOL}-abcde" and claim["gpus"] == {GPU: 1}
    assert [(c["type"], c["status"]) for c in claim["conditions"]] == [
        ("Launched", "True"),
        ("Registered", "Unknown"),
        ("Initialized", "Unknown"),
    ]
    waiting = [p for p in doc["pending"] if p["name"] == f"waiting-{RUN}"]
    assert [p["gpus"] for p in waiting] == [{GPU: 2}]
    assert "CPU/memory use unavailable: the metrics API" in err  # no metrics-server here


def test_wide_table_shows_taints_and_unavailable_use(
    run_cli: RunCli, kubeconfig: Path, cluster: dict[str, Obj]
) -> None:
    result = run_cli("status", "--kubeconfig", str(kubeconfig), "-l", SELECTOR, "-o", "wide")
    assert result.code == 0, result.err
    line = next(x for x in result.out.splitlines() if x.startswith(f"tainted-{RUN}"))
    assert "maintenance=true:NoExecute" in line and "unavailable" in line
    big = next(x for x in result.out.splitlines() if x.startswith(f"big-{RUN}"))
    assert "nvidia.com/gpu=2/3/4" in big


def test_one_list_per_kind(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, cluster: dict[str, Obj]
) -> None:
    start = mark(plane.audit_log)
    code, _, err = run_status(run_cli, kubeconfig)
    assert code == 0, err
    calls = calls_since(start)
    lists = lists_per_resource(calls)
    assert set(lists) <= LISTED and {"nodes", "pods"} <= set(lists), lists
    assert max(lists.values()) == 1, lists
    assert {c.verb for c in calls} == {"list"}  # no per-node or per-pod GET


@pytest.fixture
def via_proxy(plane: Plane, tmp_path: Path) -> Iterator[tuple[Path, FaultProxy]]:
    rates = Rates(too_many_requests=0.1, server_error=0.1, retry_after=0, seed=11)
    with FaultProxy(plane.server, plane.dir / "certs", rates) as proxy:
        config = tmp_path / "proxy.kubeconfig"
        write_kubeconfig(plane, config, ["admin"], server=proxy.url)
        yield config, proxy


def test_status_through_20_percent_faults(
    run_cli: RunCli, kubeconfig: Path, via_proxy: tuple[Path, FaultProxy], cluster: dict[str, Obj]
) -> None:
    config, proxy = via_proxy
    for _ in range(3):  # enough requests that faults certainly happen (seeded)
        code, doc, err = run_status(run_cli, config, "--selector", SELECTOR)
        assert code == 0, err
        assert doc["totals"] == expected(cluster)["totals"]
    assert proxy.outcomes["429"] + proxy.outcomes["500"] > 0, proxy.outcomes


def watches_started(start: Mark) -> set[str]:
    """The resources eks-gpu opened a watch on since ``start``: a watch still open has only
    its ``ResponseStarted`` audit event (``calls_since`` counts completed requests)."""
    with start.path.open("rb") as log:
        log.seek(start.offset)
        lines = log.read().decode("utf-8", "replace").splitlines()
    found = set()
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        agent = str(event.get("userAgent") or "")
        started = event.get("stage") == "ResponseStarted" and event.get("verb") == "watch"
        if started and agent.startswith("eks-gpu"):
            ref = event.get("objectRef") or {}
            group = ref.get("apiGroup")
            found.add(f"{ref['resource']}.{group}" if group else ref["resource"])
    return found


class Done(Exception):
    """Raised from the watch callback to end ``watch_status`` once the test has seen enough."""


def test_watch_follows_a_node_that_joins_and_leaves(
    kube: Kube, kubeconfig: Path, plane: Plane, cluster: dict[str, Obj]
) -> None:
    seen: list[StatusResult] = []
    changed = threading.Condition()
    finished = threading.Event()
    errors: list[BaseException] = []

    def show(result: StatusResult, notes: list[str]) -> None:
        with changed:
            seen.append(result)
            changed.notify_all()
        if finished.is_set():
            raise Done

    def follow() -> None:
        try:
            watch_status(ClusterSource(kubeconfig=str(kubeconfig)), show, SELECTOR, timeout_s=60)
        except Done:
            pass
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    def wait_until(check: Any) -> StatusResult:
        deadline = time.monotonic() + 30
        with changed:
            while not (seen and check(seen[-1])):
                assert not errors, errors
                assert time.monotonic() < deadline, [n.name for n in seen[-1].inventory.nodes]
                changed.wait(0.5)
            return seen[-1]

    def names(result: StatusResult) -> set[str]:
        return {n.name for n in result.inventory.nodes}

    start = mark(plane.audit_log)
    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    first = wait_until(lambda r: True)
    assert first.inventory.totals.gpus_capacity == 6
    joining = node(f"new-{RUN}", "p4d.24xlarge", 8)
    kube.create(joining)
    try:
        joined = wait_until(lambda r: joining["metadata"]["name"] in names(r))
        assert joined.inventory.totals.gpus_capacity == 14
        kube.create(pod("late", 2, joining["metadata"]["name"]))
        wait_until(lambda r: r.inventory.totals.gpus_requested == 5)
    finally:
        kube.delete(pod("late", 2, joining["metadata"]["name"]))
        kube.delete(joining)
    left = wait_until(lambda r: joining["metadata"]["name"] not in names(r))
    assert left.inventory.totals.gpus_capacity == 6
    finished.set()
    kube.create(late := pod("nudge", 0, cluster["cpu"]["metadata"]["name"]))  # one more event
    thread.join(30)
    kube.delete(late)
    assert not thread.is_alive() and not errors, errors
    assert watches_started(start) == {"nodes", "pods", "nodeclaims.karpenter.sh"}
    assert max(lists_per_resource(calls_since(start)).values()) == 1  # never re-listed


def test_cli_watch_on_a_pipe_prints_a_table_per_change(
    kube: Kube, kubeconfig: Path, cluster: dict[str, Obj]
) -> None:
    argv = [
        sys.executable,
        "-m",
        "eks_gpu",
        "status",
        "--watch",
        "--watch-timeout",
        "30",
        "--kubeconfig",
        str(kubeconfig),
        "-l",
        SELECTOR,
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    joining = node(f"pipe-{RUN}", "g5.xlarge", 1)
    try:
        assert proc.stdout is not None
        text = proc.stdout.readline()  # the first table has started
        assert text.startswith("--- "), text
        kube.create(joining)
        while not (
            f"pipe-{RUN}" in text.split("--- ")[-1] and "\ntotal: " in text.split("--- ")[-1]
        ):
            line = proc.stdout.readline()  # ends with the watch timeout at the latest
            assert line, (text, proc.stderr.read() if proc.stderr else "")
            text += line
    finally:
        proc.terminate()
        proc.wait(10)
        kube.delete(joining)
    tables = text.split("--- ")[1:]
    assert len(tables) >= 2 and "\x1b[" not in text  # a table per update, no screen clearing
    assert f"pipe-{RUN}" not in tables[0] and f"pipe-{RUN}" in tables[-1]
    assert "total: 6 GPUs on 3 nodes" in tables[0]
    assert "total: 7 GPUs on 4 nodes" in tables[-1]


def test_cli_watch_timeout_ends_it(
    run_cli: RunCli, kubeconfig: Path, cluster: dict[str, Obj]
) -> None:
    args = ("--watch", "--watch-timeout", "1", "--kubeconfig", str(kubeconfig), "-l", SELECTOR)
    result = run_cli("status", *args)
    assert result.code == 0, result.err
    assert result.out.startswith("--- ") and "total: 6 GPUs on 3 nodes" in result.out
    assert "on-demand prices: bundled" in result.err  # the price source, once


class _GoneOnce(_Handler):
    """The proxy's handler, answering the first pod watch with the ``ERROR`` event an API
    server sends when the resourceVersion is too old (410 Gone, ``Expired``)."""

    gone_sent = False

    def _handle(self) -> None:
        if "watch=1" not in self.path or not self.path.startswith("/api/v1/pods"):
            super()._handle()
            return
        with self.server.state.lock:
            first = not _GoneOnce.gone_sent
            _GoneOnce.gone_sent = True
        if not first:
            super()._handle()
            return
        status = json.loads(_status(410, "Expired", "too old resource version: 1 (2)"))
        line = json.dumps({"type": "ERROR", "object": status}).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(line)))
        self.end_headers()
        self.wfile.write(line)


def test_watch_relists_one_kind_after_410_gone(
    plane: Plane, tmp_path: Path, cluster: dict[str, Obj]
) -> None:
    updates: list[tuple[StatusResult, list[str]]] = []

    def show(result: StatusResult, notes: list[str]) -> None:
        updates.append((result, notes))
        if notes:
            raise Done

    with FaultProxy(plane.server, plane.dir / "certs") as proxy:
        proxy._server.RequestHandlerClass = _GoneOnce
        config = tmp_path / "proxy.kubeconfig"
        write_kubeconfig(plane, config, ["admin"], server=proxy.url)
        start = mark(plane.audit_log)
        with pytest.raises(Done):
            watch_status(ClusterSource(kubeconfig=str(config)), show, SELECTOR, timeout_s=30)
    result, notes = updates[-1]
    assert notes == ["watch of Pod expired (410 Gone): re-listed Pod"]
    assert result.inventory.totals.gpus_requested == 3  # the same numbers after the re-list
    lists = lists_per_resource(calls_since(start))
    assert lists["pods"] == 2 and lists["nodes"] == 1, lists  # only the expired kind


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_status_from_a_dump_equals_live(
    run_cli: RunCli, kubeconfig: Path, tmp_path: Path, cluster: dict[str, Obj], suffix: str
) -> None:
    """``eks-gpu dump`` then ``status --from`` gives the live numbers (ages aside)."""
    dump = tmp_path / f"dump.{suffix}"
    made = run_cli("dump", "--kubeconfig", str(kubeconfig), "--no-logs", "-q", "-o", str(dump))
    assert made.code == 0, made.err
    code, live, err = run_status(run_cli, kubeconfig, "--selector", SELECTOR)
    assert code == 0, err
    result = run_cli("status", "--from", str(dump), "-o", "json", "--selector", SELECTOR)
    assert result.code == 0, result.err
    assert json.loads(result.out) == live


def test_restricted_user_gets_the_rbac_rule(run_cli: RunCli, kubeconfig: Path) -> None:
    code, doc, err = run_status(run_cli, kubeconfig, "--context", "restricted")
    assert (code, doc) == (3, {})
    assert "your user needs list on nodes" in err
    assert 'hint: ask a cluster admin for a (Cluster)Role with the rule {apiGroups: [""], ' in err
