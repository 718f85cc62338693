"""Loading existing cluster state: nodes with their used requests, pending pods to place."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from builders import GPU_TAINT, make_node, make_pod
from eks_gpu.loaders.snapshot_file import load_snapshot, read_snapshot
from eks_gpu.manifests import ManifestError, parse_documents
from eks_gpu.scheduling.snapshot import SnapshotNode, snapshot_from_manifests

D = Decimal
Mi, Gi = 1024**2, 1024**3


def write_list(tmp_path: Path, *items: dict[str, Any]) -> str:
    """A snapshot file the way ``kubectl get nodes,pods -A -o yaml`` writes one."""
    path = tmp_path / "snapshot.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": list(items)}))
    return str(path)


def test_load_snapshot_from_a_kubectl_list(tmp_path: Path) -> None:
    path = write_list(
        tmp_path,
        make_node("node-b", nodepool=None, gpus=0, taints=[]),
        make_node("node-a"),
        make_pod("runs-1", node="node-a", cpu="1", memory="2Gi", gpus=1),
        make_pod("runs-2", node="node-a", cpu="250m", memory="512Mi"),
        make_pod("done", node="node-a", phase="Succeeded", cpu="2"),
        make_pod("crashed", node="node-a", phase="Failed", cpu="2"),
        make_pod("waiting", gpus=1, cpu="500m", memory="1Gi", owner=("ReplicaSet", "llm-7c9")),
        make_pod("also-waiting", namespace="batch"),
        make_pod("never-ran", phase="Failed"),
    )
    nodes, pending = load_snapshot(path)
    assert [n.name for n in nodes] == ["node-a", "node-b"], "sorted by name"
    a, b = nodes
    assert a.nodepool == "gpu"
    assert b.nodepool is None
    assert a.labels["node.kubernetes.io/instance-type"] == "g4dn.xlarge"
    assert a.taints == (GPU_TAINT,)
    assert a.allocatable == {
        "cpu": D("3.92"),
        "memory": D(14162 * Mi),
        "pods": D(29),
        "nvidia.com/gpu": D(1),
    }
    assert a.used == {
        "cpu": D("1.25"),
        "memory": D(2560 * Mi),
        "nvidia.com/gpu": D(1),
        "pods": D(2),
    }
    assert a.pods == ("default/runs-1", "default/runs-2")
    assert a.free == {
        "cpu": D("2.67"),
        "memory": D(11602 * Mi),
        "pods": D(27),
        "nvidia.com/gpu": D(0),
    }
    assert b.used == {}
    assert b.pods == ()
    assert not a.unschedulable
    assert [p.ref for p in pending] == ["default/waiting", "batch/also-waiting"], "file order"
    waiting = pending[0]
    assert waiting.owner == "ReplicaSet/default/llm-7c9"
    assert waiting.gpus == D(1)
    assert waiting.requests == {
        "cpu": D("0.5"),
        "memory": D(Gi),
        "nvidia.com/gpu": D(1),
        "pods": D(1),
    }
    assert pending[1].owner is None


def test_multi_document_yaml_works_too(tmp_path: Path) -> None:
    path = tmp_path / "snap.yaml"
    path.write_text(yaml.safe_dump_all([make_node("n1"), make_pod("p", node="n1"), make_pod("q")]))
    nodes, pending = load_snapshot(str(path))
    assert [n.pods for n in nodes] == [("default/p",)]
    assert [p.ref for p in pending] == ["default/q"]


def test_unschedulable_nodes_are_kept_and_marked(tmp_path: Path) -> None:
    nodes, _ = load_snapshot(
        write_list(tmp_path, make_node("cordoned", unschedulable=True), make_node("ok"))
    )
    assert [(n.name, n.unschedulable) for n in nodes] == [("cordoned", True), ("ok", False)]


def test_capacity_stands_in_for_missing_allocatable(tmp_path: Path) -> None:
    node = make_node("n", status={"capacity": {"cpu": "4", "memory": "16Gi", "pods": "29"}})
    nodes, _ = load_snapshot(write_list(tmp_path, node))
    assert nodes[0].allocatable == {"cpu": D(4), "memory": D(16 * Gi), "pods": D(29)}


def test_notes_for_what_is_not_placed(tmp_path: Path) -> None:
    terminating = make_pod("going")
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    snapshot = read_snapshot(
        write_list(
            tmp_path,
            make_node("n"),
            make_pod("ghost", node="gone-node"),
            make_pod("daemon", owner=("DaemonSet", "dcgm")),
            terminating,
            {"kind": "Service", "metadata": {"name": "s"}},
            {"kind": "DaemonSet", "metadata": {"name": "dcgm"}, "spec": {}},
        )
    )
    assert snapshot.pending == ()
    assert [ds["metadata"]["name"] for ds in snapshot.daemonsets] == ["dcgm"]
    assert snapshot.notes == (
        "pod default/daemon: a pending daemon pod (DaemonSet/default/dcgm); not placed",
        "pod default/going: pending but being deleted; not placed",
        "snapshot: ignored 1 Service (only Nodes, Pods and DaemonSets are read)",
        "node gone-node is not in the snapshot; its 1 pod(s) ignored: default/ghost",
    )


def test_pending_pods_keep_unsimulated_constraints() -> None:
    manifests = parse_documents(
        yaml.safe_dump(make_pod("spread", topologySpreadConstraints=[{"maxSkew": 1}])), "s.yaml"
    )
    snapshot = snapshot_from_manifests(manifests)
    assert snapshot.nodes == ()
    assert snapshot.pending[0].not_simulated == ("topologySpreadConstraints",)


def test_snapshot_node_is_hashable() -> None:
    node = SnapshotNode("n", {"a": "b"}, (), {"cpu": D(1)}, {}, None)
    assert len({node, node}) == 1
    assert node.free == {"cpu": D(1)}


BAD_SNAPSHOTS = [
    # (id, items, message)
    ("empty", [], "the snapshot holds no Nodes and no Pods"),
    ("only other kinds", [{"kind": "Service", "metadata": {"name": "s"}}], "no Nodes and no Pods"),
    (
        "node without name",
        [{**make_node(), "metadata": {}}],
        r"Node \(no name\): metadata.name is missing",
    ),
    ("node twice", [make_node("n"), make_node("n")], "Node n: node n appears twice"),
    ("node without status", [make_node("n", status={})], "Node n: status.allocatable is missing"),
    (
        "bad allocatable",
        [make_node("n", memory="lots")],
        "Node n: status.allocatable.memory: 'lots' is not a Kubernetes quantity",
    ),
    (
        "bad taints",
        [{**make_node("n"), "spec": {"taints": "gpu"}}],
        "Node n: spec.taints must be a list",
    ),
    (
        "bad bound pod",
        [make_node("n"), make_pod("p", node="n", cpu="1 core")],
        r"Pod p: spec: containers\[0\]\.resources\.requests\.cpu: '1 core'",
    ),
    ("bad pending pod", [make_pod("p", memory="-1Gi")], "Pod p: spec: .*'-1Gi' is negative"),
    (
        "pod without name",
        [{**make_pod(), "metadata": {"namespace": "x"}}],
        "metadata.name is missing",
    ),
]


@pytest.mark.parametrize(
    ("items", "message"), [c[1:] for c in BAD_SNAPSHOTS], ids=[c[0] for c in BAD_SNAPSHOTS]
)
def test_bad_snapshots_are_clear_errors(
    tmp_path: Path, items: list[dict[str, Any]], message: str
) -> None:
    path = write_list(tmp_path, *items)
    with pytest.raises(ManifestError, match=message) as error:
        load_snapshot(path)
    assert str(error.value).startswith(path) or "no Nodes" in str(error.value)


def test_unreadable_snapshots(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file"):
        load_snapshot(str(tmp_path / "missing.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("items: [\n")
    with pytest.raises(ManifestError, match="not valid YAML"):
        load_snapshot(str(broken))
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ManifestError, match="no Nodes and no Pods") as error:
        load_snapshot(str(empty))
    assert "kubectl get nodes,pods -A -o yaml" in (error.value.hint or "")


def test_limits_count_a_nodes_capacity_not_its_allocatable(tmp_path: Path) -> None:
    """Karpenter v1.14.1 ``scheduler.go`` ``updateRemainingResources`` subtracts
    ``StateNode.Capacity()`` from a NodePool's limits, so a 4-vCPU node uses 4 CPUs of the
    limit although only 3920m are allocatable."""
    from builders import make_nodeclass, make_nodepool
    from eks_gpu.loaders.price_cache import load_price_book
    from eks_gpu.scheduling.simulate import Inputs, build_pools

    status = {
        "allocatable": {"cpu": "3920m", "memory": "14162Mi", "pods": "29", "nvidia.com/gpu": "1"},
        "capacity": {"cpu": "4", "memory": "15896Mi", "pods": "29", "nvidia.com/gpu": "1"},
    }
    nodes, _ = load_snapshot(write_list(tmp_path, make_node("n", status=status)))
    assert nodes[0].capacity["cpu"] == D(4)
    pool = make_nodepool("gpu", limits={"cpu": "100"})
    inputs = Inputs([pool], [make_nodeclass()], [], load_price_book(), nodes=nodes)
    (model,) = build_pools(inputs, [])
    assert model.used["cpu"] == D(4)
    assert model.used["memory"] == D(15896 * 1024 * 1024)
    assert model.used["nodes"] == D(1)
