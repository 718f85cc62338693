"""``eks-gpu simulate`` and ``eks-gpu plan`` end to end, in-process.

Every test runs in an empty working directory, with ``$EKS_GPU_CONFIG`` unset and an empty
cache folder, so the guide's defaults and the bundled prices decide every answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from builders import make_pod, make_spec, make_workload
from conftest import CliResult
from eks_gpu.config.parse import config_from_data
from eks_gpu.render.bundle import render_all
from environment import empty_workdir

RunCli = Callable[..., CliResult]
Obj = dict[str, Any]
GPU = "nvidia.com/gpu"
GPU_TOLERATION = {"key": GPU, "operator": "Exists", "effect": "NoSchedule"}
GUIDE_TAINT = {"key": GPU, "value": "true", "effect": "NoSchedule"}
TEST_PODS = (
    "eks-gpu-tests/gpu-simple-test",
    "eks-gpu-tests/gpu-pytorch-test",
    "eks-gpu-tests/gpu-storage-test",
)
ENVELOPE_KEYS = {"apiVersion", "kind"}
CONTRACT_KEYS = {"nodeclaims", "unschedulable", "existing", "cost_per_hour", "assumptions"}
PLAN_KEYS = {"objects", "validation", "simulation", "isolation", "ok"}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, no ``$EKS_GPU_CONFIG``, an empty cache."""
    workdir = empty_workdir(tmp_path, monkeypatch)
    return workdir


# --- files ---------------------------------------------------------------------------------


def gpu_pod(name: str = "trainer", gpus: int = 1, tolerate: bool = True) -> Obj:
    return make_pod(name, gpus=gpus, tolerations=None if tolerate else [])


def deployment(name: str, replicas: int) -> Obj:
    return make_workload("Deployment", name, pod=make_spec(gpus=1), replicas=replicas)


def write(path: Path, *objects: Obj) -> str:
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    return str(path)


def pool_manifests(path: Path, config: Obj | None = None, taints: list[Obj] | None = None) -> str:
    """The rendered EC2NodeClass and NodePool of ``config``, taints replaced if given."""
    objects = [item.obj for item in render_all(config_from_data(config or {}), "demo")
               if item.obj["kind"] in ("EC2NodeClass", "NodePool")]  # fmt: skip
    if taints is not None:
        for obj in objects:
            if obj["kind"] == "NodePool":
                obj["spec"]["template"]["spec"]["taints"] = taints
    return write(path, *objects)


def snapshot_file(path: Path, *extra: Obj) -> str:
    """``kubectl get nodes,pods -A -o yaml`` of a cluster with one free g4dn.xlarge."""
    allocatable = {"cpu": "3920m", "memory": "14481Mi", "pods": "29", GPU: "1"}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "labels": {
            "karpenter.sh/nodepool": "nodepool-gpu", "node-type": "gpu",
            "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "g4dn.xlarge"}},
        "spec": {"taints": [GUIDE_TAINT]},
        "status": {"allocatable": allocatable, "capacity": allocatable},
    }  # fmt: skip
    document = {"apiVersion": "v1", "kind": "List", "items": [node, *extra]}
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


def as_json(result: CliResult) -> Obj:
    document: Obj = json.loads(result.out)
    return document


def claims(document: Obj) -> list[tuple[str, str, str, float | None, list[str]]]:
    return [
        (c["instance_type"], c["capacity_type"], c["zone"], c["price_per_hour"], c["pods"])
        for c in document["nodeclaims"]
    ]


# --- simulate ------------------------------------------------------------------------------


def test_simulate_table_with_the_default_config(run_cli: RunCli, isolated: Path) -> None:
    workload = write(isolated / "pod.yaml", gpu_pod())
    result = run_cli("simulate", "--workload", workload)
    assert result.code == 0, result.err
    header = next(line for line in result.out.splitlines() if line.startswith("NODEPOOL"))
    assert header.split() == ["NODEPOOL", "INSTANCE", "TYPE", "CAPACITY", "ZONE", "$/H", "PODS"]
    row = next(line for line in result.out.splitlines() if line.startswith("nodepool-gpu"))
    assert row.split() == ["nodepool-gpu", "g4dn.xlarge", "spot", "us-east-1a", "-",
                           "default/trainer"]  # fmt: skip
    assert "Unschedulable" not in result.out
    assert "Cost: unknown" in result.out  # spot without a price: never a bare $0.000/h
    assert "Assumptions:" in result.out
    assert "isolation ok" in result.out


