"""verify's run-scoped objects and its progress/stall rules (pure)."""

from __future__ import annotations

import datetime
from typing import Any

from builders import make_pod
from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.names import ANNOTATION_VERIFY_EXPIRES, LABEL_VERIFY_RUN
from eks_gpu.render.bundle import render_all
from eks_gpu.verify.plan import plan_of, run_namespace, run_objects
from eks_gpu.verify.progress import new_claims, progress_line, stall_reason

Obj = dict[str, Any]
T0 = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)


def guide_plan():  # type: ignore[no-untyped-def]
    return plan_of([i.obj for i in render_all(GpuConfig(), "demo")], "nodepool-gpu")


def test_plan_reads_the_pool_its_node_class_labels_and_taints() -> None:
    plan = guide_plan()
    assert plan.nodeclass == "nodeclass-gpu"
    assert plan.labels == {"node-type": "gpu"}
    assert plan.taints == ({"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"},)
    assert set(plan.pods) == {"simple", "pytorch", "nvme"}


def test_run_objects_are_scoped_labelled_and_the_namespace_expires() -> None:
    plan = guide_plan()
    objects = run_objects(plan, "a1b2c3", ["simple", "nvme"], T0)
    namespace = run_namespace(plan, "a1b2c3")
    assert namespace == "eks-gpu-tests-a1b2c3"
    assert objects[0]["kind"] == "Namespace" and objects[0]["metadata"]["name"] == namespace
    assert (
        objects[0]["metadata"]["annotations"][ANNOTATION_VERIFY_EXPIRES] == "2026-12-01T12:00:00Z"
    )
    assert [o["kind"] for o in objects[1:]] == ["ConfigMap", "Pod", "Pod"]  # probes first
    pods = [o for o in objects if o["kind"] == "Pod"]
    assert [p["metadata"]["name"] for p in pods] == ["gpu-simple-test", "gpu-storage-test"]
    for obj in objects:
        assert obj["metadata"]["labels"][LABEL_VERIFY_RUN] == "a1b2c3"
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == namespace
    # the rendered objects themselves are untouched
    assert plan.pods["simple"]["metadata"]["namespace"] == "eks-gpu-tests"


def test_run_namespace_stays_a_dns_label() -> None:
    plan = guide_plan()
    plan.namespace["metadata"]["name"] = "x" * 63
    assert len(run_namespace(plan, "a1b2c3")) == 63


def claim(name: str, created: datetime.datetime, *stages: str) -> Obj:
    conditions = [{"type": s, "status": "True"} for s in stages]
    return {"metadata": {"name": name, "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "labels": {"node.kubernetes.io/instance-type": "g5.xlarge"}},
            "status": {"conditions": conditions}}  # fmt: skip


def test_only_claims_made_since_the_run_started_count() -> None:
    old = claim("old", T0 - datetime.timedelta(minutes=5), "Launched")
    new = claim("new", T0 + datetime.timedelta(seconds=3), "Launched", "Registered")
    assert new_claims([old, new], T0) == [new]


def test_progress_line_shows_each_pod_and_the_nodeclaim() -> None:
    pods = {"simple": make_pod("gpu-simple-test"), "pytorch": make_pod("p", node="ip-1")}
    line = progress_line(pods, [claim("gpu-x", T0, "Launched", "Registered")])
    assert line == ("simple: Pending; pytorch: Running on ip-1 | "
                    "NodeClaim gpu-x registered (g5.xlarge)")  # fmt: skip


def test_a_pending_pod_with_no_nodeclaim_stalls_after_the_limit() -> None:
    pod = make_pod("gpu-simple-test")
    assert stall_reason(pod, [], 30, 60) is None
    assert stall_reason(pod, [], 61, 60) == "Pending for 61s and Karpenter made no NodeClaim for it"
    assert stall_reason(pod, [claim("c", T0)], 600, 60) is None  # a node is on its way


def test_an_image_that_cannot_be_pulled_stalls_at_once() -> None:
    pod = make_pod("gpu-pytorch-test", node="ip-1", phase="Pending")
    pod["status"]["containerStatuses"] = [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}]
    assert stall_reason(pod, [], 1, 60) == "container waiting: ImagePullBackOff"
