"""`eks-gpu verify` end to end on the local control plane, nothing faked on our side.

Real components do the work: Karpenter (kwok provider) launches the GPU nodes for the test
pods, kube-scheduler binds them, kube-controller-manager runs the device plugin DaemonSet's
pods and deletes the run's namespace, kwok plays each node's kubelet: it runs the pods, ends
them (the plane's ``eks-gpu-verify-pod-complete`` Stage, as an exiting container would) and
serves their logs from ClusterLogs objects (kwok's log simulation), through the apiserver's
``pods/log`` proxy, as a kubelet serves ``kubectl logs``. What the pods "print" are recorded
outputs of real GPUs (tests/data/verify/SOURCE.md).

The test plays only the parts no component here can: the AWS provider's Ready condition on
the EC2NodeClass (it would resolve subnets, AMIs ...), and the NodePool's nodeClassRef,
pointed at kwok's node class so that Karpenter launches for it.

Scenarios: all pass; the device plugin missing; a pod stuck Pending (doctor's reason shown,
cleanup done); Ctrl-C mid-run (no leftovers); a probe reporting low bandwidth.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.config.parse import config_from_data
from eks_gpu.names import ANNOTATION_VERIFY_EXPIRES, LABEL_VERIFY_RUN
from eks_gpu.render.bundle import render_all
from test_json_output import validator

from .karpenter import on_kwok, remove_nodeclaims
from .kube import Kube, condition
from .kwok_logs import logs_name, remove_logs, serve_logs
from .plane import Plane

pytestmark = pytest.mark.controlplane

Obj = dict[str, Any]
RunCli = Any
SUFFIX = uuid.uuid4().hex[:6]
NAME = f"verify-{SUFFIX}"
POOL_LABEL = "eks-gpu.test/verify"
DATA = Path(__file__).resolve().parents[1] / "data" / "verify"
CONFIG = {
    "apiVersion": "eks-gpu/v1alpha1",
    "kind": "GpuConfig",
    "clusterName": "e2e",
    "nodeClasses": [{"name": NAME}],
    "nodePools": [
        {"name": NAME, "nodeClass": NAME, "instanceFamilies": ["g5"],
         "capacityTypes": ["on-demand"], "limits": {"nvidia.com/gpu": "8"}}
    ],
    "tests": {"namespace": NAME},
}  # fmt: skip
CONTAINERS = {"gpu-simple-test": "nvidia-smi", "gpu-pytorch-test": "pytorch",
              "gpu-storage-test": "gpu-nvme"}  # fmt: skip
RECORDED = {"gpu-simple-test": "simple-a10g.txt", "gpu-pytorch-test": "pytorch-a10g.txt",
            "gpu-storage-test": "storage-g5.txt"}  # fmt: skip
FAST = ("--stall-after", "15s", "--timeout", "3m")


def _rendered() -> list[Obj]:
    config = config_from_data(CONFIG)
    return [item.obj for item in render_all(config, "e2e")]


def _of(kind: str) -> Obj:
    return next(o for o in _rendered() if o["kind"] == kind)


def _ready_status(generation: int) -> Obj:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Ready", "message": "",
             "lastTransitionTime": now, "observedGeneration": generation}
        ]
    }  # fmt: skip


def _nodeclass_ready(kube: Kube) -> None:
    """What the AWS provider writes once it resolved subnets, security groups and AMIs."""
    nodeclass = kube.apply(_of("EC2NodeClass"), "eks-gpu-test")
    path = kube.object_path(nodeclass) + "/status"
    body = {"status": _ready_status(int(nodeclass["metadata"]["generation"]))}
    kube.request("PATCH", path, body, content_type="application/merge-patch+json")


def _pool(limit: str = "8") -> Obj:
    pool = on_kwok(_of("NodePool"), NAME, POOL_LABEL)
    pool["spec"]["limits"] = {"nvidia.com/gpu": limit}
    return pool


def _plugin_daemonsets(kube: Kube) -> list[str]:
    items = kube.get("/apis/apps/v1/daemonsets")["items"]
    return [f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in items
            if "device-plugin" in d["metadata"]["name"]]  # fmt: skip


def _run_namespaces(kube: Kube) -> list[Obj]:
    return kube.get("/api/v1/namespaces", labelSelector=LABEL_VERIFY_RUN)["items"]


def _wait_no_run_namespace(kube: Kube, timeout: float = 90) -> None:
    kube.wait_for("/api/v1/namespaces", lambda found: not found["items"], timeout=timeout,
                  labelSelector=LABEL_VERIFY_RUN)  # fmt: skip


@pytest.fixture(scope="module")
def cluster(
    plane: Plane, kube: Kube, karpenter: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    assert not _plugin_daemonsets(kube), "another test left a device plugin DaemonSet"
    folder = tmp_path_factory.mktemp("verify")
    config = folder / "eks-gpu.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    _nodeclass_ready(kube)
    pool = kube.apply(_pool(), "eks-gpu-test")
    kube.wait_for(kube.object_path(pool), lambda p: condition(p, "Ready").get("status") == "True")
    plugin = _of("DaemonSet")
    kube.apply(plugin, "eks-gpu-test")
    logs = folder / "logs"
    logs.mkdir()
    for pod, file in RECORDED.items():
        serve_logs(kube, logs, pod, CONTAINERS[pod], (DATA / file).read_text())
    yield {"config": config, "plugin": plugin, "logs": logs, "folder": folder}
    for pod, container in CONTAINERS.items():
        remove_logs(kube, logs_name(pod, container))
    kube.delete(plugin)
    remove_nodeclaims(kube, NAME, timeout=90)
    kube.delete(pool)
    kube.delete(_of("EC2NodeClass"))


def _verify(run_cli: RunCli, cluster: dict[str, Any], kubeconfig: Path, *args: str) -> Obj:
    result = run_cli("verify", "-c", str(cluster["config"]), "--kubeconfig", str(kubeconfig),
                     "-o", "json", *args)  # fmt: skip
    assert "Traceback" not in result.err, result.err
    report: Obj = json.loads(result.out)
    report["_code"], report["_err"] = result.code, result.err
    return report


def schema_errors(kind: str, document: Obj) -> list[str]:
    return [e.message for e in validator(kind).iter_errors(document)]


def _steps(report: Obj) -> dict[str, Obj]:
    return {s["step"]: s for s in report["steps"]}


def test_device_plugin_missing_fails_before_any_pod(
    run_cli: RunCli, kube: Kube, kubeconfig: Path, cluster: dict[str, Any]
) -> None:
    kube.delete(cluster["plugin"])
    kube.wait_for("/apis/apps/v1/daemonsets", lambda _d: not _plugin_daemonsets(kube))
    try:
        report = _verify(run_cli, cluster, kubeconfig, *FAST)
    finally:
        kube.apply(cluster["plugin"], "eks-gpu-test")
    steps = _steps(report)
    assert report["_code"] == 1
    assert steps["objects"]["status"] == "passed", steps["objects"]
    assert steps["device-plugin"]["status"] == "failed"
    assert "no NVIDIA device plugin DaemonSet" in steps["device-plugin"]["summary"]
    for step in ("nodes", "simple", "pytorch", "nvme"):
        assert steps[step]["status"] == "not-run", steps[step]
    assert report["namespace"] is None  # nothing was created
    assert not _run_namespaces(kube)


def test_stuck_pod_is_explained_by_doctor_and_cleaned_up(
    run_cli: RunCli, kube: Kube, kubeconfig: Path, cluster: dict[str, Any]
) -> None:
    kube.apply(_pool(limit="0"), "eks-gpu-test")  # Karpenter may launch nothing
    try:
        report = _verify(run_cli, cluster, kubeconfig, "--only", "simple", *FAST)
    finally:
        kube.apply(_pool(), "eks-gpu-test")
    simple = _steps(report)["simple"]
    assert report["_code"] == 1
    assert simple["status"] == "failed"
    assert "Karpenter made no NodeClaim" in simple["summary"], simple
    details = "\n".join(simple["details"])
    assert f"pending-gpu-pod (Pod/{report['namespace']}/gpu-simple-test)" in details, details
    assert "limit" in details, details
    assert report["cleanup"] == f"deleted namespace {report['namespace']}"
    _wait_no_run_namespace(kube)


def test_all_steps_pass_on_recorded_gpu_output(
    run_cli: RunCli, kube: Kube, kubeconfig: Path, cluster: dict[str, Any]
) -> None:
    report = _verify(run_cli, cluster, kubeconfig, *FAST)
    steps = _steps(report)
    assert report["_code"] == 0, json.dumps(report, indent=1)
    document = {k: v for k, v in report.items() if not k.startswith("_")}
    assert not schema_errors("VerifyReport", document)
    assert all(s["status"] == "passed" for s in steps.values()), steps
    assert "A10G" in steps["simple"]["summary"]
    assert steps["pytorch"]["figures"]["copy_gb_s"] > 0
    assert steps["nvme"]["figures"]["raid0"] is True
    # Steps 2 and 3 were checked again over the nodes the test pods brought up.
    assert "GPU node(s)" in steps["device-plugin"]["summary"], steps["device-plugin"]
    assert steps["nodes"]["figures"]["nodes"] >= 1
    # Progress was shown while waiting: pod phases and the NodeClaim Karpenter made.
    assert "NodeClaim" in report["_err"], report["_err"]
    assert report["cleanup"] == f"deleted namespace {report['namespace']}"
    _wait_no_run_namespace(kube)


def test_low_copy_bandwidth_fails_the_pytorch_step(
    run_cli: RunCli, kube: Kube, kubeconfig: Path, cluster: dict[str, Any]
) -> None:
    text = (DATA / "pytorch-a10g-low-copy.txt").read_text()
    serve_logs(kube, cluster["logs"], "gpu-pytorch-test", "pytorch", text)
    try:
        report = _verify(run_cli, cluster, kubeconfig, "--only", "pytorch", *FAST)
    finally:
        good = (DATA / RECORDED["gpu-pytorch-test"]).read_text()
        serve_logs(kube, cluster["logs"], "gpu-pytorch-test", "pytorch", good)
    pytorch = _steps(report)["pytorch"]
    assert report["_code"] == 1
    assert pytorch["status"] == "failed"
    assert "copy at" in pytorch["summary"] and "A10G" in pytorch["summary"], pytorch
    _wait_no_run_namespace(kube)


def _leftover(kube: Kube, name: str, expires: datetime.datetime) -> None:
    stamp = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    kube.apply({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": {LABEL_VERIFY_RUN: "old"},
                             "annotations": {ANNOTATION_VERIFY_EXPIRES: stamp}}},
               "eks-gpu-test")  # fmt: skip


def test_a_later_run_removes_expired_leftovers_and_spares_live_runs(
    run_cli: RunCli, kube: Kube, kubeconfig: Path, cluster: dict[str, Any]
) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    _leftover(kube, f"{NAME}-expired", now - datetime.timedelta(minutes=1))
    _leftover(kube, f"{NAME}-running", now + datetime.timedelta(minutes=30))
    try:
        report = _verify(run_cli, cluster, kubeconfig, "--only", "simple", *FAST)
        assert report["_code"] == 0, report["_err"]
        assert report["removedLeftovers"] == [f"{NAME}-expired"]
        assert f"namespace {NAME}-running belongs to a verify run still in time" in report["_err"]
        assert kube.get(f"/api/v1/namespaces/{NAME}-running")["metadata"]["name"]
    finally:
        kube.request("DELETE", f"/api/v1/namespaces/{NAME}-running")
    _wait_no_run_namespace(kube)


def test_ctrl_c_mid_run_leaves_nothing_behind(
    kube: Kube, kubeconfig: Path, cluster: dict[str, Any]
) -> None:
    kube.apply(_pool(limit="0"), "eks-gpu-test")  # the pods wait, so the run is mid-way
    argv = [sys.executable, "-m", "eks_gpu", "verify", "-c", str(cluster["config"]),
            "--kubeconfig", str(kubeconfig), "--stall-after", "10m", "-o", "json"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _run_pods(kube):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "verify created no test pod in 60s"
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        kube.apply(_pool(), "eks-gpu-test")
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    assert "cleaning up: deleting namespace" in err, err
    _wait_no_run_namespace(kube)
    assert not _run_pods(kube)


def _run_pods(kube: Kube) -> list[Obj]:
    items: list[Obj] = kube.get("/api/v1/pods", labelSelector=LABEL_VERIFY_RUN)["items"]
    return items
