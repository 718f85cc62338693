"""Tier 2: the real kube-scheduler places GPU pods on a kwok node (no kubelet anywhere).

One fake GPU node, as Karpenter would make it for the guide's NodePool: ``nvidia.com/gpu: 1``
in capacity and the guide's taint ``nvidia.com/gpu=true:NoSchedule``. kwok makes it Ready and
runs the pods bound to it; the scheduler's own events say why the others stay Pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from builders import make_pod

from .kube import Kube, Obj, condition

pytestmark = pytest.mark.controlplane

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
NS = "default"


@pytest.fixture(scope="module")
def gpu_node(kube: Kube, plane) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if "kwok" not in plane.pids or "kube-scheduler" not in plane.pids:
        pytest.skip("kube-scheduler and kwok are not part of this control plane")
    name = "gpu-" + uuid.uuid4().hex[:6]
    resources = {"cpu": "4", "memory": "16Gi", "pods": "110", "nvidia.com/gpu": "1"}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake"},  # managed by kwok
            "labels": {"kubernetes.io/hostname": name, "eks-gpu.test/node": name},
        },
        "spec": {"taints": [GPU_TAINT]},
        "status": {"capacity": resources, "allocatable": resources},
    }
    kube.create(node)
    kube.wait_for(f"/api/v1/nodes/{name}", lambda n: condition(n, "Ready").get("status") == "True")
    yield name
    kube.delete(node)


def pod(node: str, gpus: int = 1, tolerate: bool = True) -> Obj:
    name = f"gpu{gpus}-{'tol' if tolerate else 'notol'}-{uuid.uuid4().hex[:6]}"
    return make_pod(
        name,
        namespace=NS,
        gpus=gpus,
        requests={},
        tolerations=None if tolerate else [],
        node_selector={"eks-gpu.test/node": node},  # keeps other tests' pods off the node
    )


def _unschedulable_reason(kube: Kube, obj: Obj) -> str:
    """Waits for PodScheduled=False/Unschedulable, then returns the FailedScheduling event text."""
    name = obj["metadata"]["name"]
    kube.wait_for(
        kube.object_path(obj),
        lambda p: condition(p, "PodScheduled").get("reason") == "Unschedulable",
    )
    events = kube.wait_for(
        f"/api/v1/namespaces/{NS}/events",
        lambda e: bool(e["items"]),
        fieldSelector=f"involvedObject.name={name},reason=FailedScheduling",
    )
    message: str = events["items"][-1]["message"]
    return message


def test_tolerating_gpu_pod_is_scheduled_and_runs(kube: Kube, gpu_node: str) -> None:
    gpu_pod = pod(gpu_node)
    kube.create(gpu_pod)
    try:
        running = kube.wait_for(
            kube.object_path(gpu_pod), lambda p: p.get("status", {}).get("phase") == "Running"
        )
        assert running["spec"]["nodeName"] == gpu_node
        assert condition(running, "Ready").get("status") == "True"
        # The node's only GPU is taken now: a second GPU pod has to wait.
        second = pod(gpu_node)
        kube.create(second)
        try:
            assert "1 Insufficient nvidia.com/gpu" in _unschedulable_reason(kube, second)
        finally:
            kube.delete(second)
    finally:
        kube.delete(gpu_pod)


def test_pod_without_toleration_stays_pending_with_the_scheduler_reason(
    kube: Kube, gpu_node: str
) -> None:
    """A CPU pod: a GPU pod gets the toleration from EKS's ExtendedResourceToleration
    admission, which the local API server runs too (plane.py)."""
    plain = pod(gpu_node, gpus=0, tolerate=False)
    kube.create(plain)
    try:
        message = _unschedulable_reason(kube, plain)
        # v1.35 no longer names the taint ("untolerated taint {key: value}" in older releases):
        # `eks-gpu doctor` must match this text, not the older one.
        assert "node(s) had untolerated taint(s)" in message, message
        assert kube.get(kube.object_path(plain))["status"]["phase"] == "Pending"
    finally:
        kube.delete(plain)


def test_pod_asking_for_more_gpus_than_any_node_has(kube: Kube, gpu_node: str) -> None:
    greedy = pod(gpu_node, gpus=2)
    kube.create(greedy)
    try:
        assert "1 Insufficient nvidia.com/gpu" in _unschedulable_reason(kube, greedy)
    finally:
        kube.delete(greedy)
