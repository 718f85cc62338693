"""`eks-gpu dump` against the real local API server: what it holds, what it leaves out, and
how many calls it takes (counted from the apiserver's audit log).

The cluster: a kwok GPU node and a plain node; a device plugin DaemonSet with a pod of its own
on the kwok node (no kube-controller-manager here, so the test creates the pod the DaemonSet
controller would); a Karpenter Deployment and a controller pod matching its selector; pods
that finished (never in a dump); a NodePool; a Secret. Planted values in env, in kubectl's
last-applied annotation and in the Secret must not reach the file.

Without a kubelet (kwok serves no logs unless configured to), the log reads fail on the
server: the dump must record each under ``missing`` with the server's reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builders import make_daemonset, make_pod, make_workload
from eks_gpu.loaders.state_file import read_state_file
from test_cel_rules import nodepool

from .audit import calls_since, lists_per_resource, mark
from .kube import Kube, Obj, condition
from .plane import Plane

pytestmark = pytest.mark.controlplane

RunCli = Any
PLANTED = "planted-" + uuid.uuid4().hex
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SUFFIX = uuid.uuid4().hex[:6]
PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
KARPENTER_IMAGE = "public.ecr.aws/karpenter/controller:1.14.1@sha256:" + "0" * 64


def _node(name: str, kwok: bool) -> Obj:
    resources = {"cpu": "4", "memory": "16Gi", "pods": "110"}
    if kwok:
        resources["nvidia.com/gpu"] = "1"
    metadata: Obj = {"name": name, "labels": {"kubernetes.io/hostname": name}}
    if kwok:
        metadata["annotations"] = {"kwok.x-k8s.io/node": "fake"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": metadata,
        "status": {"capacity": resources, "allocatable": resources},
    }


def _finish(kube: Kube, pod: Obj, phase: str) -> None:
    """Set a created pod's phase through the status subresource, as a kubelet would."""
    path = kube.object_path(pod) + "/status"
    current = kube.get(path)
    current["status"] = {"phase": phase}
    kube.request("PUT", path, current)


@pytest.fixture(scope="module")
def cluster(kube: Kube, plane: Plane) -> Iterator[dict[str, Any]]:
    if "kwok" not in plane.pids:
        pytest.skip("kwok is not part of this control plane")
    gpu, cpu = f"dump-gpu-{SUFFIX}", f"dump-cpu-{SUFFIX}"
    created: list[Obj] = []

    def create(obj: Obj) -> Obj:
        made = kube.create(obj)
        created.append(obj)
        return made

    create(_node(gpu, kwok=True))
    create(_node(cpu, kwok=False))
    kube.wait_for(f"/api/v1/nodes/{gpu}", lambda n: condition(n, "Ready").get("status") == "True")

    plugin = make_daemonset(f"nvidia-device-plugin-{SUFFIX}", requests={},
                            node_selector={"kubernetes.io/hostname": gpu})  # fmt: skip
    container = plugin["spec"]["template"]["spec"]["containers"][0]
    container.update(image=PLUGIN_IMAGE, name="nvidia-device-plugin-ctr")
    container["env"] = [{"name": "PLANTED_TOKEN", "value": PLANTED}]
    plugin["metadata"]["annotations"] = {LAST_APPLIED: json.dumps({"token": PLANTED})}
    made = create(plugin)
    # kube-controller-manager's DaemonSet controller makes the plugin pod on the GPU node.
    owned = kube.wait_for(
        "/api/v1/namespaces/kube-system/pods",
        lambda found: any(
            ref.get("uid") == made["metadata"]["uid"]
            for pod in found["items"]
            for ref in pod["metadata"].get("ownerReferences", [])
        ),
        timeout=60,
    )
    plugin_pod = next(
        pod
        for pod in owned["items"]
        if any(r.get("uid") == made["metadata"]["uid"] for r in pod["metadata"]["ownerReferences"])
    )

    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"kp-{SUFFIX}"}}
    create(namespace)
    labels = {"app.kubernetes.io/name": "karpenter"}
    karpenter = make_workload("Deployment", "karpenter", namespace=f"kp-{SUFFIX}",
                              selector={"matchLabels": labels}, replicas=0)  # fmt: skip
    karpenter["metadata"]["labels"] = dict(labels)
    karpenter["spec"]["template"]["metadata"]["labels"] = dict(labels)
    karpenter["spec"]["template"]["spec"]["containers"][0].update(
        name="controller", image=KARPENTER_IMAGE, env=[{"name": "SECRET", "value": PLANTED}]
    )
    create(karpenter)
    controller = make_pod(f"karpenter-{SUFFIX}", namespace=f"kp-{SUFFIX}", requests={},
                          node_selector={"eks-gpu.test/no-such-node": "x"})  # fmt: skip
    controller["metadata"]["labels"] = dict(labels)
    controller["spec"]["containers"][0].update(name="controller", image=KARPENTER_IMAGE)
    create(controller)  # fits no node: stays Pending, unscheduled

    finished = []
    for phase in ("Succeeded", "Failed"):
        pod = make_pod(f"done-{phase.lower()}-{SUFFIX}", node=cpu, requests={})
        del pod["status"]
        create(pod)
        _finish(kube, pod, phase)
        finished.append(pod["metadata"]["name"])
    running = make_pod(f"app-{SUFFIX}", node=cpu, requests={})
    del running["status"]
    running["spec"]["containers"][0]["env"] = [
        {"name": "DB_PASSWORD", "value": PLANTED},
        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    ]
    create(running)

    pool = nodepool()
    pool["metadata"]["name"] = f"dump-{SUFFIX}"
    kube.apply(pool, "eks-gpu-test")
    created.append(pool)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"db-{SUFFIX}",
              "namespace": "default"}, "stringData": {"password": PLANTED}}  # fmt: skip
    create(secret)
    yield {
        "nodes": {gpu, cpu},
        "plugin_pod": plugin_pod["metadata"]["name"],
        "controller": controller["metadata"]["name"],
        "namespace": f"kp-{SUFFIX}",
        "finished": finished,
        "running": running["metadata"]["name"],
        "daemonset": plugin["metadata"]["name"],
        "nodepool": pool["metadata"]["name"],
    }
    for obj in reversed(created):
        kube.delete(obj)


