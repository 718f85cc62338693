"""`eks-gpu apply`, `diff` and `delete` against the real local API server.

Karpenter's CRDs are installed by the plane fixture (NodeOverlay's here, for the
time-slicing overlays); a Karpenter Deployment carrying ``CLUSTER_NAME`` is created so the
preflight can check the cluster's name (its pods never run: nothing here needs them). What
was written is asserted from the objects themselves (resourceVersions) and from the audit
log (which verbs eks-gpu sent, and with which ``dryRun``). Nothing depends on
kube-controller-manager: no DaemonSet status, no garbage-collector cascade.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.commands.config_source import RenderSource
from eks_gpu.commands.preflight import apply_set
from test_json_output import validator

from .audit import Call, calls_since, mark
from .faultproxy import FaultProxy, Rates
from .kube import ApiError, Kube, Obj
from .plane import REFERENCE, Plane, install_crds, write_kubeconfig

pytestmark = pytest.mark.controlplane

RunCli = Any
CLUSTER = "plane-test"
MANAGED_BY = "app.kubernetes.io/managed-by"
DEPLOYMENTS = "/apis/apps/v1/namespaces/kube-system/deployments"


def karpenter_deployment(cluster: str = CLUSTER) -> Obj:
    """What Karpenter's Helm chart installs, reduced to what the preflight reads."""
    labels = {"app.kubernetes.io/name": "karpenter"}
    container = {
        "name": "controller",
        "image": "public.ecr.aws/karpenter/controller:1.14.1@sha256:" + "0" * 64,
        "env": [{"name": "CLUSTER_NAME", "value": cluster}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "karpenter", "namespace": "kube-system", "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


@pytest.fixture(scope="module")
def karpenter(plane: Plane, kube: Kube) -> Iterator[Obj]:
    """The NodeOverlay CRD, and a Karpenter Deployment saying this cluster is ``plane-test``."""
    install_crds(plane, [REFERENCE / "karpenter" / "karpenter.sh_nodeoverlays.yaml"])
    deployment = karpenter_deployment()
    kube.apply(deployment, "helm")
    yield deployment
    kube.delete(deployment)


@pytest.fixture
def config(tmp_path: Path, kube: Kube, karpenter: Obj) -> Iterator[Path]:
    """A config with unique pool/class names and time-slicing (so a ConfigMap and
    NodeOverlays are rendered too); every object it renders is deleted afterwards."""
    suffix = uuid.uuid4().hex[:6]
    data = {
        "clusterName": CLUSTER,
        "nodeClasses": [{"name": f"nc-{suffix}"}],
        "nodePools": [{"name": f"np-{suffix}", "nodeClass": f"nc-{suffix}"}],
        "devicePlugin": {"sharing": {"timeSlicing": {"replicas": 2}}},
    }
    path = tmp_path / "eks-gpu.yaml"
    path.write_text(yaml.safe_dump(data))
    yield path
    for obj in rendered(path):
        kube.delete(obj)


def rendered(path: Path, cluster: str | None = None) -> list[Obj]:
    return list(apply_set(RenderSource(path, None, cluster)).objects)


def names(objs: list[Obj]) -> list[str]:
    out = []
    for obj in objs:
        meta = obj["metadata"]
        ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
        out.append(f"{obj['kind']}/{ns}{meta['name']}")
    return out


def live(kube: Kube, obj: Obj) -> Obj | None:
    try:
        return kube.get(kube.object_path(obj))
    except ApiError as err:
        if err.status == 404:
            return None
        raise


def versions(kube: Kube, objs: list[Obj]) -> list[str | None]:
    return [
        (o or {}).get("metadata", {}).get("resourceVersion") for o in (live(kube, x) for x in objs)
    ]


def cli(run_cli: RunCli, kubeconfig: Path, command: str, *args: str) -> tuple[int, Any, str]:
    result = run_cli(command, *args, "--kubeconfig", str(kubeconfig))
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    document = result.out
    if "-o" in args and args[args.index("-o") + 1] == "json" and result.out.strip():
        document = json.loads(result.out)
    return result.code, document, result.err


def apply(run_cli: RunCli, kubeconfig: Path, path: Path, *args: str) -> tuple[int, Any, str]:
    return cli(run_cli, kubeconfig, "apply", "-c", str(path), "-o", "json", *args)


def actions(report: dict[str, Any]) -> dict[str, str]:
    return {o["object"]: o["action"] for o in report["objects"]}


def writes(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.verb in ("create", "update", "patch", "delete")]


def schema_errors(kind: str, document: Any) -> list[str]:
    return [e.message for e in validator(kind).iter_errors(document)]


def test_apply_from_empty_then_reapply_is_a_no_op(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, kube: Kube, config: Path
) -> None:
    objs = rendered(config)
    kinds = ["EC2NodeClass", "NodePool", "ConfigMap", "DaemonSet"]
    assert [o["kind"] for o in objs] == kinds + ["NodeOverlay"] * (len(objs) - 4)
    assert len(objs) >= 5
    start = mark(plane.audit_log)
    code, report, err = apply(run_cli, kubeconfig, config, "--yes")
    assert code == 0, (report, err)
    assert not schema_errors("ApplyReport", report)
    assert actions(report) == dict.fromkeys(names(objs), "created")
    assert report["karpenterVersion"] == "1.14.1"
    assert [c["status"] for c in report["preflight"]] == ["pass", "pass", "pass"]
    # Progress on stderr, one line per object, in dependency order.
    assert [line.split(":")[0] for line in err.splitlines() if line.endswith("created")] == names(
        objs
    )
    patches = [c for c in writes(calls_since(start)) if c.verb == "patch"]
    assert len(patches) == len(objs) == len(writes(calls_since(start)))
    assert all(c.query["fieldManager"] == "eks-gpu" and "force" not in c.query for c in patches)
    for obj in objs:
        found = live(kube, obj)
        assert found is not None and found["metadata"]["labels"][MANAGED_BY] == "eks-gpu"

    before = versions(kube, objs)
    start = mark(plane.audit_log)
    code, report, err = apply(run_cli, kubeconfig, config, "--yes")
    assert code == 0, (report, err)
    assert actions(report) == dict.fromkeys(names(objs), "unchanged")
    assert report["summary"] == "no changes"
    assert versions(kube, objs) == before  # nothing was written
    assert {c.verb for c in writes(calls_since(start))} == {"patch"}
    assert all(c.code == 200 for c in writes(calls_since(start)))


def test_table_output_says_no_changes(run_cli: RunCli, kubeconfig: Path, config: Path) -> None:
    assert apply(run_cli, kubeconfig, config, "--yes")[0] == 0
    code, out, _ = cli(run_cli, kubeconfig, "apply", "-c", str(config), "--yes")
    assert code == 0
    assert "CHECK" in out and re.search(r"^cluster-name +PASS", out, re.M)
    assert out.rstrip().endswith("no changes")


def api_path(api_version: str) -> str:
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


def test_diff_shows_what_apply_would_change(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, kube: Kube, config: Path
) -> None:
    objs = rendered(config)
    start = mark(plane.audit_log)
    code, out, err = cli(run_cli, kubeconfig, "diff", "-c", str(config))
    assert code == 1, err
    # Discovery once per apiVersion, then one GET per object; nothing written.
    calls = calls_since(start)
    discovery = Counter(c.uri for c in calls if not c.resource)
    assert discovery == dict.fromkeys({api_path(o["apiVersion"]) for o in objs}, 1)
    assert len([c for c in calls if c.resource and c.verb == "get"]) == len(objs)
    assert writes(calls) == []
    assert out.count("--- /dev/null") == len(objs)  # all new: every line added
    assert f"{len(objs)} of {len(objs)} objects differ" in err

    assert apply(run_cli, kubeconfig, config, "--yes")[0] == 0
    code, out, err = cli(run_cli, kubeconfig, "diff", "-c", str(config))
    assert (code, out) == (0, ""), out + err  # server defaults and metadata are not differences

    pool = objs[1]
    changed = copy.deepcopy(pool)
    changed["spec"]["disruption"]["consolidateAfter"] = "5m"
    kube.apply(changed, "eks-gpu", force=True)  # drift, as if edited in the cluster
    code, out, _ = cli(run_cli, kubeconfig, "diff", "-c", str(config))
    assert code == 1
    name = pool["metadata"]["name"]
    assert f"--- live/NodePool/{name}\n+++ rendered/NodePool/{name}\n" in out
    assert "-    consolidateAfter: 5m\n+    consolidateAfter: 30s\n" in out
    assert out.count("--- live/") == 1

    # A limit dropped from the config: we owned it, so the diff shows it going, and apply
    # (server-side apply removes fields its manager no longer sets) takes it away.
    assert apply(run_cli, kubeconfig, config, "--yes")[0] == 0
    data = yaml.safe_load(config.read_text())
    data["nodePools"][0]["limits"] = {"cpu": "1000"}
    config.write_text(yaml.safe_dump(data))
    code, out, _ = cli(run_cli, kubeconfig, "diff", "-c", str(config))
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith(("-  ", "+  "))] == [
        "-    nvidia.com/gpu: '16'"
    ]
    assert apply(run_cli, kubeconfig, config, "--yes")[0] == 0
    assert cli(run_cli, kubeconfig, "diff", "-c", str(config))[:2] == (0, "")
    assert "nvidia.com/gpu" not in live(kube, pool)["spec"]["limits"]  # type: ignore[index]


def test_dry_run_server_writes_nothing(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, kube: Kube, config: Path
) -> None:
    objs = rendered(config)
    start = mark(plane.audit_log)
    code, report, err = apply(run_cli, kubeconfig, config, "--dry-run=server")
    assert code == 0, (report, err)
    assert actions(report) == dict.fromkeys(names(objs), "created")
    assert report["dryRun"] == "server"
    patches = writes(calls_since(start))
    assert len(patches) == len(objs) and all(c.query.get("dryRun") == "All" for c in patches)
    assert versions(kube, objs) == [None] * len(objs)  # nothing persisted

    assert apply(run_cli, kubeconfig, config, "--yes")[0] == 0
    before = versions(kube, objs)
    data = yaml.safe_load(config.read_text())
    data["nodePools"][0]["limits"] = {"cpu": "64"}
    config.write_text(yaml.safe_dump(data))
    code, report, _ = apply(run_cli, kubeconfig, config, "--dry-run=server")
    assert code == 0
    expected = dict.fromkeys(names(objs), "unchanged")
    expected[names(objs)[1]] = "configured"
    assert actions(report) == expected
    assert versions(kube, objs) == before


def test_dry_run_client_only_reads(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, config: Path
) -> None:
    objs = rendered(config)
    start = mark(plane.audit_log)
    code, report, _ = apply(run_cli, kubeconfig, config, "--dry-run=client")
    assert code == 0
    assert actions(report) == dict.fromkeys(names(objs), "created")
    assert writes(calls_since(start)) == []


def test_partial_failure_is_reported_then_converges(
    run_cli: RunCli, kubeconfig: Path, kube: Kube, config: Path
) -> None:
    """``restricted`` may write Karpenter's kinds and ConfigMaps but not DaemonSets."""
    objs = rendered(config)
    rules = [
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"],
         "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "daemonsets"],
         "verbs": ["get", "list"]},
        {"apiGroups": ["karpenter.sh", "karpenter.k8s.aws"], "resources": ["*"],
         "verbs": ["get", "list", "patch", "create"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch", "create"]},
    ]  # fmt: skip
    name = f"eks-gpu-apply-{uuid.uuid4().hex[:6]}"
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules}  # fmt: skip
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                      "name": "restricted"}],
    }  # fmt: skip
    kube.apply(role, "eks-gpu-test")
    kube.apply(binding, "eks-gpu-test")
    try:
        code, report, err = apply(run_cli, kubeconfig, config, "--yes", "--context", "restricted")
    finally:
        kube.delete(binding)
        kube.delete(role)
    assert code == 3, (report, err)
    assert not schema_errors("ApplyReport", report)
    overlays = names(objs)[4:]
    assert actions(report) == {
        names(objs)[0]: "created",
        names(objs)[1]: "created",
        names(objs)[2]: "created",
        names(objs)[3]: "failed",
        **dict.fromkeys(overlays, "not-applied"),
    }
    failed = next(o for o in report["objects"] if o["action"] == "failed")
    assert f"error: {names(objs)[3]}: forbidden: " in err
    assert "your user needs patch on daemonsets.apps" in failed["error"]
    assert '{apiGroups: ["apps"], resources: ["daemonsets"], verbs: ["patch"]}' in failed["error"]
    assert live(kube, objs[3]) is None and live(kube, objs[4]) is None

    code, report, err = apply(run_cli, kubeconfig, config, "--yes")
    assert code == 0, (report, err)
    assert actions(report) == {
        **dict.fromkeys(names(objs)[:3], "unchanged"),
        names(objs)[3]: "created",
        **dict.fromkeys(overlays, "created"),
    }


