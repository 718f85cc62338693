"""Workloads expand to the pods the simulator places; DaemonSets become per-node overhead."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from eks_gpu.manifests import ManifestError, parse_documents
from eks_gpu.scheduling.workloads import (
    SimPod,
    daemonset_overhead,
    daemonset_reason,
    expand_workloads,
)

D = Decimal
Mi = 1024**2
NVIDIA_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
GPU_COUNT = "karpenter.k8s.aws/instance-gpu-count"


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' toleration match, small and local (the real one lives in taints.py)."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    if toleration.get("operator") == "Exists":
        return True
    return bool(toleration.get("value", "") == taint.get("value", ""))


def make_spec(
    *,
    cpu: str = "500m",
    memory: str = "256Mi",
    gpus: int = 0,
    tolerations: list[dict[str, Any]] | None = None,
    node_selector: dict[str, str] | None = None,
    affinity: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A pod spec; the happy GPU pod is ``make_spec(gpus=1, tolerations=[GPU_TOLERATION])``."""
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": memory}}
    if gpus:
        resources["limits"] = {"nvidia.com/gpu": gpus}
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "app", "resources": resources}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    if node_selector is not None:
        spec["nodeSelector"] = node_selector
    if affinity is not None:
        spec["affinity"] = affinity
    spec.update(extra)
    return spec