def test_dump_holds_what_the_analysers_read_in_one_list_per_kind(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, cluster: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "dump.json"
    start = mark(plane.audit_log)
    result = run_cli("dump", "-o", str(out), "--kubeconfig", str(kubeconfig), "--tail-lines", "50")
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    assert f"wrote {out}" in result.err
    assert "  Node: " in result.err  # progress, kind by kind

    text = out.read_text()
    assert PLANTED not in text
    state = read_state_file(str(out))
    names = {kind: {o["metadata"]["name"] for o in state.of(kind)} for kind in state.objects}
    assert cluster["nodes"] <= names["Node"]
    pods = names["Pod"]
    assert {cluster["plugin_pod"], cluster["controller"], cluster["running"]} <= pods
    assert not set(cluster["finished"]) & pods
    assert cluster["daemonset"] in names["DaemonSet"]
    assert cluster["nodepool"] in names["NodePool"]
    assert "Secret" not in state.objects
    crds = {o["metadata"]["name"]: o for o in state.of("CustomResourceDefinition")}
    assert [v["name"] for v in crds["nodepools.karpenter.sh"]["spec"]["versions"]] == ["v1"]
    assert "schema" not in json.dumps(crds["nodepools.karpenter.sh"])

    running = next(p for p in state.of("Pod") if p["metadata"]["name"] == cluster["running"])
    env = running["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "DB_PASSWORD", "value": "REDACTED"}
    assert env[1]["valueFrom"]["secretKeyRef"]["name"] == "db"
    assert all(
        "managedFields" not in o["metadata"] for objs in state.objects.values() for o in objs
    )

    assert state.karpenter_version == "1.14.1"
    assert state.read_kinds is not None and {"Node", "Pod", "NodePool"} <= state.read_kinds
    # NodeOverlay is read when another module installed its CRD, else missing with the reason.
    assert ("NodeOverlay" in state.missing) != ("NodeOverlay" in state.read_kinds)
    assert "NodeMetrics" in state.missing  # no metrics-server
    assert any("env[].value" in note for note in state.redacted)
    # The controller pod never got a node: no call is made, the reason is recorded.
    controller_key = f"PodLog/{cluster['namespace']}/{cluster['controller']}"
    assert "not scheduled" in state.missing[controller_key]
    # The plugin pod runs on a kwok node: either kwok served its log, or the server's reason
    # for not serving it is recorded; never dropped.
    plugin_key = f"PodLog/kube-system/{cluster['plugin_pod']}"
    served = [log for log in state.logs if log.pod == cluster["plugin_pod"]]
    assert served or state.missing.get(plugin_key), (state.logs, state.missing)
    if served:
        assert served[0].container == "nvidia-device-plugin-ctr"

    calls = calls_since(start)
    lists = lists_per_resource(calls)
    assert lists and max(lists.values()) == 1, lists
    assert {
        "nodes",
        "pods",
        "daemonsets.apps",
        "deployments.apps",
        "nodepools.karpenter.sh",
    } <= set(lists)
    assert not [c for c in calls if "secrets" in c.resource]
    others = [c for c in calls if c.verb != "list" and c.resource != "pods/log"]
    assert not others, [(c.verb, c.uri) for c in others]
    log_reads = {c.uri.split("?")[0] for c in calls if c.resource == "pods/log"}
    assert log_reads == {f"/api/v1/namespaces/kube-system/pods/{cluster['plugin_pod']}/log"}, (
        log_reads
    )
    print(f"\ndump: {len(calls)} calls, {dict(lists)}; plugin log: "
          f"{'served' if served else state.missing.get(plugin_key)}")  # fmt: skip


def test_dump_yaml_on_stdout_and_without_logs(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, cluster: dict[str, Any]
) -> None:
    start = mark(plane.audit_log)
    result = run_cli("dump", "--kubeconfig", str(kubeconfig), "--no-logs", "-q")
    assert result.code == 0, result.err
    assert result.out.startswith("apiVersion: v1\nkind: List\nitems:\n")
    assert PLANTED not in result.out
    assert result.err == ""  # -q: no progress lines and no summary (docs/cli.md)
    assert not [c for c in calls_since(start) if c.resource == "pods/log"]


def test_dump_as_a_user_without_rights_is_exit_3_with_the_rule(
    run_cli: RunCli, kubeconfig: Path
) -> None:
    result = run_cli("dump", "--kubeconfig", str(kubeconfig), "--context", "restricted")
    assert result.code == 3
    assert "Traceback" not in result.err
    assert "forbidden" in result.err and "nodes" in result.err
    assert "hint:" in result.err