def test_field_manager_conflict_names_the_other_manager(
    run_cli: RunCli, kubeconfig: Path, kube: Kube, config: Path
) -> None:
    objs = rendered(config)
    theirs = copy.deepcopy(objs[1])
    theirs["spec"]["disruption"]["consolidateAfter"] = "5m"
    kube.apply(objs[0], "kubectl")
    kube.apply(theirs, "kubectl")
    code, report, err = apply(run_cli, kubeconfig, config, "--yes")
    assert code == 3, (report, err)
    failed = next(o for o in report["objects"] if o["action"] == "failed")
    assert failed["object"] == names(objs)[1]
    assert 'fields are owned by "kubectl"' in failed["error"]
    assert "--force-conflicts" in failed["error"]
    assert live(kube, objs[1])["spec"]["disruption"]["consolidateAfter"] == "5m"  # type: ignore[index]

    code, report, _ = apply(run_cli, kubeconfig, config, "--yes", "--force-conflicts")
    assert code == 0
    assert actions(report)[names(objs)[1]] == "configured"
    assert live(kube, objs[1])["spec"]["disruption"]["consolidateAfter"] == "30s"  # type: ignore[index]


def test_cluster_name_mismatch_refuses_before_writing(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, config: Path
) -> None:
    start = mark(plane.audit_log)
    code, report, err = apply(run_cli, kubeconfig, config, "--yes", "--cluster-name", "other")
    assert code == 1
    assert "error: preflight cluster-name: the config is for cluster 'other'" in err
    check = next(c for c in report["preflight"] if c["name"] == "cluster-name")
    assert check["status"] == "fail"
    assert "'other'" in check["detail"] and f"'{CLUSTER}'" in check["detail"]
    assert set(actions(report).values()) == {"not-applied"}
    assert writes(calls_since(start)) == []


