"""verify's pure steps: objects Ready, device plugin on every GPU node, node shape, --only."""

from __future__ import annotations

from typing import Any

import pytest

from builders import make_daemonset, make_node, make_pod
from eks_gpu.errors import UsageError
from eks_gpu.verify.checks import check_device_plugin, check_nodes, check_objects, settling
from eks_gpu.verify.steps import STEPS, parse_only

Obj = dict[str, Any]
GUIDE_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
GUIDE_LABELS = {"node-type": "gpu"}


def ready(obj: Obj, status: str = "True", reason: str = "Ready", message: str = "") -> Obj:
    cond = {"type": "Ready", "status": status, "reason": reason, "message": message}
    return {**obj, "status": {**obj.get("status", {}), "conditions": [cond]}}


def named(kind: str, name: str) -> Obj:
    return {"kind": kind, "metadata": {"name": name}}


def plugin(desired: int = 1, ready_count: int = 1) -> Obj:
    ds = make_daemonset("nvidia-device-plugin-daemonset")
    ds["status"] = {"desiredNumberScheduled": desired, "numberReady": ready_count}
    return ds


def plugin_pod(node: str, is_ready: bool = True) -> Obj:
    pod = make_pod(f"plugin-{node}", namespace="kube-system", node=node,
                   owner=("DaemonSet", "nvidia-device-plugin-daemonset"))  # fmt: skip
    return ready(pod, "True" if is_ready else "False")


def gpu_node(name: str = "n1", **kw: Any) -> Obj:
    kw.setdefault("labels", GUIDE_LABELS)
    return ready(make_node(name, **kw))


def test_objects_pass_only_when_both_are_ready() -> None:
    result = check_objects("gpu", ready(named("NodePool", "gpu")), "nc",
                           ready(named("EC2NodeClass", "nc")))  # fmt: skip
    assert result.status == "passed"


def test_objects_missing_names_the_object_and_the_fix() -> None:
    result = check_objects("gpu", None, "nc", ready(named("EC2NodeClass", "nc")))
    assert result.status == "failed"
    assert result.summary.startswith("NodePool/gpu not found") and "eks-gpu apply" in result.summary


def test_objects_not_ready_carries_the_controllers_reason() -> None:
    nodeclass = ready(named("EC2NodeClass", "nc"), "False", "SubnetsNotFound", "no subnets")
    result = check_objects("gpu", ready(named("NodePool", "gpu")), "nc", nodeclass)
    assert result.status == "failed"
    assert result.summary == "EC2NodeClass/nc: Ready=False (SubnetsNotFound): no subnets"


def test_objects_without_a_ready_condition_are_not_assumed_ready() -> None:
    result = check_objects(
        "gpu", named("NodePool", "gpu"), "nc", ready(named("EC2NodeClass", "nc"))
    )
    assert result.status == "failed" and "no Ready condition" in result.summary


def test_settling_is_absent_or_unknown_ready_only() -> None:
    assert settling(named("NodePool", "gpu"))
    assert settling(ready(named("NodePool", "gpu"), "Unknown", "ReconcilingDependents"))
    assert not settling(ready(named("NodePool", "gpu"), "False"))
    assert not settling(ready(named("NodePool", "gpu")))
    assert not settling(None)


def test_device_plugin_missing_fails() -> None:
    result = check_device_plugin([make_daemonset("aws-node")], [], [gpu_node()])
    assert result.status == "failed" and "no NVIDIA device plugin" in result.summary


def test_device_plugin_ready_on_every_gpu_node() -> None:
    result = check_device_plugin([plugin(2, 2)], [plugin_pod("n1"), plugin_pod("n2")],
                                 [gpu_node("n1"), gpu_node("n2")])  # fmt: skip
    assert result.status == "passed" and "all 2 GPU node(s)" in result.summary


def test_device_plugin_not_ready_counts_and_uncovered_nodes_fail() -> None:
    result = check_device_plugin([plugin(2, 1)], [plugin_pod("n1"), plugin_pod("n2", False)],
                                 [gpu_node("n1"), gpu_node("n2")])  # fmt: skip
    assert result.status == "failed"
    assert "1 of 2 pods ready" in result.summary
    assert "Node/n2: no Ready device plugin pod on it" in result.details


def test_device_plugin_with_no_gpu_node_says_so() -> None:
    result = check_device_plugin([plugin(0, 0)], [], [])
    assert result.status == "passed" and "no GPU node in the pool yet" in result.summary


def test_nodes_pass_with_labels_taint_and_gpus() -> None:
    result = check_nodes("gpu", [gpu_node()], GUIDE_LABELS, [GUIDE_TAINT])
    assert result.status == "passed"
    assert result.figures == {"nodes": 1, "gpus": 1}


@pytest.mark.parametrize(
    ("node", "problem"),
    [
        (gpu_node(labels={}), "label node-type=gpu missing (has none)"),
        (gpu_node(taints=[]), "taint nvidia.com/gpu=true:NoSchedule missing"),
        (gpu_node(gpus=0, taints=[GUIDE_TAINT]), "allocatable nvidia.com/gpu is 0 or absent"),
        (make_node("n1", labels=GUIDE_LABELS), "no Ready condition yet"),
    ],
)
def test_nodes_fail_naming_what_is_wrong(node: Obj, problem: str) -> None:
    result = check_nodes("gpu", [node], GUIDE_LABELS, [GUIDE_TAINT])
    assert result.status == "failed"
    assert any(problem in line for line in result.details), result.details


def test_nodes_of_a_pool_scaled_to_zero_are_reported_as_absent() -> None:
    result = check_nodes("gpu", [], GUIDE_LABELS, [GUIDE_TAINT])
    assert "no node in NodePool/gpu yet" in result.summary


def test_only_keeps_the_guides_order_and_rejects_unknown_steps() -> None:
    assert parse_only(["nvme,objects", "simple"]) == ("objects", "simple", "nvme")
    assert parse_only([]) == STEPS
    with pytest.raises(UsageError, match="unknown step gpu"):
        parse_only(["gpu"])