def make_pod(name: str = "p", namespace: str | None = "team", **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": make_spec(**spec)}


def make_workload(
    kind: str,
    name: str = "w",
    namespace: str | None = "team",
    owner: dict[str, Any] | None = None,
    pod: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A Deployment/StatefulSet/ReplicaSet/Job/DaemonSet/CronJob with ``fields`` in its spec."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if owner is not None:
        metadata["ownerReferences"] = [{**owner, "controller": True}]
    template = {"metadata": {"labels": {"app": name}}, "spec": pod or make_spec()}
    if kind == "CronJob":
        job_spec = {"template": template, **fields.pop("job", {})}
        spec: dict[str, Any] = {"schedule": "@hourly", "jobTemplate": {"spec": job_spec}, **fields}
    else:
        spec = {"template": template, **fields}
    return {"kind": kind, "metadata": metadata, "spec": spec}


def refs(pods: list[SimPod]) -> list[str]:
    return [pod.ref for pod in pods]


# --- expansion ------------------------------------------------------------------------

EXPANSION = [
    # (id, object, pod refs, owner)
    ("pod", make_pod("trainer"), ["team/trainer"], None),
    ("pod in the default namespace", make_pod("p", namespace=None), ["default/p"], None),
    (
        "deployment replicas",
        make_workload("Deployment", "web", replicas=3),
        ["team/web-0", "team/web-1", "team/web-2"],
        "Deployment/team/web",
    ),
    (
        "deployment default 1 replica",
        make_workload("Deployment", "web"),
        ["team/web-0"],
        "Deployment/team/web",
    ),
    ("deployment replicas 0", make_workload("Deployment", "web", replicas=0), [], None),
    (
        "statefulset ordinals",
        make_workload("StatefulSet", "db", replicas=2),
        ["team/db-0", "team/db-1"],
        "StatefulSet/team/db",
    ),
    (
        "replicaset",
        make_workload("ReplicaSet", "rs", replicas=2),
        ["team/rs-0", "team/rs-1"],
        "ReplicaSet/team/rs",
    ),
    (
        "job default parallelism 1",
        make_workload("Job", "train"),
        ["team/train-0"],
        "Job/team/train",
    ),
    (
        "job parallelism",
        make_workload("Job", "train", parallelism=4, completions=10),
        ["team/train-0", "team/train-1", "team/train-2", "team/train-3"],
        "Job/team/train",
    ),
    (
        "job completions below parallelism",
        make_workload("Job", "train", parallelism=4, completions=2),
        ["team/train-0", "team/train-1"],
        "Job/team/train",
    ),
    (
        "job completions only",
        make_workload("Job", "train", completions=5),
        ["team/train-0"],
        "Job/team/train",
    ),
    ("job parallelism 0", make_workload("Job", "train", parallelism=0), [], None),
    ("job suspended", make_workload("Job", "train", parallelism=2, suspend=True), [], None),
    (
        "cronjob: one job",
        make_workload("CronJob", "nightly"),
        ["team/nightly-0"],
        "CronJob/team/nightly",
    ),
    (
        "cronjob job parallelism",
        make_workload("CronJob", "nightly", job={"parallelism": 2}),
        ["team/nightly-0", "team/nightly-1"],
        "CronJob/team/nightly",
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
    assert pod.spec["containers"][0]["name"] == "app"
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
    assert notes == ["Deployment/team/web: scaled to 0; no pods", "Job/team/j: suspended; no pods"]


def test_input_order_is_kept() -> None:
    pods, _, _ = expand_workloads(
        [make_pod("z"), make_workload("Deployment", "a", replicas=1), make_pod("b")]
    )
    assert refs(pods) == ["team/z", "team/a-0", "team/b"]


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
    assert refs(expand_workloads([nested])[0]) == ["team/c"]


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
    replicaset = make_workload(
        "ReplicaSet", "web-5d8f", replicas=2, owner={"kind": "Deployment", "name": "web"}
    )
    lone = make_workload("ReplicaSet", "api-1", owner={"kind": "Deployment", "name": "api"})
    pods, _, notes = expand_workloads([deployment, replicaset, lone])
    assert refs(pods) == ["team/web-0", "team/web-1", "team/api-1-0"]
    assert notes == [
        "ReplicaSet/team/web-5d8f: owned by Deployment/team/web, also given; counted once"
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
        assert notes == [f"pod team/p: {shown} not simulated; placed as if without them"]
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
        "3 pods team/web-0..team/web-2 (Deployment/team/web): "
        "topologySpreadConstraints not simulated; placed as if without them",
        "pod team/db-0 (StatefulSet/team/db): "
        "topologySpreadConstraints not simulated; placed as if without them",
    ]


BAD_WORKLOADS = [
    (
        make_workload("Deployment", "web", replicas=-1),
        "Deployment/team/web: spec.replicas must be a non-negative integer, got -1",
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
        r"Pod/team/p: pod spec: containers\[0\]\.resources\.requests\.cpu: 'one'",
    ),
    (
        make_workload("DaemonSet", "ds", pod=make_spec(memory="1 Gi")),
        "DaemonSet/team/ds: pod spec: containers",
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
    assert refs(pods) == ["team/p"]
    assert daemonsets == [ds]
    assert notes == []


GPU_LABELS = {GPU_COUNT: "1", "kubernetes.io/arch": "amd64", "karpenter.sh/nodepool": "gpu"}
CPU_LABELS = {"kubernetes.io/arch": "arm64", "karpenter.sh/nodepool": "default"}


def required_affinity(*terms: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": term} for term in terms]
            }
        }
    }


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": list(values)}


DAEMONSET_FIT = [
    # (id, pod spec, labels, taints, reason or None)
    ("plain on an untainted node", make_spec(), CPU_LABELS, [], None),
    (
        "plain kept off the GPU taint",
        make_spec(),
        GPU_LABELS,
        [NVIDIA_TAINT],
        "taint nvidia.com/gpu=true:NoSchedule not tolerated",
    ),
    (
        "tolerating runs on the GPU node",
        make_spec(tolerations=[GPU_TOLERATION]),
        GPU_LABELS,
        [NVIDIA_TAINT],
        None,
    ),
    (
        "tolerate-everything runs anywhere",
        make_spec(tolerations=[{"operator": "Exists"}]),
        GPU_LABELS,
        [NVIDIA_TAINT],
        None,
    ),
    (
        "PreferNoSchedule never keeps a daemon away",
        make_spec(),
        CPU_LABELS,
        [{"key": "spot", "effect": "PreferNoSchedule"}],
        None,
    ),
    (
        "NoExecute must be tolerated",
        make_spec(),
        CPU_LABELS,
        [{"key": "dedicated", "value": "ml", "effect": "NoExecute"}],
        "taint dedicated=ml:NoExecute not tolerated",
    ),
    (
        "the controller's own tolerations count",
        make_spec(),
        CPU_LABELS,
        [
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
        ],
        None,
    ),
    (
        "network-unavailable only for host network",
        make_spec(),
        CPU_LABELS,
        [{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}],
        "taint node.kubernetes.io/network-unavailable:NoSchedule not tolerated",
    ),
    (
        "host network tolerates network-unavailable",
        make_spec(hostNetwork=True),
        CPU_LABELS,
        [{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}],
        None,
    ),
    (
        "nodeSelector matches",
        make_spec(node_selector={"kubernetes.io/arch": "amd64"}),
        GPU_LABELS,
        [],
        None,
    ),
    (
        "nodeSelector misses",
        make_spec(node_selector={"kubernetes.io/arch": "amd64"}),
        CPU_LABELS,
        [],
        "nodeSelector: label kubernetes.io/arch is \"arm64\", not In ['amd64']",
    ),
    (
        "nodeSelector on an old alias",
        make_spec(node_selector={"beta.kubernetes.io/arch": "amd64"}),
        GPU_LABELS,
        [],
        None,
    ),
    (
        "nodeSelector label absent",
        make_spec(node_selector={"gpu": "true"}),
        GPU_LABELS,
        [],
        "nodeSelector: label gpu is absent, not In ['true']",
    ),
    (
        "affinity holds",
        make_spec(affinity=required_affinity([expr(GPU_COUNT, "Gt", "0")])),
        GPU_LABELS,
        [],
        None,
    ),
    (
        "affinity fails",
        make_spec(affinity=required_affinity([expr(GPU_COUNT, "Gt", "0")])),
        CPU_LABELS,
        [],
        f"required node affinity: label {GPU_COUNT} is absent, not Gt 0",
    ),
    (
        "affinity terms are ORed",
        make_spec(
            affinity=required_affinity(
                [expr(GPU_COUNT, "Gt", "0")], [expr("kubernetes.io/arch", "In", "arm64")]
            )
        ),
        CPU_LABELS,
        [],
        None,
    ),
    (
        "expressions in a term are ANDed",
        make_spec(
            affinity=required_affinity(
                [expr("kubernetes.io/arch", "In", "arm64"), expr(GPU_COUNT, "Exists")]
            )
        ),
        CPU_LABELS,
        [],
        f"required node affinity: label {GPU_COUNT} is absent, not Exists",
    ),
    (
        "an empty term matches nothing",
        make_spec(affinity=required_affinity([])),
        CPU_LABELS,
        [],
        "required node affinity: an empty node selector term matches no node",
    ),
    (
        "preferred affinity does not restrict",
        make_spec(
            affinity={
                "nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}
            }
        ),
        CPU_LABELS,
        [],
        None,
    ),
]


@pytest.mark.parametrize(
    ("spec", "labels", "taints", "reason"),
    [c[1:] for c in DAEMONSET_FIT],
    ids=[c[0] for c in DAEMONSET_FIT],
)
def test_daemonset_reason(
    spec: dict[str, Any], labels: dict[str, str], taints: list[dict[str, Any]], reason: str | None
) -> None:
    ds = make_workload("DaemonSet", "ds", pod=spec)
    assert daemonset_reason(ds, labels, taints, tolerates) == reason
    overhead = daemonset_overhead([ds], labels, taints, tolerates)
    assert overhead == ({} if reason else {"cpu": D("0.5"), "memory": D(256 * Mi), "pods": D(1)})


def test_daemonset_overhead_sums_the_daemons_that_run() -> None:
    everywhere = make_workload(
        "DaemonSet",
        "kube-proxy",
        pod=make_spec(cpu="100m", memory="128Mi", tolerations=[{"operator": "Exists"}]),
    )
    cpu_only = make_workload("DaemonSet", "cpu-agent", pod=make_spec(cpu="200m", memory="64Mi"))
    device_plugin = make_workload(
        "DaemonSet",
        "nvidia-device-plugin",
        pod=make_spec(
            cpu="50m",
            memory="100Mi",
            tolerations=[GPU_TOLERATION],
            affinity=required_affinity([expr(GPU_COUNT, "Gt", "0")]),
        ),
    )
    daemonsets = [everywhere, cpu_only, device_plugin]
    gpu = daemonset_overhead(daemonsets, GPU_LABELS, [NVIDIA_TAINT], tolerates)
    assert gpu == {"cpu": D("0.15"), "memory": D(228 * Mi), "pods": D(2)}
    cpu = daemonset_overhead(daemonsets, CPU_LABELS, [], tolerates)
    assert cpu == {"cpu": D("0.3"), "memory": D(192 * Mi), "pods": D(2)}
    assert daemonset_overhead([], GPU_LABELS, [], tolerates) == {}
