"""`eks-gpu doctor` on a cluster broken by real components: kube-scheduler binds, Karpenter
(kwok provider) launches and refuses, kube-controller-manager runs (or does not run) the
device plugin's pods. The test only creates objects a user would create (a NodePool, a
DaemonSet, pods) and a taint an agent would add; every status, NodeClaim and event doctor
reads is written by the components. doctor must find each planted fault, about the objects
it was planted on, and nothing else about this test's objects; live and from a dump alike.

Planted:
- the NodePool has an extra taint the device plugin DaemonSet does not tolerate, so the
  DaemonSet controller makes no plugin pod on the GPU node (``device-plugin-untolerated-taint``);
- the NodePool's GPU limit is 1 and a first GPU pod holds it, so a second stays Pending
  (``pending-gpu-pod`` + ``nodepool-gpu-limit-reached``, Karpenter says "exceed limits");
- a GPU pod selects a label no NodePool sets (``pending-gpu-pod``, label-undefined);
- a CPU-only pod that tolerates everything lands on the GPU node (``isolation-violated``);
- an agent's taint appears on the node after launch, undeclared (``startup-taint-undeclared``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import agreement
from .audit import calls_since, lists_per_resource, mark
from .karpenter import on_kwok, remove_nodeclaims
from .kube import Kube, condition
from .plane import Plane

pytestmark = pytest.mark.controlplane

Obj = dict[str, Any]
RunCli = Any
SUFFIX = uuid.uuid4().hex[:6]
POOL = f"doctor-{SUFFIX}"
NAMESPACE = f"doctor-{SUFFIX}"
POOL_LABEL = "eks-gpu.test/doctor"
EXTRA_TAINT = {"key": "dedicated", "value": "ml", "effect": "NoSchedule"}
AGENT_TAINT = {"key": "example.com/agent-not-ready", "value": "true", "effect": "NoSchedule"}
TOLERATE_ALL = [{"operator": "Exists"}]


def _pod(name: str, gpus: int, **selector: str) -> Obj:
    resources: Obj = {"requests": {"cpu": "100m", "memory": "64Mi"}}
    if gpus:
        resources["limits"] = {"nvidia.com/gpu": str(gpus)}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {POOL_LABEL: POOL}},
        "spec": {
            "nodeSelector": {POOL_LABEL: POOL, **selector},
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                {**{k: EXTRA_TAINT[k] for k in ("key", "value", "effect")}, "operator": "Equal"},
            ],
            "containers": [{"name": "main", "image": "busybox:1.36", "resources": resources}],
        },
    }


def _nodepool() -> Obj:
    pool = on_kwok(
        next(o for o in agreement.rendered() if o["kind"] == "NodePool"), POOL, POOL_LABEL
    )
    template = pool["spec"]["template"]
    template["spec"]["taints"] = [*template["spec"].get("taints", []), EXTRA_TAINT]
    pool["spec"]["limits"] = {"nvidia.com/gpu": "1"}
    return pool


def _plugin() -> Obj:
    """The device plugin as a cluster might run it: it tolerates nvidia.com/gpu only."""
    labels = {"app": f"nvidia-device-plugin-{SUFFIX}"}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": f"nvidia-device-plugin-{SUFFIX}", "namespace": NAMESPACE},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {POOL_LABEL: POOL},
                    "tolerations": [
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                    ],
                    "containers": [
                        {"name": "plugin", "image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"}
                    ],
                },
            },
        },
    }


def _events_from_karpenter(kube: Kube, pod: str) -> list[str]:
    events = kube.get(
        f"/api/v1/namespaces/{NAMESPACE}/events",
        fieldSelector=f"involvedObject.name={pod},reason=FailedScheduling",
    )["items"]
    return [str(e.get("message")) for e in events if e.get("reportingComponent") == "karpenter"]


@pytest.fixture(scope="module")
def broken(kube: Kube, karpenter: None) -> Iterator[dict[str, str]]:
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
               "eks-gpu-test")  # fmt: skip
    pool = _nodepool()
    kube.apply(pool, "eks-gpu-test")
    kube.wait_for(kube.object_path(pool), lambda p: condition(p, "Ready").get("status") == "True")
    kube.apply(_plugin(), "eks-gpu-test")
    first = _pod("holds-the-limit", 1)
    kube.apply(first, "eks-gpu-test")
    running = kube.wait_for(kube.object_path(first),
                            lambda p: p.get("status", {}).get("phase") == "Running",
                            timeout=120)  # fmt: skip
    node = str(running["spec"]["nodeName"])
    kube.apply(_pod("over-the-limit", 1), "eks-gpu-test")
    kube.apply(_pod("wants-a-team", 1, team="research"), "eks-gpu-test")
    intruder = _pod("cpu-intruder", 0)
    intruder["spec"]["tolerations"] = TOLERATE_ALL
    kube.apply(intruder, "eks-gpu-test")
    kube.wait_for(kube.object_path(intruder),
                  lambda p: p.get("status", {}).get("phase") == "Running", timeout=60)  # fmt: skip
    # An agent taints the node after launch (what Cilium's or a GPU agent's start-up does).
    live = kube.get(f"/api/v1/nodes/{node}")
    live["spec"]["taints"] = [*live["spec"].get("taints", []), AGENT_TAINT]
    kube.request("PUT", f"/api/v1/nodes/{node}", live)
    # Karpenter has looked at the pending pods and said why (its events, not ours).
    for pod in ("over-the-limit", "wants-a-team"):
        kube.wait_for(f"/api/v1/namespaces/{NAMESPACE}/events",
                      lambda _e, pod=pod: bool(_events_from_karpenter(kube, pod)),
                      timeout=90)  # fmt: skip
    yield {"node": node}
    kube.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}")
    remove_nodeclaims(kube, POOL, timeout=90)
    kube.delete(pool)


def _ours(findings: list[Obj], node: str) -> dict[str, set[str]]:
    """This test's findings: subject -> rule ids (other modules' objects share the plane)."""
    mine: dict[str, set[str]] = {}
    for finding in findings:
        subject = str(finding["subject"])
        if subject in (f"Node/{node}", f"NodePool/{POOL}") or subject.startswith(
            f"Pod/{NAMESPACE}/"
        ):
            mine.setdefault(subject, set()).add(str(finding["id"]))
    return mine


EXPECTED_PODS = {
    f"Pod/{NAMESPACE}/over-the-limit": {"pending-gpu-pod"},
    f"Pod/{NAMESPACE}/wants-a-team": {"pending-gpu-pod"},
    f"NodePool/{POOL}": {"nodepool-gpu-limit-reached"},
}
NODE_FAULTS = {"device-plugin-untolerated-taint", "isolation-violated", "startup-taint-undeclared"}


def _doctor(run_cli: RunCli, *args: str) -> list[Obj]:
    result = run_cli("doctor", *args, "-o", "json")
    assert "Traceback" not in result.err
    assert result.code == 1, result.err  # error findings
    findings: list[Obj] = json.loads(result.out)["findings"]
    return findings


def test_doctor_finds_every_planted_fault_live_and_from_a_dump(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, broken: dict[str, str], tmp_path: Path
) -> None:
    node = broken["node"]
    start = mark(plane.audit_log)
    live = _doctor(run_cli, "--kubeconfig", str(kubeconfig))
    calls = calls_since(start)  # one LIST per kind, then only plugin log reads
    lists = lists_per_resource(calls)
    assert lists and max(lists.values()) == 1, lists
    others = [c.uri for c in calls if c.verb != "list" and c.resource != "pods/log"]
    assert others == []
    assert _ours(live, node) == {f"Node/{node}": NODE_FAULTS, **EXPECTED_PODS}

    by_id = {(f["subject"], f["id"]): f for f in live}
    limit = by_id[(f"Pod/{NAMESPACE}/over-the-limit", "pending-gpu-pod")]
    assert any(f"{POOL}: nodepool-limit-exceeded" in e for e in limit["evidence"])
    assert any("exceed limits" in e for e in limit["evidence"])  # Karpenter's own event
    team = by_id[(f"Pod/{NAMESPACE}/wants-a-team", "pending-gpu-pod")]
    assert any(f"{POOL}: label-undefined" in e for e in team["evidence"])
    taint = by_id[(f"Node/{node}", "device-plugin-untolerated-taint")]
    assert "dedicated=ml:NoSchedule" in taint["summary"]

    dump = tmp_path / "dump.json"
    assert run_cli("dump", "-o", str(dump), "--kubeconfig", str(kubeconfig)).code == 0
    offline = _doctor(run_cli, "--from", str(dump))
    assert _ours(offline, node) == _ours(live, node)
