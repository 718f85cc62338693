"""EKS's ExtendedResourceToleration admission (``scheduling.admission``) and where it applies.

The cases follow k8s.io/kubernetes v1.35:
``plugin/pkg/admission/extendedresourcetoleration/admission.go`` (``Admit``) and its
``admission_test.go`` table, ``pkg/apis/core/helper/helpers.go`` (``IsExtendedResourceName``,
``IsNativeResource``, ``AddOrUpdateTolerationInPod``), ``pkg/apis/core/toleration.go``
(``MatchToleration``) and ``pkg/apis/core/v1/defaults.go`` (``SetDefaults_Pod``: limits
default requests before admission).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from builders import GPU_TAINT, make_daemonset, make_nodepool, make_pod, make_spec, make_workload
from eks_gpu.commands import plan as plan_command
from eks_gpu.loaders.price_cache import load_price_book
from eks_gpu.manifests import Manifest, ManifestSet
from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.admission import (
    add_or_update_toleration,
    admit,
    extended_resources,
    is_extended_resource_name,
)
from eks_gpu.scheduling.simulate import Inputs, build_pools, simulate
from eks_gpu.scheduling.workloads import expand_workloads
from eks_gpu.validate.rules import RULES_BY_ID
from environment import empty_workdir

Obj = dict[str, Any]
GPU_ADMITTED: Obj = {"key": RESOURCE_NVIDIA_GPU, "operator": "Exists", "effect": "NoSchedule"}


def containers(*resources: Obj, field: str = "containers") -> Obj:
    """A pod spec whose containers (or init containers) have these ``resources``."""
    return {field: [{"name": f"c{i}", "image": "x", "resources": r} for i, r in
                    enumerate(resources)]}  # fmt: skip


# --- IsExtendedResourceName ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "extended"),
    [
        (RESOURCE_NVIDIA_GPU, True),
        ("aws.amazon.com/neuron", True),
        ("example.com/" + "a" * 63, True),
        ("cpu", False),  # no "/": native
        ("hugepages-2Mi", False),
        ("ephemeral-storage", False),
        ("kubernetes.io/foo", False),  # IsNativeResource: Contains "kubernetes.io/"
        ("foo.kubernetes.io/bar", False),  # ... anywhere in the name
        ("requests.example.com/foo", False),  # the quota prefix
        ("example.com/", False),  # empty name part
        ("example.com/" + "a" * 64, False),  # name part over 63
        ("Example.com/gpu", False),  # the prefix must be a lowercase DNS-1123 subdomain
        ("example.com/-gpu", False),  # the name must start with an alphanumeric
        ("a/b/c", False),  # more than one "/"
    ],
)
def test_is_extended_resource_name(name: str, extended: bool) -> None:
    assert is_extended_resource_name(name) is extended


# --- Admit: upstream's admission_test.go cases ---------------------------------------------


def test_a_pod_without_extended_resources_is_unchanged() -> None:
    spec = containers({"requests": {"cpu": "1", "memory": "1Gi"}})
    admitted = admit(spec)
    assert admitted.spec is spec and admitted.added == ()


@pytest.mark.parametrize("field", ["containers", "initContainers"])
def test_a_container_or_init_container_with_an_extended_resource_gets_the_toleration(
    field: str,
) -> None:
    admitted = admit(containers({"requests": {RESOURCE_NVIDIA_GPU: "1"}}, field=field))
    assert admitted.spec["tolerations"] == [GPU_ADMITTED]
    assert admitted.added == (GPU_ADMITTED,)


def test_a_limit_alone_is_a_request_after_defaulting() -> None:
    """SetDefaults_Pod copies limits to missing requests before admission runs."""
    admitted = admit(containers({"limits": {RESOURCE_NVIDIA_GPU: "1"}}))
    assert admitted.added == (GPU_ADMITTED,)


def test_existing_tolerations_are_kept_and_the_new_one_appended() -> None:
    own = {"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"}
    spec = {**containers({"requests": {RESOURCE_NVIDIA_GPU: "1"}}), "tolerations": [own]}
    assert admit(spec).spec["tolerations"] == [own, GPU_ADMITTED]


def test_several_extended_resources_are_added_in_sorted_order() -> None:
    spec = containers({"limits": {"example.com/b": "1"}}, {"requests": {"example.com/a": "1"}})
    assert extended_resources(spec) == ["example.com/a", "example.com/b"]
    assert [t["key"] for t in admit(spec).spec["tolerations"]] == ["example.com/a", "example.com/b"]


def test_an_identical_toleration_means_no_change() -> None:
    spec = {**containers({"requests": {RESOURCE_NVIDIA_GPU: "1"}}), "tolerations": [GPU_ADMITTED]}
    admitted = admit(spec)
    assert admitted.spec["tolerations"] == [GPU_ADMITTED] and admitted.added == ()


@pytest.mark.parametrize(
    "other",
    [
        {"key": RESOURCE_NVIDIA_GPU, "operator": "Equal", "value": "true", "effect": "NoSchedule"},
        {"key": RESOURCE_NVIDIA_GPU, "operator": "Exists", "effect": "NoExecute"},
        {"key": RESOURCE_NVIDIA_GPU, "effect": "NoSchedule"},  # operator "" is not Exists
        {"operator": "Exists"},  # a wildcard tolerates it, but does not *match* (MatchToleration)
    ],
)
def test_a_toleration_that_differs_in_any_matched_field_stays_and_one_is_added(other: Obj) -> None:
    spec = {**containers({"requests": {RESOURCE_NVIDIA_GPU: "1"}}), "tolerations": [other]}
    assert admit(spec).spec["tolerations"] == [other, GPU_ADMITTED]


def test_a_matching_toleration_is_replaced_in_place() -> None:
    """AddOrUpdateTolerationInPod's "identical" short cut compares *Toleration with
    Toleration (never equal types), so a match is always replaced by the plugin's own."""
    timed = {**GPU_ADMITTED, "tolerationSeconds": 30}
    first = {"key": "a", "operator": "Exists"}
    assert add_or_update_toleration([first, timed], GPU_ADMITTED) == ((first, GPU_ADMITTED), False)