def test_simulate_json(run_cli: RunCli, isolated: Path) -> None:
    workload = write(isolated / "app.yaml", deployment("web", 2))
    result = run_cli("simulate", "--workload", workload, "-o", "json")
    assert result.code == 0, result.err
    document = as_json(result)
    assert set(document) == ENVELOPE_KEYS | CONTRACT_KEYS
    assert document["kind"] == "Simulation"
    ((instance_type, capacity, zone, price, pods),) = claims(document)
    assert (capacity, zone, price) == ("spot", "us-east-1a", None)
    assert sorted(pods) == ["default/web-0", "default/web-1"]
    assert instance_type.startswith("g4dn.")
    assert document["unschedulable"] == [] and document["existing"] == []


def test_simulate_with_manifests_instead_of_the_config(run_cli: RunCli, isolated: Path) -> None:
    pools = pool_manifests(
        isolated / "pools.yaml", {"nodePools": [{"capacityTypes": ["on-demand"]}]}
    )
    workload = write(isolated / "pod.yaml", gpu_pod())
    result = run_cli("simulate", "--manifests", pools, "--workload", workload, "-o", "json")
    assert result.code == 0, result.err
    assert claims(as_json(result)) == [
        ("g4dn.xlarge", "on-demand", "us-east-1a", 0.526, ["default/trainer"])
    ]
    assert as_json(result)["cost_per_hour"] == 0.526


def test_simulate_from_snapshot(run_cli: RunCli, isolated: Path) -> None:
    snapshot = snapshot_file(isolated / "state.yaml")
    workload = write(isolated / "pod.yaml", gpu_pod())
    table = run_cli("simulate", "--workload", workload, "--from", snapshot)
    assert table.code == 0, table.err
    assert "existing node node-1: default/trainer" in table.out
    assert "No new NodeClaims." in table.out
    document = as_json(
        run_cli("simulate", "--workload", workload, "--from", snapshot, "-o", "json")
    )
    assert document["existing"] == [{"node": "node-1", "pods": ["default/trainer"]}]
    assert document["nodeclaims"] == []


def test_simulate_places_pending_pods_of_the_snapshot(run_cli: RunCli, isolated: Path) -> None:
    snapshot = snapshot_file(isolated / "state.yaml", gpu_pod("waiting"), gpu_pod("second"))
    result = run_cli("simulate", "--from", snapshot, "-o", "json")
    assert result.code == 0, result.err
    document = as_json(result)
    placed = [p for e in document["existing"] for p in e["pods"]]
    placed += [p for c in document["nodeclaims"] for p in c["pods"]]
    assert sorted(placed) == ["default/second", "default/waiting"]
    assert len(document["existing"]) == 1


@pytest.mark.parametrize(
    ("zones", "zone", "listed"),
    [
        (["--zones", "us-east-1c"], "us-east-1c", "zones: us-east-1c"),
        (["--zones", "us-east-1b,us-east-1c"], "us-east-1b", "zones: us-east-1b, us-east-1c"),
        (["--zones", "us-east-1c", "--zones", "us-east-1b"], "us-east-1b",
         "zones: us-east-1c, us-east-1b"),
        ([], "us-east-1a", "zones: us-east-1a, us-east-1b, us-east-1c (default; pass --zones)"),
    ],
)  # fmt: skip
def test_simulate_zones(
    run_cli: RunCli, isolated: Path, zones: list[str], zone: str, listed: str
) -> None:
    workload = write(isolated / "pod.yaml", gpu_pod())
    result = run_cli("simulate", "--workload", workload, *zones, "-o", "json")
    assert result.code == 0, result.err
    document = as_json(result)
    assert [c["zone"] for c in document["nodeclaims"]] == [zone]
    assert listed in document["assumptions"]


@pytest.mark.parametrize("output", ["table", "json"])
def test_simulate_exits_1_when_a_pod_is_unschedulable(
    run_cli: RunCli, isolated: Path, output: str
) -> None:
    workload = write(isolated / "pods.yaml", gpu_pod("ok"), gpu_pod("plain", tolerate=False))
    result = run_cli("simulate", "--workload", workload, "--no-eks-admission", "-o", output)
    assert result.code == 1, result.err
    assert "taint-not-tolerated" in result.out
    assert "default/plain" in result.out
    if output == "table":
        assert "Unschedulable:" in result.out
    else:
        assert [u["pod"] for u in as_json(result)["unschedulable"]] == ["default/plain"]