def test_unknown_cluster_name_is_not_a_silent_pass(
    run_cli: RunCli, kubeconfig: Path, kube: Kube, karpenter: Obj, config: Path
) -> None:
    kube.delete(karpenter)
    try:
        code, report, _ = apply(run_cli, kubeconfig, config, "--yes")
        assert code == 1
        check = next(c for c in report["preflight"] if c["name"] == "cluster-name")
        assert check["status"] == "not-run" and "--skip-cluster-name-check" in check["detail"]
        assert report["karpenterVersion"] is None
        code, report, _ = apply(run_cli, kubeconfig, config, "--yes", "--skip-cluster-name-check")
        assert code == 0
        check = next(c for c in report["preflight"] if c["name"] == "cluster-name")
        assert check["status"] == "skipped"
    finally:
        kube.apply(karpenter, "helm")


def test_restricted_user_gets_the_rbac_rule(
    run_cli: RunCli, kubeconfig: Path, config: Path
) -> None:
    code, out, err = cli(
        run_cli, kubeconfig, "apply", "-c", str(config), "--yes", "--context", "restricted"
    )
    assert (code, out) == (3, "")
    assert "error: forbidden: " in err
    assert "your user needs list on customresourcedefinitions.apiextensions.k8s.io" in err
    rule = '{apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"]'
    assert f"hint: ask a cluster admin for a (Cluster)Role with the rule {rule}" in err


