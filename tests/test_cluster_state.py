"""``ClusterState`` (``manifests/cluster_state.py``): the dump document it writes and reads back,
what "known" means, and the Karpenter version from its Deployment."""

from __future__ import annotations

from typing import Any

from builders import make_node, make_pod, make_workload
from eks_gpu.manifests.cluster_state import (
    KIND_DUMP,
    ClusterState,
    PodLog,
    controller_container,
    state_from_objects,
)
from eks_gpu.names import API_VERSION_EKS_GPU, LABEL_APP_NAME

Obj = dict[str, Any]


def karpenter(image: str) -> Obj:
    obj = make_workload("Deployment", "karpenter", namespace="kube-system")
    obj["metadata"]["labels"] = {LABEL_APP_NAME: "karpenter"}
    obj["spec"]["template"]["spec"]["containers"] = [{"name": "controller", "image": image}]
    return obj


def test_to_list_is_a_kubectl_list_header_first_kinds_sorted_logs_last() -> None:
    state = ClusterState(
        {"Pod": (make_pod("p"),), "Node": (make_node("n"),)},
        (PodLog("kube-system", "plugin", "ctr", "tail\n"),),
        frozenset({"Node", "Pod"}),
        {"NodeOverlay": "CRD not installed"},
        "context c",
        "2026-12-01T00:00:00Z",
        "1.14.1",
        ("Secrets and ConfigMaps: never read",),
    )
    document = state.to_list()
    assert (document["apiVersion"], document["kind"]) == ("v1", "List")
    kinds = [item["kind"] for item in document["items"]]
    assert kinds == [KIND_DUMP, "Node", "Pod", "PodLog"]
    header = document["items"][0]
    assert header == {
        "apiVersion": API_VERSION_EKS_GPU,
        "kind": KIND_DUMP,
        "metadata": {"name": "cluster-dump"},
        "source": "context c",
        "capturedAt": "2026-12-01T00:00:00Z",
        "readKinds": ["Node", "Pod"],
        "missing": {"NodeOverlay": "CRD not installed"},
        "karpenterVersion": "1.14.1",
        "redacted": ["Secrets and ConfigMaps: never read"],
    }
    assert document["items"][-1] == {
        "apiVersion": API_VERSION_EKS_GPU,
        "kind": "PodLog",
        "metadata": {"name": "plugin", "namespace": "kube-system"},
        "container": "ctr",
        "tail": "tail\n",
    }
    assert state_from_objects(document["items"]) == state


def test_known_kinds_with_and_without_a_header() -> None:
    dumped = state_from_objects(ClusterState({}, (), frozenset({"NodePool"})).to_list()["items"])
    assert dumped.knows("NodePool")  # read, none there
    assert not dumped.knows("NodeClaim")  # not read
    plain = state_from_objects([make_node("n")])
    assert plain.knows("Node") and not plain.knows("NodePool")
    missing = ClusterState(
        {"NodeMetrics": ()}, (), frozenset({"NodeMetrics"}), {"NodeMetrics": "x"}
    )
    assert not missing.knows("NodeMetrics")


def test_karpenter_version_from_plain_kubectl_output_and_from_the_header() -> None:
    deployment = karpenter("public.ecr.aws/karpenter/controller:1.14.1@sha256:abc")
    assert state_from_objects([deployment]).karpenter_version == "1.14.1"
    assert state_from_objects([make_workload("Deployment", "web")]).karpenter_version == ""
    header = ClusterState({}, (), None, {}, "", "", "1.0.0").header()
    assert state_from_objects([header, deployment]).karpenter_version == "1.0.0"  # header wins


def test_objects_of_other_groups_named_like_ours_are_objects() -> None:
    """Only eks-gpu.io/v1 ClusterDump and PodLog are ours; a CRD kind of the same name stays."""
    theirs = {"apiVersion": "example.com/v1", "kind": "PodLog", "metadata": {"name": "x"}}
    state = state_from_objects([theirs])
    assert state.of("PodLog") == (theirs,) and state.logs == ()


def test_controller_container() -> None:
    spec = {"containers": [{"name": "a"}, {"name": "controller"}]}
    assert controller_container(spec) == {"name": "controller"}
    assert controller_container({"containers": [{"name": "a"}]}) == {"name": "a"}
    assert controller_container({}) is None


def test_a_malformed_capture_time_is_an_error_not_a_silent_now() -> None:
    """Ages (status, doctor's idle-gpus) count from capturedAt: a bad one is refused."""
    import pytest

    from eks_gpu.manifests import ManifestError
    from eks_gpu.manifests.cluster_state import state_from_objects

    header = ClusterState(captured_at="2026-12-01T12:00:00Z").header()
    assert state_from_objects([header]).capture_time is not None
    header["capturedAt"] = "yesterday"
    with pytest.raises(ManifestError, match="capturedAt 'yesterday' is not an RFC 3339 time"):
        state_from_objects([header], source="dump.json")


def test_short_age_follows_kubectl() -> None:
    from eks_gpu.manifests.cluster_state import short_age

    assert [short_age(s) for s in (45, 119, 120, 7199, 7200, 172799, 172800)] == [
        "45s", "119s", "2m", "119m", "2h", "47h", "2d"
    ]  # fmt: skip