def test_pod_level_resources_are_not_read() -> None:
    """Admit reads containers and init containers only."""
    spec = {
        **containers({"requests": {"cpu": "1"}}),
        "resources": {"limits": {RESOURCE_NVIDIA_GPU: "1"}},
    }
    assert admit(spec).added == ()


def test_admission_is_idempotent_and_leaves_its_input_alone() -> None:
    """A pod read from a live cluster went through it already: nothing changes again."""
    spec = make_spec(gpus=1, tolerations=[])
    before = copy.deepcopy(spec)
    once = admit(spec)
    assert spec == before
    twice = admit(once.spec)
    assert twice.spec["tolerations"] == once.spec["tolerations"] and twice.added == ()


def test_unreadable_tolerations_are_left_for_the_pod_view_to_report() -> None:
    spec = {**containers({"requests": {RESOURCE_NVIDIA_GPU: "1"}}), "tolerations": "none"}
    assert admit(spec).spec is spec


# --- the simulator ---------------------------------------------------------------------------


GUIDE_POOL = make_nodepool("gpu", taints=[GPU_TAINT])


def inputs(workloads: list[Obj], eks_admission: bool = True) -> Inputs:
    return Inputs([GUIDE_POOL], [], workloads, load_price_book(), eks_admission=eks_admission)


def test_a_gpu_pod_without_toleration_is_placed_on_the_tainted_pool() -> None:
    pod = make_pod("p", gpus=1, tolerations=[])
    document = simulate(inputs([pod])).document
    assert document["unschedulable"] == [] and len(document["nodeclaims"]) == 1

    off = simulate(inputs([pod], eks_admission=False)).document
    (entry,) = off["unschedulable"]
    assert [r["code"] for r in entry["reasons"]] == ["taint-not-tolerated"]


def test_the_added_tolerations_are_listed_once_naming_every_workload() -> None:
    deployment = make_workload(
        "Deployment", "web", pod=make_spec(gpus=1, tolerations=[]), replicas=3
    )
    daemon = make_daemonset("gpu-agent", gpus=1, tolerations=[])
    tolerant = make_pod("ok", gpus=1)
    scaled_to_zero = make_workload(
        "Deployment", "idle", pod=make_spec(gpus=1, tolerations=[]), replicas=0
    )
    _, _, notes = expand_workloads([deployment, daemon, tolerant, scaled_to_zero])
    assert notes[-1] == (
        "EKS admission (ExtendedResourceToleration) adds {key: nvidia.com/gpu, operator: "
        "Exists, effect: NoSchedule} to the pods of Deployment/default/web, "
        "DaemonSet/kube-system/gpu-agent"
    )
    assert not any("EKS admission" in note for note in expand_workloads(
        [deployment, daemon], eks_admission=False)[2])  # fmt: skip


def test_daemonset_pods_are_admitted_too() -> None:
    """Karpenter counts a DaemonSet by its running pod when there is one
    (Provisioner.getDaemonSetPods), and that pod was admitted: a daemon asking for
    nvidia.com/gpu counts on the GPU pool's nodes."""
    daemon = make_daemonset("gpu-agent", cpu="1", memory="1Gi", gpus=1, tolerations=[])
    (view,) = expand_workloads([daemon])[1]
    assert GPU_ADMITTED in view.tolerations
    (pool,) = build_pools(inputs([daemon]), [view])
    assert pool.types and all(pool.overhead_for(t.name).get("cpu") == 1 for t in pool.types)

    (bare,) = expand_workloads([daemon], eks_admission=False)[1]
    (pool,) = build_pools(inputs([daemon], eks_admission=False), [bare])
    assert all(not pool.overhead_for(t.name) for t in pool.types)


# --- validate --------------------------------------------------------------------------------


def lint(*objs: Obj, eks_admission: bool = True) -> list[Any]:
    manifests = ManifestSet([Manifest(o, "t.yaml", i) for i, o in enumerate(objs)], eks_admission)
    return list(RULES_BY_ID["workload-selector-unsatisfiable"].check(manifests))


def test_validate_passes_the_pod_and_says_why() -> None:
    pod = make_pod("p", gpus=1, tolerations=[])
    (note,) = lint(GUIDE_POOL, pod)
    assert note.severity == "info" and note.path == ".spec.tolerations"
    assert "ExtendedResourceToleration admission adds {key: nvidia.com/gpu" in note.message
    assert "tolerates no GPU pool's taints" in note.message
    (error,) = lint(GUIDE_POOL, pod, eks_admission=False)
    assert error.severity == "error"


def test_validate_is_silent_when_the_pod_tolerates_on_its_own() -> None:
    assert lint(GUIDE_POOL, make_pod("p", gpus=1)) == []


def test_plan_passes_the_switch_to_validate_and_simulate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_workdir(tmp_path, monkeypatch)
    seen: dict[str, Any] = {}

    def spy(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen[name] = kwargs.get("eks_admission")
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(plan_command, "validate", spy("validate", plan_command.validate))
    monkeypatch.setattr(plan_command, "simulate", spy("simulate", plan_command.simulate))
    result = plan_command.plan(eks_admission=False, skip_crd_checks=True)
    assert seen == {"validate": False, "simulate": False}
    assert any(a.startswith("no EKS admission") for a in result.simulation.document["assumptions"])
