"""doctor's rules, one planted fault at a time into a realistic healthy dump
(tests/data/doctor/healthy.yaml): each rule fires on its fault and on nothing else, and the
healthy dump (plus near misses) produces no diagnosis at all."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.diagnose.context import Context, parse_time
from eks_gpu.diagnose.engine import RULES, Report, diagnose
from eks_gpu.manifests.cluster_state import state_from_objects

Obj = dict[str, Any]
HEALTHY = Path(__file__).parent / "data" / "doctor" / "healthy.yaml"
GPU_NODE = "ip-10-0-12-34.ec2.internal"
CPU_NODE = "ip-10-0-40-7.ec2.internal"
PLUGIN_POD = "nvidia-device-plugin-daemonset-4xq9z"
NOW = parse_time("2026-12-01T12:00:00Z")


@cache
def _healthy_items() -> tuple[Obj, ...]:
    return tuple(yaml.safe_load(HEALTHY.read_text())["items"])


def items() -> list[Obj]:
    return copy.deepcopy(list(_healthy_items()))


def find(objs: list[Obj], kind: str, name: str) -> Obj:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


TRIGGERED: set[str] = set()
"""Every rule id some test above made fire (checked by the last test of the module)."""


def run(objs: list[Obj], **ctx: Any) -> Report:
    assert NOW is not None  # for the type checker: the constant parses
    report = diagnose(state_from_objects(objs), Context(now=NOW, **ctx))
    TRIGGERED.update(d.id for d in report.diagnoses)
    return report


def ids(report: Report) -> list[str]:
    return [d.id for d in report.diagnoses]


def planted(mutate: Callable[[list[Obj]], None]) -> Report:
    objs = items()
    mutate(objs)
    return run(objs)


def drop(objs: list[Obj], kind: str, name: str | None = None) -> None:
    objs[:] = [o for o in objs if not (o["kind"] == kind and name in (None, o["metadata"]["name"]))]


def plugin_log(objs: list[Obj], text: str) -> None:
    find(objs, "PodLog", PLUGIN_POD)["tail"] = text


def test_the_healthy_dump_has_no_diagnosis_and_every_rule_ran() -> None:
    report = run(items())
    assert report.diagnoses == ()
    assert report.not_run == ()
    assert report.checked == {"nodes": 2, "pods": 3, "nodepools": 1}


# --- device-plugin-missing -------------------------------------------------------------------
def test_device_plugin_missing_with_gpu_nodes() -> None:
    def fault(objs: list[Obj]) -> None:
        drop(objs, "DaemonSet")
        drop(objs, "Pod", PLUGIN_POD)
        drop(objs, "PodLog")

    report = planted(fault)
    assert ids(report) == ["device-plugin-missing"]
    assert any(GPU_NODE in e for e in report.diagnoses[0].evidence)


def test_device_plugin_missing_with_only_a_pending_gpu_pod() -> None:
    def fault(objs: list[Obj]) -> None:
        drop(objs, "DaemonSet")
        drop(objs, "PodLog")
        objs[:] = [o for o in objs if o["metadata"].get("name") not in (GPU_NODE, PLUGIN_POD)]
        del find(objs, "Pod", "llm-serve-6d9f8-abcde")["spec"]["nodeName"]
        find(objs, "Pod", "llm-serve-6d9f8-abcde")["status"] = {"phase": "Pending"}

    report = planted(fault)
    assert ids(report) == ["device-plugin-missing", "pending-gpu-pod"]
    assert report.diagnoses[1].severity == "info"  # it fits: Karpenter would launch for it


def test_bottlerocket_gpu_nodes_need_no_plugin_daemonset() -> None:
    def fault(objs: list[Obj]) -> None:
        drop(objs, "DaemonSet")
        drop(objs, "Pod", PLUGIN_POD)
        drop(objs, "PodLog")
        find(objs, "Node", GPU_NODE)["status"]["nodeInfo"]["osImage"] = "Bottlerocket OS 1.29.0"

    assert ids(planted(fault)) == []


def test_no_daemonsets_in_the_input_is_not_run_not_missing() -> None:
    objs = [o for o in items() if o["kind"] not in ("DaemonSet", "ClusterDump")]
    report = run(objs)
    assert "device-plugin-missing" not in ids(report)
    assert ("device-plugin-missing", "not in the input: DaemonSet") in report.not_run


# --- device-plugin-untolerated-taint ---------------------------------------------------------
def test_untolerated_taint_keeps_the_plugin_off_the_node() -> None:
    def fault(objs: list[Obj]) -> None:
        node = find(objs, "Node", GPU_NODE)
        node["spec"]["taints"] = [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]
        node["status"]["capacity"].pop("nvidia.com/gpu")
        node["status"]["allocatable"].pop("nvidia.com/gpu")
        drop(objs, "Pod", PLUGIN_POD)
        drop(objs, "PodLog")
        drop(objs, "Pod", "llm-serve-6d9f8-abcde")

    report = planted(fault)
    assert sorted(ids(report)) == ["device-plugin-untolerated-taint", "gpu-not-registered"]
    taint = next(d for d in report.diagnoses if d.id == "device-plugin-untolerated-taint")
    assert "gpu=true:NoSchedule" in taint.summary and '"key": "gpu"' in taint.fix


def test_taints_the_daemonset_controller_tolerates_are_not_reported() -> None:
    """k8s AddOrUpdateDaemonPodTolerations: not-ready/unreachable NoExecute, pressure and
    unschedulable NoSchedule are tolerated by every daemon pod."""

    def fault(objs: list[Obj]) -> None:
        node = find(objs, "Node", GPU_NODE)
        node["spec"]["taints"] += [
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
        ]
        drop(objs, "Pod", PLUGIN_POD)
        drop(objs, "PodLog")

    assert "device-plugin-untolerated-taint" not in ids(planted(fault))


# --- device-plugin-not-ready -----------------------------------------------------------------
def test_plugin_pod_in_crash_loop() -> None:
    def fault(objs: list[Obj]) -> None:
        pod = find(objs, "Pod", PLUGIN_POD)
        pod["status"]["containerStatuses"][0].update(
            ready=False,
            restartCount=7,
            state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
        )

    report = planted(fault)
    assert ids(report) == ["device-plugin-not-ready"]
    assert any("CrashLoopBackOff" in e and "restarts: 7" in e for e in report.diagnoses[0].evidence)


# --- device-plugin-nvml-failure / waiting ----------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        "E1201 10:01:31.1 1 factory.go:112] Incompatible strategy detected auto",
        "I1201 10:01:31.1 1 main.go:1] Detected non-NVML platform: could not load NVML library: "
        "libnvidia-ml.so.1: cannot open shared object file: No such file or directory",
        "Failed to initialize NVML: could not load NVML library.",
        "Failed to initialize NVML: Driver/library version mismatch",
    ],
)
def test_every_known_nvml_wording(line: str) -> None:
    report = planted(
        lambda objs: plugin_log(objs, f"{line}\nNo devices found. Waiting indefinitely.\n")
    )
    assert ids(report) == ["device-plugin-nvml-failure"]  # not also "waiting": NVML is the cause
    assert line.strip() in report.diagnoses[0].evidence


def test_waiting_forever_on_a_gpu_instance() -> None:
    text = "I1201 Starting Plugins.\nI1201 No devices found. Waiting indefinitely.\n"
    report = planted(lambda objs: plugin_log(objs, text))
    assert ids(report) == ["device-plugin-waiting"]
    assert f"delete pod {PLUGIN_POD}" in report.diagnoses[0].fix


def test_waiting_earlier_but_registered_since_is_not_reported() -> None:
    text = (
        "No devices found. Waiting indefinitely.\nRegistered device plugin for 'nvidia.com/gpu'\n"
    )
    assert ids(planted(lambda objs: plugin_log(objs, text))) == []


def test_missing_plugin_logs_make_the_log_rules_not_run() -> None:
    report = planted(lambda objs: drop(objs, "PodLog"))
    assert ids(report) == []
    assert {rule for rule, _ in report.not_run} == {
        "device-plugin-nvml-failure",
        "device-plugin-waiting",
    }


# --- duplicate-device-plugin -----------------------------------------------------------------
def test_our_plugin_on_bottlerocket_is_a_duplicate() -> None:
    def fault(objs: list[Obj]) -> None:
        find(objs, "Node", GPU_NODE)["status"]["nodeInfo"]["osImage"] = "Bottlerocket OS 1.29.0"

    assert ids(planted(fault)) == ["duplicate-device-plugin"]


# --- gpu-not-registered ----------------------------------------------------------------------
def test_gpu_instance_without_gpu_capacity_and_a_waiting_nodeclaim() -> None:
    def fault(objs: list[Obj]) -> None:
        node = find(objs, "Node", GPU_NODE)
        node["status"]["capacity"].pop("nvidia.com/gpu")
        node["status"]["allocatable"].pop("nvidia.com/gpu")
        drop(objs, "Pod", "llm-serve-6d9f8-abcde")
        claim = find(objs, "NodeClaim", "gpu-x7k2p")
        claim["status"]["conditions"][2] = {
            "type": "Initialized",
            "status": "Unknown",
            "reason": "ResourceNotRegistered",
            "message": 'Resource "nvidia.com/gpu" was requested but not registered',
        }

    report = planted(fault)
    assert ids(report) == ["gpu-not-registered"]
    assert any("ResourceNotRegistered" in e for e in report.diagnoses[0].evidence)


def test_a_cpu_instance_without_gpus_is_fine() -> None:
    assert "gpu-not-registered" not in ids(run(items()))


# --- gpu-unhealthy ---------------------------------------------------------------------------
def test_allocatable_below_capacity_is_unhealthy_with_the_xid() -> None:
    def fault(objs: list[Obj]) -> None:
        node = find(objs, "Node", GPU_NODE)
        node["status"]["allocatable"]["nvidia.com/gpu"] = "0"
        drop(objs, "Pod", "llm-serve-6d9f8-abcde")
        plugin_log(
            objs, "XidCriticalError: Xid=79 on Device=GPU-1a2b; marking device as unhealthy.\n"
        )

    report = planted(fault)
    assert ids(report) == ["gpu-unhealthy"]
    assert report.diagnoses[0].severity == "error"
    assert any("Xid=79" in e for e in report.diagnoses[0].evidence)


def test_accelerated_hardware_ready_false_is_unhealthy_true_is_not() -> None:
    def fault(objs: list[Obj]) -> None:
        conds = find(objs, "Node", GPU_NODE)["status"]["conditions"]
        conds[1] = {"type": "AcceleratedHardwareReady", "status": "False", "reason": "NvidiaXID79"}

    assert ids(planted(fault)) == ["gpu-unhealthy"]


# --- nodeclaim-launch-failed -----------------------------------------------------------------
def test_launch_failed_condition_names_the_offering() -> None:
    def fault(objs: list[Obj]) -> None:
        claim = find(objs, "NodeClaim", "gpu-x7k2p")
        claim["status"] = {
            "conditions": [
                {
                    "type": "Launched",
                    "status": "Unknown",
                    "reason": "LaunchFailed",
                    "message": "creating instance, VcpuLimitExceeded: You have requested more "
                    "vCPU capacity than your current vCPU limit of 0 allows",
                }
            ]
        }

    report = planted(fault)
    assert ids(report) == ["nodeclaim-launch-failed"]
    diagnosis = report.diagnoses[0]
    assert "quota" in diagnosis.fix and any("g5.xlarge" in e for e in diagnosis.evidence)


def test_a_fresh_nodeclaim_awaiting_reconciliation_is_not_a_failure() -> None:
    def fault(objs: list[Obj]) -> None:
        find(objs, "NodeClaim", "gpu-x7k2p")["status"] = {
            "conditions": [
                {"type": "Launched", "status": "Unknown", "reason": "AwaitingReconciliation"}
            ]
        }

    assert ids(planted(fault)) == []


def test_repeated_insufficient_capacity_events() -> None:
    def fault(objs: list[Obj]) -> None:
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "gpu-abcde.1801", "namespace": "default"},
                "involvedObject": {"kind": "NodeClaim", "name": "gpu-abcde"},
                "reason": "InsufficientCapacityError",
                "type": "Warning",
                "count": 3,
                "message": "NodeClaim gpu-abcde event: creating instance, insufficient capacity, "
                "all requested instance types were unavailable during launch",
            }
        )

    report = planted(fault)
    assert ids(report) == ["nodeclaim-launch-failed"]
    assert report.diagnoses[0].subject == "NodeClaim/gpu-abcde"


# --- nodeclass-not-ready ---------------------------------------------------------------------
def test_ami_alias_not_found() -> None:
    def fault(objs: list[Obj]) -> None:
        conds = find(objs, "EC2NodeClass", "gpu")["status"]["conditions"]
        conds[0] = {
            "type": "AMIsReady",
            "status": "False",
            "reason": "AMINotFound",
            "message": 'failed to discover any AMIs for alias "al2023@v20990101"',
        }
        conds[5] = {"type": "Ready", "status": "False", "reason": "UnhealthyDependents"}

    report = planted(fault)
    assert ids(report) == ["nodeclass-not-ready"]  # AMIsReady, not also the generic Ready
    assert "AMIsReady" in report.diagnoses[0].summary


# --- isolation-violated ----------------------------------------------------------------------
def test_a_cpu_pod_on_the_gpu_node() -> None:
    def fault(objs: list[Obj]) -> None:
        pod = copy.deepcopy(find(objs, "Pod", "coredns-5d8b9c-qwert"))
        pod["metadata"]["name"] = "batch-etl-1"
        pod["metadata"]["namespace"] = "data"
        pod["metadata"]["ownerReferences"][0]["kind"] = "Job"
        pod["spec"]["nodeName"] = GPU_NODE
        pod["spec"]["tolerations"] = [{"operator": "Exists"}]
        objs.append(pod)

    report = planted(fault)
    assert ids(report) == ["isolation-violated"]
    assert "data/batch-etl-1" in report.diagnoses[0].evidence[0]


# --- idle-gpus -------------------------------------------------------------------------------
def test_an_old_gpu_node_without_gpu_pods_is_idle_with_its_price() -> None:
    report = planted(lambda objs: drop(objs, "Pod", "llm-serve-6d9f8-abcde"))
    assert ids(report) == ["idle-gpus"]
    assert "$1.006/h" in report.diagnoses[0].summary


def test_a_young_gpu_node_is_not_idle_yet() -> None:
    objs = items()
    drop(objs, "Pod", "llm-serve-6d9f8-abcde")
    report = run(objs, idle_after=datetime.timedelta(hours=3))
    assert ids(report) == []


# --- pending-gpu-pod ---------------------------------------------------------------------------
def make_pending(objs: list[Obj], name: str = "train-0", **spec: Any) -> Obj:
    pod = copy.deepcopy(find(objs, "Pod", "llm-serve-6d9f8-abcde"))
    pod["metadata"]["name"] = name
    del pod["spec"]["nodeName"]
    pod["spec"].update(spec)
    pod["status"] = {"phase": "Pending"}
    objs.append(pod)
    return pod


def test_a_pending_gpu_pod_with_a_selector_no_pool_sets() -> None:
    def fault(objs: list[Obj]) -> None:
        make_pending(objs, nodeSelector={"team": "research"})
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "train-0.1", "namespace": "ml"},
                "involvedObject": {"kind": "Pod", "name": "train-0", "namespace": "ml"},
                "reason": "FailedScheduling",
                "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node "
                "affinity/selector.",
            }
        )

    report = planted(fault)
    assert ids(report) == ["pending-gpu-pod"]
    diagnosis = report.diagnoses[0]
    assert diagnosis.severity == "error" and diagnosis.subject == "Pod/ml/train-0"
    assert any(e.startswith("gpu: label-undefined") for e in diagnosis.evidence)
    assert any("FailedScheduling" in e for e in diagnosis.evidence)


# --- nodepool-gpu-limit-reached --------------------------------------------------------------
def test_the_gpu_limit_holds_a_pending_pod_back() -> None:
    def fault(objs: list[Obj]) -> None:
        find(objs, "NodePool", "gpu")["spec"]["limits"] = {"nvidia.com/gpu": "1"}
        make_pending(objs)

    report = planted(fault)
    assert sorted(ids(report)) == ["nodepool-gpu-limit-reached", "pending-gpu-pod"]
    limit = next(d for d in report.diagnoses if d.id == "nodepool-gpu-limit-reached")
    assert limit.subject == "NodePool/gpu" and any("#8068" in e for e in limit.evidence)


def test_a_limit_with_room_for_the_largest_candidate_is_not_reached() -> None:
    def fault(objs: list[Obj]) -> None:
        find(objs, "NodePool", "gpu")["spec"]["limits"] = {"nvidia.com/gpu": "64"}
        make_pending(objs)

    assert ids(planted(fault)) == ["pending-gpu-pod"]  # info: it fits on a new node


# --- startup-taint-undeclared ----------------------------------------------------------------
def test_an_agent_taint_not_in_startup_taints() -> None:
    def fault(objs: list[Obj]) -> None:
        node = find(objs, "Node", GPU_NODE)
        node["spec"]["taints"].append(
            {"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NoSchedule"}
        )
        make_pending(objs)

    report = planted(fault)
    assert "startup-taint-undeclared" in ids(report)


def test_a_declared_startup_taint_is_fine() -> None:
    def fault(objs: list[Obj]) -> None:
        taint = {"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NoSchedule"}
        find(objs, "Node", GPU_NODE)["spec"]["taints"].append(taint)
        pool = find(objs, "NodePool", "gpu")["spec"]["template"]["spec"]
        pool["startupTaints"] = [taint]
        make_pending(objs)

    assert "startup-taint-undeclared" not in ids(planted(fault))


# --- cuda-not-ready --------------------------------------------------------------------------
def test_cuda_error_802_in_a_test_pod_log() -> None:
    def fault(objs: list[Obj]) -> None:
        objs.append(
            {
                "apiVersion": "eks-gpu.io/v1",
                "kind": "PodLog",
                "metadata": {"name": "gpu-pytorch-test", "namespace": "default"},
                "container": "pytorch",
                "tail": "UserWarning: CUDA initialization: Unexpected error from "
                "cudaGetDeviceCount(). Error 802: system not yet initialized\nFalse\n",
            }
        )

    report = planted(fault)
    assert ids(report) == ["cuda-not-ready"]
    assert report.diagnoses[0].subject == "Pod/default/gpu-pytorch-test"


def test_every_rule_id_fired_in_some_test_above() -> None:
    """Runs last (pytest keeps file order): each id of RULES was reported by a test here."""
    every = {rule_id for rule in RULES for rule_id in (rule.id, *rule.also)}
    assert every - TRIGGERED == set()
