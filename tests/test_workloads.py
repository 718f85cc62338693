"""Workloads expand to the pods the simulator places; DaemonSets become per-node overhead."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from builders import make_pod, make_spec, make_workload
from eks_gpu.manifests import ManifestError, parse_documents
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.scheduling.workloads import SimPod, expand_workloads

D = Decimal
Mi = 1024**2


def refs(pods: list[SimPod]) -> list[str]:
    return [pod.ref for pod in pods]


# --- expansion ------------------------------------------------------------------------

EXPANSION = [
    # (id, object, pod refs, owner)
    ("pod", make_pod("trainer"), ["default/trainer"], None),
    ("pod in the default namespace", make_pod("p", namespace=None), ["default/p"], None),
    (
        "deployment replicas",
        make_workload("Deployment", "web", replicas=3),
        ["default/web-0", "default/web-1", "default/web-2"],
        "Deployment/default/web",
    ),
    (
        "deployment default 1 replica",
        make_workload("Deployment", "web"),
        ["default/web-0"],
        "Deployment/default/web",
    ),
    ("deployment replicas 0", make_workload("Deployment", "web", replicas=0), [], None),
    (
        "statefulset ordinals",
        make_workload("StatefulSet", "db", replicas=2),
        ["default/db-0", "default/db-1"],
        "StatefulSet/default/db",
    ),
    (
        "replicaset",
        make_workload("ReplicaSet", "rs", replicas=2),
        ["default/rs-0", "default/rs-1"],
        "ReplicaSet/default/rs",
    ),
    (
        "job default parallelism 1",
        make_workload("Job", "train"),
        ["default/train-0"],
        "Job/default/train",
    ),
    (
        "job parallelism",
        make_workload("Job", "train", parallelism=4, completions=10),
        ["default/train-0", "default/train-1", "default/train-2", "default/train-3"],
        "Job/default/train",
    ),
    (
        "job completions below parallelism",
        make_workload("Job", "train", parallelism=4, completions=2),
        ["default/train-0", "default/train-1"],
        "Job/default/train",
    ),
    (
        "job completions only",
        make_workload("Job", "train", completions=5),
        ["default/train-0"],
        "Job/default/train",
    ),
    ("job parallelism 0", make_workload("Job", "train", parallelism=0), [], None),
    ("job suspended", make_workload("Job", "train", parallelism=2, suspend=True), [], None),
    (
        "cronjob: one job",
        make_workload("CronJob", "nightly"),
        ["default/nightly-0"],
        "CronJob/default/nightly",
    ),
    (
        "cronjob job parallelism",
        make_workload("CronJob", "nightly", job={"parallelism": 2}),
        ["default/nightly-0", "default/nightly-1"],
        "CronJob/default/nightly",
    ),
    ("cronjob suspended", make_workload("CronJob", "nightly", suspend=True), [], None),
]


@pytest.mark.parametrize(
    ("obj", "expected", "owner"), [c[1:] for c in EXPANSION], ids=[c[0] for c in EXPANSION]
)
def test_expand_workloads(obj: dict[str, Any], expected: list[str], owner: str | None) -> None:
    pods, daemonsets, _ = expand_workloads([obj])
    assert refs(pods) == expected
    assert daemonsets == []
    assert all(pod.owner == owner for pod in pods)


def test_pods_carry_spec_and_requests() -> None:
    pods, _, notes = expand_workloads(
        [
            make_workload(
                "Deployment", "llm", replicas=2, pod=make_spec(cpu="4", memory="16Gi", gpus=1)
            )
        ]
    )
    pod = pods[0]
    assert pod.requests == {
        "cpu": D(4),
        "memory": D(16 * 1024 * Mi),
        "nvidia.com/gpu": D(1),
        "pods": D(1),
    }
    assert pod.gpus == D(1)
    assert pods[1].view is pod.view, "replicas share one parsed view"
    assert pod.not_simulated == ()
    assert notes == []


def test_sim_pod_from_spec_and_identity() -> None:
    pod = SimPod.from_spec(
        "ns", "p", make_spec(cpu="1", topologySpreadConstraints=[{"maxSkew": 1}])
    )
    assert pod.ref == "ns/p"
    assert pod.gpus == D(0)
    assert pod.requests["cpu"] == D(1)
    assert pod.not_simulated == ("topologySpreadConstraints",)
    assert pod == SimPod.from_spec(
        "ns", "p", make_spec(cpu="1", topologySpreadConstraints=[{"maxSkew": 1}])
    )
    assert len({pod, pod}) == 1, "hashable despite the dict fields"


def test_zero_pods_get_a_note() -> None:
    _, _, notes = expand_workloads(
        [make_workload("Deployment", "web", replicas=0), make_workload("Job", "j", suspend=True)]
    )
    assert notes == [
        "Deployment/default/web: scaled to 0; no pods",
        "Job/default/j: suspended; no pods",
    ]


def test_input_order_is_kept() -> None:
    pods, _, _ = expand_workloads(
        [make_pod("z"), make_workload("Deployment", "a", replicas=1), make_pod("b")]
    )
    assert refs(pods) == ["default/z", "default/a-0", "default/b"]


def test_manifests_and_lists_are_accepted() -> None:
    text = """
