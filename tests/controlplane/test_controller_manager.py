"""The plane's kube-controller-manager is the real one: its controllers act on what we create.

- DaemonSet controller: one pod per matching kwok node (nodeSelector, taints and
  tolerations honoured), and ``status`` counts them Ready once kwok runs them
  (``pkg/controller/daemon/daemon_controller.go`` ``updateDaemonSetStatus``).
- Garbage collector: dependents of a deleted owner go (background and foreground), or lose
  their ownerReference (orphan) (``pkg/controller/garbagecollector``).
- Namespace controller: a namespace delete empties it and completes.
- ServiceAccount and root-CA publisher controllers, ServiceAccount admission, TokenRequest:
  a token of a ServiceAccount authenticates, and RBAC holds it to its role (403, then 200).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from eks_gpu.cluster.client import connect
from eks_gpu.errors import ClusterAccessError

from .accounts import ServiceAccountKubeconfig, account_objects
from .kube import ApiError, Kube, Obj, condition
from .plane import NODE_LEASE_SECONDS, Plane

pytestmark = pytest.mark.controlplane

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
TEST_LABEL = "eks-gpu.test/kcm"


@pytest.fixture(scope="module")
def controller_manager(plane: Plane) -> None:
    if "kube-controller-manager" not in plane.pids or "kwok" not in plane.pids:
        pytest.skip("kube-controller-manager and kwok are not part of this control plane")


def _node(name: str, group: str, taints: list[Obj]) -> Obj:
    resources = {"cpu": "8", "memory": "32Gi", "pods": "110", "nvidia.com/gpu": "1"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake"},  # managed by kwok
            "labels": {"kubernetes.io/hostname": name, TEST_LABEL: group},
        },
        "spec": {"taints": taints},
        "status": {"capacity": resources, "allocatable": resources},
    }


def _gone(kube: Kube, path: str, timeout: float = 60) -> None:
    """Wait until ``path`` answers 404."""

    def check(_: Obj) -> bool:
        return False

    try:
        kube.wait_for(path, check, timeout)
    except ApiError as err:
        assert err.status == 404, err


@pytest.fixture(scope="module")
def nodes(kube: Kube, controller_manager: None) -> Iterator[dict[str, str]]:
    """Three Ready kwok nodes: ``plain`` and ``tainted`` (GPU taint) in group ``gpu``,
    ``other`` in another group. Deleted afterwards; their pods and Leases go with them."""
    tag = uuid.uuid4().hex[:6]
    created_taints.clear()
    made = {
        "plain": _node(f"kcm-{tag}-plain", f"gpu-{tag}", []),
        "tainted": _node(f"kcm-{tag}-tainted", f"gpu-{tag}", [GPU_TAINT]),
        "other": _node(f"kcm-{tag}-other", f"cpu-{tag}", []),
    }
    for role, node in made.items():
        created = kube.create(node)
        created_taints[role] = created["spec"].get("taints", [])
    for node in made.values():
        kube.wait_for(
            kube.object_path(node), lambda n: condition(n, "Ready").get("status") == "True"
        )
    yield {role: node["metadata"]["name"] for role, node in made.items()}
    for node in made.values():
        kube.delete(node)
    for node in made.values():
        name = node["metadata"]["name"]
        _gone(kube, f"/api/v1/nodes/{name}")
        # kwok's Lease is owned by its Node: the garbage collector removes it.
        _gone(kube, f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}")


# The taints each node of ``nodes`` had right after its create (admission's work).
created_taints: dict[str, list[Obj]] = {}
NOT_READY = "node.kubernetes.io/not-ready"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


def test_node_lifecycle_controller_keeps_kwok_nodes_schedulable(
    kube: Kube, nodes: dict[str, str]
) -> None:
    """TaintNodesByCondition puts the not-ready taint on every new Node; the node-lifecycle
    controller lifts it once kwok reports Ready, and leaves the nodes alone while kwok renews
    their Leases (no unreachable taint, nothing evicted)."""
    assert {t["key"] for t in created_taints["plain"]} == {NOT_READY}
    name = nodes["plain"]
    node = kube.wait_for(f"/api/v1/nodes/{name}", lambda n: not n["spec"].get("taints"))
    assert condition(node, "Ready")["status"] == "True"
    first = kube.get(f"{LEASES}/{name}")
    assert first["spec"]["leaseDurationSeconds"] == NODE_LEASE_SECONDS
    # kwok renews every --node-lease-duration-seconds / 4 (10 s), well inside the
    # controller's 50 s grace period.
    renewed = kube.wait_for(
        f"{LEASES}/{name}",
        lambda lease: lease["spec"]["renewTime"] != first["spec"]["renewTime"],
        timeout=30,
    )
    assert renewed["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
    tainted = kube.get(f"/api/v1/nodes/{nodes['tainted']}")
    assert tainted["spec"]["taints"] == [GPU_TAINT]


@pytest.fixture
def namespace(kube: Kube, controller_manager: None) -> Iterator[str]:
    name = "kcm-" + uuid.uuid4().hex[:6]
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    kube.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def _daemonset(namespace: str, name: str, group: str, tolerate: bool) -> Obj:
    labels = {"app": name}
    spec: Obj = {
        "nodeSelector": {TEST_LABEL: group},
        "containers": [
            {"name": "main", "image": "busybox", "resources": {"requests": {"cpu": "10m"}}}
        ],
    }
    if tolerate:
        spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists"}]
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": spec},
        },
    }


def _pods(kube: Kube, namespace: str, app: str) -> list[Obj]:
    found = kube.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector=f"app={app}")
    items: list[Obj] = found["items"]
    return items


def _settled(want: int):  # type: ignore[no-untyped-def]
    def check(ds: Obj) -> bool:
        status = ds.get("status", {})
        return bool(
            status.get("observedGeneration") == ds["metadata"]["generation"]
            and status.get("desiredNumberScheduled") == want
            and status.get("currentNumberScheduled") == want
            and status.get("numberReady") == want
            and status.get("numberAvailable") == want
        )

    return check


def test_daemonset_runs_one_ready_pod_per_matching_node(
    kube: Kube, nodes: dict[str, str], namespace: str
) -> None:
    group = kube.get(f"/api/v1/nodes/{nodes['plain']}")["metadata"]["labels"][TEST_LABEL]
    tolerant = _daemonset(namespace, "tolerant", group, tolerate=True)
    strict = _daemonset(namespace, "strict", group, tolerate=False)
    for ds in (tolerant, strict):
        kube.create(ds)
    # The GPU taint keeps the pod that does not tolerate it off the tainted node; the
    # nodeSelector keeps both off the node of the other group.
    tolerant = kube.wait_for(kube.object_path(tolerant), _settled(2), timeout=90)
    strict = kube.wait_for(kube.object_path(strict), _settled(1), timeout=90)
    placed = {p["spec"]["nodeName"] for p in _pods(kube, namespace, "tolerant")}
    assert placed == {nodes["plain"], nodes["tainted"]}
    assert [p["spec"]["nodeName"] for p in _pods(kube, namespace, "strict")] == [nodes["plain"]]
    for pod in _pods(kube, namespace, "tolerant"):
        assert pod["status"]["phase"] == "Running"
        owner = pod["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["uid"]) == ("DaemonSet", tolerant["metadata"]["uid"])
        # ServiceAccount admission gave it the namespace's default account and its token.
        assert pod["spec"]["serviceAccountName"] == "default"
        projected = [v for v in pod["spec"]["volumes"] if "projected" in v]
        sources = projected[0]["projected"]["sources"]
        assert any("serviceAccountToken" in s for s in sources)
    assert tolerant["status"]["numberMisscheduled"] == 0

    # Deleting the DaemonSet (background propagation) lets the garbage collector delete its
    # pods; kwok's pod-delete stage finishes them.
    kube.delete(tolerant)
    kube.wait_for(
        f"/api/v1/namespaces/{namespace}/pods",
        lambda found: not found["items"],
        timeout=60,
        labelSelector="app=tolerant",
    )
    assert len(_pods(kube, namespace, "strict")) == 1
    kube.delete(strict)


def _configmap(namespace: str, name: str, owner: Obj | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": namespace}
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
            }
        ]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


@pytest.mark.parametrize("policy", ["Background", "Foreground", "Orphan"])
def test_garbage_collector_follows_the_propagation_policy(
    kube: Kube, namespace: str, policy: str
) -> None:
    owner = kube.create(_configmap(namespace, "owner"))
    dependent = kube.create(_configmap(namespace, "dependent", owner))
    kube.request(
        "DELETE",
        kube.object_path(owner),
        {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": policy},
    )
    _gone(kube, kube.object_path(owner))
    if policy == "Orphan":
        # The garbage collector strips the reference, then lets the owner go.
        left = kube.get(kube.object_path(dependent))
        assert not left["metadata"].get("ownerReferences")
    else:
        _gone(kube, kube.object_path(dependent))


def test_namespace_delete_completes(kube: Kube, controller_manager: None) -> None:
    name = "kcm-ns-" + uuid.uuid4().hex[:6]
    ns = kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    # The serviceaccount and root-ca-cert-publisher controllers furnish every namespace.
    kube.wait_for(f"/api/v1/namespaces/{name}/serviceaccounts", lambda f: bool(f["items"]))
    kube.wait_for(
        f"/api/v1/namespaces/{name}/configmaps",
        lambda f: "kube-root-ca.crt" in {c["metadata"]["name"] for c in f["items"]},
    )
    kube.create(_configmap(name, "content"))
    unscheduled = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pending", "namespace": name},
        "spec": {
            "nodeSelector": {TEST_LABEL: "nowhere"},
            "containers": [{"name": "main", "image": "busybox"}],
        },
    }
    kube.create(unscheduled)
    kube.delete(ns)
    _gone(kube, f"/api/v1/namespaces/{name}", timeout=90)


def test_service_account_token_is_held_to_its_role(
    kube: Kube,
    controller_manager: None,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    namespace = "kcm-sa-" + uuid.uuid4().hex[:6]
    configmaps = f"/api/v1/namespaces/{namespace}/configmaps"
    bare = service_account_kubeconfig(namespace, "reader", [])
    who = Kube.from_kubeconfig(bare).request(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    user = f"system:serviceaccount:{namespace}:reader"
    assert who["status"]["userInfo"]["username"] == user
    with pytest.raises(ClusterAccessError) as denied:
        connect(bare).list(configmaps)
    assert denied.value.code == 403
    assert user in str(denied.value)

    rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]
    allowed = service_account_kubeconfig(namespace, "reader", rules)
    names = {c["metadata"]["name"] for c in connect(allowed).list(configmaps)}
    assert "kube-root-ca.crt" in names  # published there by the controller manager
    with pytest.raises(ClusterAccessError) as still:
        connect(allowed).list(f"/api/v1/namespaces/{namespace}/secrets")
    assert still.value.code == 403


def test_token_of_a_deleted_service_account_is_rejected(
    kube: Kube,
    controller_manager: None,
    service_account_kubeconfig: ServiceAccountKubeconfig,
) -> None:
    namespace = "kcm-sa-" + uuid.uuid4().hex[:6]
    config = service_account_kubeconfig(namespace, "gone", [])
    kube.delete(account_objects(namespace, "gone", [])[0])
    with pytest.raises(ClusterAccessError) as rejected:
        connect(config).get("/api/v1/namespaces")
    assert rejected.value.code == 401
