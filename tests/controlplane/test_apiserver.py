"""Proof the local control plane is a real one: CRDs, admission, apply conflicts, RBAC, audit."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from .kube import ApiError, Kube, Obj, condition
from .plane import KARPENTER_CRDS, Plane

pytestmark = pytest.mark.controlplane


def test_apiserver_reports_the_pinned_version(kube: Kube) -> None:
    version = kube.get("/version")
    assert (version["major"], version["minor"]) == ("1", "35")
    assert version["gitVersion"].startswith("v1.35.")


@pytest.mark.parametrize("crd_file", KARPENTER_CRDS)
def test_upstream_karpenter_crd_is_established(kube: Kube, reference: Path, crd_file: str) -> None:
    name = yaml.safe_load((reference / "karpenter" / crd_file).read_text())["metadata"]["name"]
    crd = kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    assert condition(crd, "Established").get("status") == "True"
    assert condition(crd, "NamesAccepted").get("status") == "True"
    group, version = crd["spec"]["group"], crd["spec"]["versions"][0]["name"]
    served = {r["kind"] for r in kube.get(f"/apis/{group}/{version}")["resources"]}
    assert crd["spec"]["names"]["kind"] in served


def _rendered(run_cli) -> list[Obj]:  # type: ignore[no-untyped-def]
    result = run_cli("render", "--cluster-name", "demo", "-o", "json")
    assert result.code == 0, result.err
    listing = json.loads(result.out)
    assert listing["kind"] == "List"
    items: list[Obj] = listing["items"]
    return items


def _ensure_namespace(kube: Kube, name: str) -> None:
    try:
        kube.get(f"/api/v1/namespaces/{name}")
    except ApiError as err:
        assert err.status == 404, err
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def test_rendered_manifests_are_accepted_by_server_side_apply(
    kube: Kube,
    reference: Path,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    """Every object `eks-gpu render` prints passes the real server's schema, CEL and admission
    (Pod Security "restricted" on the test namespace included). This is admission and
    validation; the objects are deleted again before the controllers act on them."""
    items = _rendered(run_cli)
    kinds = {item["kind"] for item in items}
    assert {"EC2NodeClass", "NodePool", "DaemonSet", "Namespace", "Pod"} <= kinds
    for item in items:
        namespace = item["metadata"].get("namespace")
        if namespace and not any(
            i["kind"] == "Namespace" and i["metadata"]["name"] == namespace for i in items
        ):
            _ensure_namespace(kube, namespace)
        applied = kube.apply(item, "eks-gpu")
        assert applied["metadata"]["uid"]
        managers = {m["manager"] for m in applied["metadata"]["managedFields"]}
        assert "eks-gpu" in managers
    # Applying the same output again changes no spec (idempotent: same generation).
    for item in items:
        before = kube.get(kube.object_path(item))
        after = kube.apply(item, "eks-gpu")
        assert after["metadata"].get("generation") == before["metadata"].get("generation")
    # Leave no pending GPU pods behind for the scheduling tests. Namespaces stay: other
    # modules apply the same rendered namespace.
    for item in reversed(items):
        if item["kind"] != "Namespace":
            kube.delete(item)


def test_server_side_apply_conflict_between_two_field_managers(kube: Kube) -> None:
    name = "ssa-" + uuid.uuid4().hex[:8]
    mine = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": {"replicas": "1"},
    }
    kube.apply(mine, "eks-gpu")
    theirs = {**mine, "data": {"replicas": "2"}}
    with pytest.raises(ApiError) as caught:
        kube.apply(theirs, "someone-else")
    err = caught.value
    assert (err.status, err.reason) == (409, "Conflict"), err
    assert 'conflict with "eks-gpu"' in err.message
    assert ".data.replicas" in err.message
    # --force-conflicts takes the field over.
    forced = kube.apply(theirs, "someone-else", force=True)
    assert forced["data"] == {"replicas": "2"}
    owners = {m["manager"]: m.get("fieldsV1", {}) for m in forced["metadata"]["managedFields"]}
    assert "f:replicas" in json.dumps(owners["someone-else"])
    kube.delete(mine)


def test_restricted_user_is_forbidden(restricted: Kube, kube: Kube, plane: Plane) -> None:
    with pytest.raises(ApiError) as caught:
        restricted.get("/api/v1/namespaces/default/pods")
    err = caught.value
    assert (err.status, err.reason) == (403, "Forbidden"), err
    assert 'User "restricted" cannot list resource "pods"' in err.message
    with pytest.raises(ApiError) as caught:
        restricted.get("/apis/karpenter.sh/v1/nodepools")
    assert caught.value.status == 403
    # The same request as admin succeeds: the 403 is RBAC, not a broken path.
    assert kube.get("/api/v1/namespaces/default/pods")["kind"] == "PodList"
    # Discovery stays open to every authenticated user (system:discovery).
    assert restricted.get("/version")["major"] == "1"


def test_audit_log_records_who_did_what(restricted: Kube, plane: Plane) -> None:
    marker = "audit-" + uuid.uuid4().hex[:8]
    with pytest.raises(ApiError):
        restricted.get(f"/api/v1/namespaces/default/configmaps/{marker}")
    events = [json.loads(line) for line in plane.audit_log.read_text().splitlines()]
    mine = [e for e in events if e.get("objectRef", {}).get("name") == marker]
    assert mine, "no audit event for the request"
    event = mine[-1]
    assert event["level"] == "Metadata"
    assert event["user"]["username"] == "restricted"
    assert event["verb"] == "get"
    assert event["responseStatus"]["code"] == 403
    assert "requestObject" not in event  # Metadata level: no bodies


def test_extended_resource_toleration_admits_gpu_pods_as_eks_does(kube: Kube) -> None:
    """EKS runs the ExtendedResourceToleration admission plugin (plane.py enables it): a pod
    asking for nvidia.com/gpu gets ``nvidia.com/gpu Exists NoSchedule`` without writing it
    (kubernetes plugin/pkg/admission/extendedresourcetoleration ``Admit``); a CPU pod does not."""
    tolerations = {}
    for name, limits in (("gpu", {"nvidia.com/gpu": "1"}), ("cpu", {"cpu": "1"})):
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"ert-{name}-{uuid.uuid4().hex[:6]}", "namespace": "default"},
            "spec": {
                "containers": [{"name": "c", "image": "busybox", "resources": {"limits": limits}}]
            },
        }
        admitted = kube.apply(pod, "eks-gpu-test", dry_run=True)
        tolerations[name] = admitted["spec"].get("tolerations", [])
    expected = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    assert expected in tolerations["gpu"]
    assert not any(t.get("key") == "nvidia.com/gpu" for t in tolerations["cpu"])