kind: List
items:
- {kind: Pod, metadata: {name: a}, spec: {containers: [{name: c}]}}
- {kind: Pod, metadata: {name: b}, spec: {containers: [{name: c}]}}
"""
    pods, _, _ = expand_workloads(parse_documents(text, "w.yaml"))
    assert refs(pods) == ["default/a", "default/b"]
    nested = {"kind": "List", "items": [make_pod("c")]}
    assert refs(expand_workloads([nested])[0]) == ["default/c"]


def test_other_kinds_are_ignored_with_a_note() -> None:
    service = {"kind": "Service", "metadata": {"name": "web", "namespace": "team"}}
    pods, _, notes = expand_workloads([service, {"metadata": {"name": "x"}}])
    assert pods == []
    assert notes == [
        "Service/team/web: not a workload; ignored",
        "object/default/x: not a workload; ignored",
    ]


def test_owned_objects_given_with_their_owner_count_once() -> None:
    deployment = make_workload("Deployment", "web", replicas=2)
    replicaset = make_workload("ReplicaSet", "web-5d8f", replicas=2, owner=("Deployment", "web"))
    lone = make_workload("ReplicaSet", "api-1", owner=("Deployment", "api"))
    pods, _, notes = expand_workloads([deployment, replicaset, lone])
    assert refs(pods) == ["default/web-0", "default/web-1", "default/api-1-0"]
    assert notes == [
        "ReplicaSet/default/web-5d8f: owned by Deployment/default/web, also given; counted once"
    ]


UNSIMULATED = [
    # (id, spec fields, constraints)
    (
        "topology spread",
        {"topologySpreadConstraints": [{"maxSkew": 1}]},
        ("topologySpreadConstraints",),
    ),
    (
        "pod affinity",
        {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{}]}}},
        ("podAffinity",),
    ),
    (
        "pod anti-affinity and spread",
        {
            "topologySpreadConstraints": [{"maxSkew": 1}],
            "affinity": {
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{}]}
            },
        },
        ("topologySpreadConstraints", "podAntiAffinity"),
    ),
    ("node affinity is simulated", {"affinity": {"nodeAffinity": {"x": 1}}}, ()),
    ("empty spread list", {"topologySpreadConstraints": []}, ()),
]


@pytest.mark.parametrize(
    ("extra", "constraints"), [c[1:] for c in UNSIMULATED], ids=[c[0] for c in UNSIMULATED]
)
def test_unsimulated_constraints_on_a_pod(
    extra: dict[str, Any], constraints: tuple[str, ...]
) -> None:
    pods, _, notes = expand_workloads([make_pod("p", **extra)])
    assert len(pods) == 1, "the pod is still placed"
    assert pods[0].not_simulated == constraints
    if constraints:
        shown = ", ".join(constraints)
        assert notes == [f"pod default/p: {shown} not simulated; placed as if without them"]
    else:
        assert notes == []


def test_unsimulated_note_names_a_workloads_pods_once() -> None:
    spread = make_spec(topologySpreadConstraints=[{"maxSkew": 1}])
    pods, _, notes = expand_workloads(
        [
            make_workload("Deployment", "web", replicas=3, pod=spread),
            make_workload("StatefulSet", "db", pod=spread),
        ]
    )
    assert all(pod.not_simulated == ("topologySpreadConstraints",) for pod in pods)
    assert notes == [
        "3 pods default/web-0..default/web-2 (Deployment/default/web): "
        "topologySpreadConstraints not simulated; placed as if without them",
        "pod default/db-0 (StatefulSet/default/db): "
        "topologySpreadConstraints not simulated; placed as if without them",
    ]


BAD_WORKLOADS = [
    (
        make_workload("Deployment", "web", replicas=-1),
        "Deployment/default/web: spec.replicas must be a non-negative integer, got -1",
    ),
    (
        make_workload("Deployment", "web", replicas="3"),
        "spec.replicas must be a non-negative integer, got '3'",
    ),
    (
        make_workload("StatefulSet", "db", replicas=True),
        "spec.replicas must be a non-negative integer, got True",
    ),
    (make_workload("Job", "j", parallelism=1.5), "spec.parallelism must be a non-negative integer"),
    (
        make_workload("CronJob", "c", job={"completions": -2}),
        "spec.jobTemplate.spec.completions must be",
    ),
    (
        {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {}},
        "Deployment/default/web: spec.template.spec is missing",
    ),
    ({"kind": "Pod", "metadata": {"name": "p"}}, "Pod/default/p: spec is missing"),
    (
        {"kind": "CronJob", "metadata": {"name": "c"}, "spec": {}},
        "spec.jobTemplate.spec.template.spec is missing",
    ),
    (make_pod("", cpu="1"), "metadata.name is missing"),
    (
        make_pod("p", cpu="one"),
        r"Pod/default/p: pod spec: containers\[0\]\.resources\.requests\.cpu: 'one'",
    ),
    (
        make_workload("DaemonSet", "ds", pod=make_spec(memory="1 Gi")),
        "DaemonSet/default/ds: pod spec: containers",
    ),
    (  # EKS admission leaves unreadable tolerations for the pod view to report
        make_pod("p", gpus=1, tolerations=["bad"]),
        r"Pod/default/p: pod spec: spec\.tolerations\[0\]: must be a mapping",
    ),
]


@pytest.mark.parametrize(("obj", "message"), BAD_WORKLOADS)
def test_bad_workloads_name_object_and_field(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        expand_workloads([obj])


def test_errors_name_the_source_file() -> None:
    text = """
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, resources: {requests: {cpu: x}}}]}
"""
    manifests = parse_documents(text, "pods.yaml")
    with pytest.raises(ManifestError, match=r"^pods\.yaml: Pod/default/p: "):
        expand_workloads(manifests)


# --- DaemonSets -----------------------------------------------------------------------


def test_daemonsets_are_returned_apart_from_pods() -> None:
    ds = make_workload("DaemonSet", "logs")
    pods, daemonsets, notes = expand_workloads([ds, make_pod("p")])
    assert refs(pods) == ["default/p"]
    assert daemonsets == [PodView.from_spec(ds["spec"]["template"]["spec"])]
    assert notes == []


def test_bad_node_affinity_names_the_object_and_field() -> None:
    bad = make_pod("p", affinity_terms=[[{"key": "a", "operator": "Gt", "values": ["x"]}]])
    with pytest.raises(ManifestError, match=r"Pod/default/p: pod spec\.affinity\.nodeAffinity"):
        expand_workloads([bad])