def test_simulate_exits_1_when_isolation_is_broken(run_cli: RunCli, isolated: Path) -> None:
    pools = pool_manifests(isolated / "pools.yaml", taints=[])
    workload = write(isolated / "pod.yaml", gpu_pod())
    result = run_cli("simulate", "--manifests", pools, "--workload", workload)
    assert result.code == 1, result.err
    assert "isolation BROKEN" in result.out
    assert "Unschedulable" not in result.out


def test_simulate_config_and_manifests_together_is_a_usage_error(
    run_cli: RunCli, isolated: Path
) -> None:
    config = isolated / "eks-gpu.yaml"
    config.write_text("{}\n", encoding="utf-8")
    pools = pool_manifests(isolated / "pools.yaml")
    workload = write(isolated / "pod.yaml", gpu_pod())
    result = run_cli("simulate", "-c", str(config), "--manifests", pools, "--workload", workload)
    assert result.code == 2
    assert "--manifests" in result.err
    assert "Traceback" not in result.err


# --- plan ----------------------------------------------------------------------------------


def test_plan_with_reference_crds(run_cli: RunCli, reference: Path) -> None:
    result = run_cli("plan", "--cluster-name", "demo", "--crds", str(reference / "karpenter"))
    assert result.code == 0, result.out + result.err
    for obj in ("EC2NodeClass/nodeclass-gpu", "NodePool/nodepool-gpu",
                *(f"Pod/{pod}" for pod in TEST_PODS)):  # fmt: skip
        assert obj in result.out
    assert "Validation: 0 errors" in result.out
    rows = [line for line in result.out.splitlines() if line.startswith("nodepool-gpu ")]
    launched = " ".join(rows)
    assert all(pod in launched for pod in TEST_PODS), rows
    assert "isolation ok" in result.out
    assert result.out.rstrip().endswith("Plan OK")


def test_plan_json(run_cli: RunCli) -> None:
    result = run_cli("plan", "--cluster-name", "demo", "-o", "json")
    assert result.code == 0, result.err
    document = as_json(result)
    assert set(document) == ENVELOPE_KEYS | PLAN_KEYS
    assert document["kind"] == "Plan"
    assert document["ok"] is True
    assert set(document["simulation"]) == ENVELOPE_KEYS | CONTRACT_KEYS
    placed = [p for c in document["simulation"]["nodeclaims"] for p in c["pods"]]
    assert sorted(placed) == sorted(TEST_PODS)
    assert [(i["nodepool"], i["isolated"]) for i in document["isolation"]] == [
        ("nodepool-gpu", True)
    ]
    assert [o["kind"] for o in document["objects"]][:2] == ["EC2NodeClass", "NodePool"]
    assert document["validation"]["errors"] == 0


def test_plan_includes_workload_pods(run_cli: RunCli, isolated: Path) -> None:
    workload = write(isolated / "app.yaml", deployment("web", 2))
    document = as_json(run_cli("plan", "--cluster-name", "demo", "--workload", workload,
                               "-o", "json"))  # fmt: skip
    placed = [p for c in document["simulation"]["nodeclaims"] for p in c["pods"]]
    assert sorted(placed) == sorted([*TEST_PODS, "default/web-0", "default/web-1"])
    table = run_cli("plan", "--cluster-name", "demo", "--workload", workload)
    assert table.code == 0, table.err
    assert "default/web-0" in table.out and "default/web-1" in table.out


def test_plan_fails_when_a_workload_pod_is_unschedulable(run_cli: RunCli, isolated: Path) -> None:
    workload = write(isolated / "pod.yaml", gpu_pod("plain", tolerate=False))
    args = ("plan", "--cluster-name", "demo", "--workload", workload)
    result = run_cli(*args, "--no-eks-admission")
    assert result.code == 1
    assert "taint-not-tolerated" in result.out
    assert "PLAN FAILED" in result.out
    on_eks = run_cli(*args)
    assert on_eks.code == 0, on_eks.out
    assert "Plan OK" in on_eks.out