def gpu_node_and_pod(pool: str) -> tuple[Obj, Obj]:
    node_name = f"gpu-node-{uuid.uuid4().hex[:6]}"
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node_name, "labels": {"karpenter.sh/nodepool": pool}}}  # fmt: skip
    container = {"name": "main", "image": "cuda", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"trainer-{uuid.uuid4().hex[:6]}", "namespace": "default"},
        "spec": {"nodeName": node_name, "containers": [container]},
    }
    return node, pod


def test_delete_lists_gpu_pods_needs_yes_and_leaves_what_is_not_ours(
    run_cli: RunCli, kubeconfig: Path, kube: Kube, config: Path
) -> None:
    objs = rendered(config)
    assert apply(run_cli, kubeconfig, config, "--yes")[0] == 0
    pool = objs[1]["metadata"]["name"]
    node, pod = gpu_node_and_pod(pool)
    kube.create(node)
    kube.create(pod)
    # The ConfigMap loses our label: someone else's object with our name now.
    configmap = objs[2]
    kube.request("PATCH", kube.object_path(configmap), {"metadata": {"labels": {MANAGED_BY: None}}},
                 content_type="application/merge-patch+json")  # fmt: skip
    try:
        code, report, _ = cli(run_cli, kubeconfig, "delete", "-c", str(config), "-o", "json")
        assert code == 1  # not confirmed: nothing deleted
        assert not schema_errors("DeleteReport", report)
        assert report["confirmed"] is False
        assert report["gpuPods"] == [
            {"namespace": "default", "name": pod["metadata"]["name"],
             "node": node["metadata"]["name"], "nodepool": pool}
        ]  # fmt: skip
        assert all(live(kube, o) is not None for o in objs)

        code, out, _ = cli(run_cli, kubeconfig, "delete", "-c", str(config))
        assert code == 1 and pod["metadata"]["name"] in out

        code, report, err = cli(
            run_cli, kubeconfig, "delete", "-c", str(config), "--yes", "-o", "json"
        )
        assert code == 0, (report, err)
        expected = dict.fromkeys(names(objs), "deleted")
        expected[names(objs)[2]] = "not-ours"
        assert actions(report) == expected
        assert [o["object"] for o in report["objects"]] == list(reversed(names(objs)))
        assert live(kube, configmap) is not None  # not ours: it survives
        gone = [o for o in objs if o is not configmap]
        assert all(  # deleted, or still going (a finalizer Karpenter would remove)
            (found := live(kube, o)) is None or found["metadata"].get("deletionTimestamp")
            for o in gone
        )
    finally:
        kube.delete(pod)
        kube.delete(node)
        kube.delete(configmap)


def test_delete_dry_run_server_deletes_nothing(
    run_cli: RunCli, kubeconfig: Path, plane: Plane, kube: Kube, config: Path
) -> None:
    objs = rendered(config)
    assert apply(run_cli, kubeconfig, config, "--yes")[0] == 0
    start = mark(plane.audit_log)
    code, report, _ = cli(
        run_cli, kubeconfig, "delete", "-c", str(config), "--dry-run=server", "-o", "json"
    )
    assert code == 0
    assert set(actions(report).values()) == {"deleted"}
    deletes = [c for c in writes(calls_since(start)) if c.verb == "delete"]
    assert len(deletes) == len(objs)
    assert all(live(kube, o) is not None for o in objs)

    start = mark(plane.audit_log)
    code, report, _ = cli(
        run_cli, kubeconfig, "delete", "-c", str(config), "--dry-run=client", "-o", "json"
    )
    assert (code, set(actions(report).values())) == (0, {"deleted"})
    assert writes(calls_since(start)) == []


def test_apply_and_delete_through_a_flaky_api_server(
    run_cli: RunCli, plane: Plane, kube: Kube, config: Path, tmp_path: Path
) -> None:
    """20% of requests answered 429 or 500 by the fault proxy: retried, and the result is
    the same as without faults (server-side apply is idempotent, so a retried PATCH is safe)."""
    objs = rendered(config)
    rates = Rates(too_many_requests=0.1, server_error=0.1, retry_after=1, seed=11)
    with FaultProxy(plane.server, plane.dir / "certs", rates) as proxy:
        flaky = tmp_path / "flaky-kubeconfig"
        write_kubeconfig(plane, flaky, ["admin"], server=proxy.url)
        code, report, err = apply(run_cli, flaky, config, "--yes")
        assert code == 0, (report, err)
        assert actions(report) == dict.fromkeys(names(objs), "created")
        code, report, err = apply(run_cli, flaky, config, "--yes")
        assert (code, report["summary"]) == (0, "no changes"), err
        code, report, err = cli(run_cli, flaky, "delete", "-c", str(config), "--yes", "-o", "json")
        assert code == 0, (report, err)
        assert set(actions(report).values()) == {"deleted"}
    assert proxy.outcomes["429"] + proxy.outcomes["500"] > 0, proxy.outcomes