# --- EKS admission (ExtendedResourceToleration) ---------------------------------------------


def test_simulate_admits_a_gpu_pod_without_a_toleration_by_default(
    run_cli: RunCli, isolated: Path
) -> None:
    """EKS adds {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule} to a GPU pod
    (k8s.io/kubernetes plugin/pkg/admission/extendedresourcetoleration/admission.go), so it
    lands on the guide's tainted pool; the assumptions say so."""
    workload = write(isolated / "pod.yaml", gpu_pod("plain", tolerate=False))
    result = run_cli("simulate", "--workload", workload, "-o", "json")
    assert result.code == 0, result.out
    document = as_json(result)
    assert [pods for *_, pods in claims(document)] == [["default/plain"]]
    notes = [line for line in document["assumptions"] if "ExtendedResourceToleration" in line]
    assert any(line.startswith("EKS admission:") for line in notes)
    assert (
        "EKS admission (ExtendedResourceToleration) adds {key: nvidia.com/gpu, operator: "
        "Exists, effect: NoSchedule} to the pods of Pod/default/plain" in notes
    )

    off = as_json(run_cli("simulate", "--workload", workload, "--no-eks-admission", "-o", "json"))
    assert [u["pod"] for u in off["unschedulable"]] == ["default/plain"]
    assert any(line.startswith("no EKS admission") for line in off["assumptions"])


def test_validate_notes_where_admission_changed_the_verdict(
    run_cli: RunCli, isolated: Path
) -> None:
    """Default: an info finding naming the toleration EKS adds; --no-eks-admission: the
    error (exit 1) a cluster without the plugin deserves."""
    pools = pool_manifests(isolated / "pools.yaml", {})
    workload = write(isolated / "pod.yaml", gpu_pod("plain", tolerate=False))
    result = run_cli("validate", pools, workload, "-o", "json")
    assert result.code == 0, result.out
    (finding,) = [f for f in as_json(result)["findings"] if f["object"] == "Pod/default/plain"]
    assert (finding["rule"], finding["severity"]) == ("workload-selector-unsatisfiable", "info")
    assert "{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}" in finding["message"]
    assert finding["path"] == ".spec.tolerations"

    off = run_cli("validate", pools, workload, "--no-eks-admission", "-o", "json")
    assert off.code == 1
    (error,) = [f for f in as_json(off)["findings"] if f["object"] == "Pod/default/plain"]
    assert (error["rule"], error["severity"]) == ("workload-selector-unsatisfiable", "error")


def test_plan_refuses_an_untainted_pool_config(run_cli: RunCli, isolated: Path) -> None:
    """The config itself rejects an untainted pool (exit 2), before anything is simulated;
    ``simulate --manifests`` is where an untainted pool shows as isolation BROKEN."""
    config = isolated / "eks-gpu.yaml"
    config.write_text("nodePools:\n- taints: []\n", encoding="utf-8")
    result = run_cli("plan", "-c", str(config), "--cluster-name", "demo")
    assert result.code == 2
    assert "nodePools[0].taints" in result.err


def test_plan_flags_a_prefer_no_schedule_pool(run_cli: RunCli, isolated: Path) -> None:
    config = isolated / "eks-gpu.yaml"
    config.write_text(
        "nodePools:\n- taints: [{key: nvidia.com/gpu, value: 'true', effect: PreferNoSchedule}]\n",
        encoding="utf-8",
    )
    result = run_cli("plan", "-c", str(config), "--cluster-name", "demo")
    assert result.code == 1
    assert "isolation BROKEN" in result.out


def test_text_cost_never_hides_unpriced_nodeclaims() -> None:
    """Without spot prices the text says how many NodeClaims have no price instead of
    leading with a bare ``$0.000/h``."""
    from eks_gpu.cli.simulation_text import _cost_line

    claim = {"price_per_hour": None}
    doc = {"nodeclaims": [claim, {"price_per_hour": 1.5}], "cost_per_hour": 1.5}
    assert "1 without a price" in _cost_line(doc)
    assert "Cost: unknown" in _cost_line({"nodeclaims": [claim], "cost_per_hour": 0.0})
    assert _cost_line({"nodeclaims": [{"price_per_hour": 1.5}], "cost_per_hour": 1.5}) == (
        "\nCost: $1.500/h for 1 NodeClaim\n"
    )
