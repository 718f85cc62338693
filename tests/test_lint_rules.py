"""GPU lint rules: a failing and a passing case for each, rendered sets clean, the id contract."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from builders import (
    GPU_TAINT,
    GPU_TOLERATION,
    expr,
    make_nodeclass,
    make_nodepool,
    make_pod,
    make_spec,
    make_workload,
)
from eks_gpu.config.parse import config_from_data
from eks_gpu.config.profiles import PROFILES, profile_config
from eks_gpu.manifests import Manifest, ManifestSet, pod_spec_of
from eks_gpu.render.bundle import render_all
from eks_gpu.scheduling.taints import tolerates
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules import ALL_RULES, RULES_BY_ID, run_lint
from eks_gpu.validate.rules.cuda_images import (
    CudaBuild,
    command_build,
    drops_volta,
    image_build,
)
from eks_gpu.validate.rules.device_plugin import fails_on_init_by_default, image_version
from eks_gpu.validate.rules.root_volume_small import size_bytes

CONTRACT_IDS = {
    "gpu-pool-untainted",
    "device-plugin-untolerated-taint",
    "device-plugin-crashloop-cpu-nodes",
    "workload-selector-unsatisfiable",
    "gpu-limit-missing",
    "raid0-without-instance-store",
    "non-nvidia-gpu-family",
    "fractional-gpu-family",
    "cuda-arch-unsupported",
    "ami-unpinned",
    "arch-mismatch",
    "imds-exposed",
    "root-volume-small",
    "gpu-request-not-limit",
    "legacy-gpu-family",
    "requirement-matches-nothing",
    "al2023-bootstrap-sh",
    "raid0-user-data-conflict",
    "nodeconfig-kubelet-conflict",
    "gpu-limit-first-pass",
    "node-overlay-feature-gate",
}

GPU_MAKER = "karpenter.k8s.aws/instance-gpu-manufacturer"
GPU_ONLY = [[expr(GPU_MAKER, "In", "nvidia")]]
"""The device plugin's required node affinity to NVIDIA GPU nodes (one term)."""
CUDA_12 = "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"


# --- the guide's GPU setup on tests/builders.py: each test states only what differs ---


def gpu_nodepool(
    name: str = "gpu",
    *,
    families: tuple[str, ...] = ("g5",),
    arch: tuple[str, ...] = ("amd64",),
    manufacturer: str | None = "nvidia",
    taints: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    extra: list[dict[str, Any]] | None = None,
    requirements: list[dict[str, Any]] | None = None,
    limits: dict[str, str] | None = None,
    node_class: str = "gpu",
) -> dict[str, Any]:
    """The guide's GPU NodePool: g5, amd64, NVIDIA, the GPU taint, limits, node-type: gpu."""
    if requirements is None:
        requirements = [
            expr("karpenter.k8s.aws/instance-family", "In", *families),
            expr("karpenter.sh/capacity-type", "In", "spot", "on-demand"),
            expr("kubernetes.io/arch", "In", *arch),
            expr("kubernetes.io/os", "In", "linux"),
        ]
        if manufacturer:
            requirements.append(expr(GPU_MAKER, "In", manufacturer))
    return make_nodepool(
        name,
        requirements=[*requirements, *(extra or [])],
        labels={"node-type": "gpu"} if labels is None else labels,
        taints=[GPU_TAINT] if taints is None else taints,
        limits={"nvidia.com/gpu": "16", "cpu": "256"} if limits is None else limits,
        node_class=node_class,
    )


def gpu_nodeclass(
    name: str = "gpu",
    *,
    alias: str | None = "al2023@v20260714",
    ami_terms: list[dict[str, Any]] | None = None,
    raid0: bool = True,
    root_size: str | None = "100Gi",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The guide's EC2NodeClass: a pinned AMI, RAID0, a 100Gi root volume, IMDSv2 hop 1."""
    spec: dict[str, Any] = {
        "amiSelectorTerms": ami_terms if ami_terms is not None else [{"alias": alias}],
        "role": "KarpenterNodeRole-demo",
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "demo"}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "demo"}}],
    }
    if raid0:
        spec["instanceStorePolicy"] = "RAID0"
    if root_size is not None:
        spec["blockDeviceMappings"] = [
            {"deviceName": "/dev/xvda", "rootVolume": True, "ebs": {"volumeSize": root_size}}
        ]
    spec["metadataOptions"] = metadata or {"httpTokens": "required", "httpPutResponseHopLimit": 1}
    return make_nodeclass(name, **spec)


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    """The first container of ``obj``'s pod spec (the builders make one)."""
    spec = pod_spec_of(obj)
    assert spec is not None
    container: dict[str, Any] = spec["containers"][0]
    return container


def gpu_pod(
    name: str = "job",
    *,
    gpus: int | None = 1,
    tolerations: list[dict[str, Any]] | None = None,
    node_selector: dict[str, str] | None = None,
    affinity_terms: list[list[dict[str, Any]]] | None = None,
    image: str = CUDA_12,
    command: list[str] | None = None,
    resources: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A pod in ``ml`` asking for one GPU, tolerating the GPU taint, selecting node-type: gpu.

    ``resources`` replaces the container's requests and limits as given.
    """
    pod = make_pod(
        name,
        namespace="ml",
        gpus=gpus or 0,
        tolerations=[GPU_TOLERATION] if tolerations is None else tolerations,
        node_selector={"node-type": "gpu"} if node_selector is None else node_selector,
        affinity_terms=affinity_terms,
    )
    container = _container(pod)
    container["image"] = image
    if command is not None:
        container["command"] = command
    if resources is not None:
        container["resources"] = resources
    return pod


def deployment(pod: dict[str, Any], name: str = "serve") -> dict[str, Any]:
    """A Deployment in ``ml`` around ``pod``'s spec."""
    return make_workload("Deployment", name, namespace="ml", pod=pod["spec"])


def plugin_daemonset(
    *,
    version: str = "v0.20.0",
    tolerations: list[dict[str, Any]] | None = None,
    affinity_terms: list[list[dict[str, Any]]] | None = GPU_ONLY,
    env: list[dict[str, str]] | None = None,
    args: list[str] | None = None,
) -> dict[str, Any]:
    """NVIDIA's device plugin DaemonSet (static manifest): GPU toleration, GPU-only affinity."""
    spec = make_spec(
        cpu=None,
        memory=None,
        tolerations=[GPU_TOLERATION] if tolerations is None else tolerations,
        affinity_terms=affinity_terms,
    )
    daemonset = make_workload(
        "DaemonSet", "nvidia-device-plugin-daemonset", namespace="kube-system", pod=spec
    )
    container = _container(daemonset)
    container.update(
        {"name": "nvidia-device-plugin-ctr", "image": f"nvcr.io/nvidia/k8s-device-plugin:{version}"}
    )
    del container["resources"]
    if env is not None:
        container["env"] = env
    if args is not None:
        container["args"] = args
    return daemonset


def manifest_set(*objs: dict[str, Any]) -> ManifestSet:
    return ManifestSet([Manifest(obj, "test.yaml", i) for i, obj in enumerate(objs)])


def check(rule_id: str, *objs: dict[str, Any]) -> list[Finding]:
    """The findings of one rule over ``objs``."""
    return list(RULES_BY_ID[rule_id].check(manifest_set(*objs)))


def happy_set(**overrides: dict[str, Any]) -> list[dict[str, Any]]:
    objs = {
        "nodeclass": gpu_nodeclass(),
        "nodepool": gpu_nodepool(),
        "plugin": plugin_daemonset(),
        "pod": gpu_pod(),
    }
    objs.update(overrides)
    return list(objs.values())


# --- the contract and the baseline ---


def test_rule_ids_are_unique_and_match_the_contract() -> None:
    ids = [rule.id for rule in ALL_RULES]
    assert len(ids) == len(set(ids))
    assert set(ids) == CONTRACT_IDS
    assert all(rule.severity in ("error", "warning", "info") for rule in ALL_RULES)
    assert all(rule.summary for rule in ALL_RULES)


def test_the_happy_gpu_setup_has_no_findings() -> None:
    assert run_lint(manifest_set(*happy_set())) == []


def test_run_lint_sorts_errors_first_and_reports_every_rule() -> None:
    findings = run_lint(
        manifest_set(
            gpu_nodeclass(alias="al2023@latest"),
            gpu_nodepool(taints=[]),
            gpu_pod(resources={"requests": {"nvidia.com/gpu": "1"}}),
        )
    )
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert {"ami-unpinned", "gpu-pool-untainted", "gpu-request-not-limit"} <= {
        f.rule for f in findings
    }
    assert all(f.fix for f in findings)


def _rendered(config_data: dict[str, Any] | None = None, profile: str | None = None) -> ManifestSet:
    config = profile_config(profile) if profile else config_from_data(config_data or {}, source="t")
    return manifest_set(*(item.obj for item in render_all(config, "demo")))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_renders_without_errors(profile: str) -> None:
    findings = run_lint(_rendered(profile=profile))
    assert [f for f in findings if f.severity == "error"] == []
    assert "ami-unpinned" in {f.rule for f in findings}  # al2023@latest is the default


def test_guide_warnings_are_the_expected_ones() -> None:
    """The guide names p3, which Karpenter v1.14's generated list lacks but Karpenter can
    launch (the model derives it, issue 10 finding 7): the legacy warning says so, and RAID0
    misses an instance store on p3."""
    findings = run_lint(_rendered(profile="guide"))
    assert {f.rule for f in findings} == {
        "ami-unpinned",
        "legacy-gpu-family",
        "raid0-without-instance-store",
    }
    [legacy] = [f for f in findings if f.rule == "legacy-gpu-family"]
    assert "p3" in legacy.message and "generated instance-type list" in legacy.message


@pytest.mark.parametrize(
    "config_data",
    [
        {"devicePlugin": {"version": "v0.16.2"}},
        {"devicePlugin": {"version": "v0.17.1", "sharing": {"timeSlicing": {"replicas": 4}}}},
        {"nodePools": [{"instanceFamilies": ["g5g", "g5"], "architectures": ["arm64", "amd64"]}]},
        {
            "nodePools": [
                {
                    "taints": [{"key": "dedicated", "value": "ml", "effect": "NoExecute"}],
                    "startupTaints": [{"key": "agent", "effect": "NoSchedule"}],
                }
            ]
        },
        {"nodeClasses": [{"ami": {"name": "amazon-eks-node-al2023-x86_64-nvidia-*"}}]},
    ],
    ids=["plugin-v0.16.2", "time-slicing", "g5g", "custom-taints", "guide-ami-name"],
)
def test_rendered_variants_have_no_errors(config_data: dict[str, Any]) -> None:
    findings = run_lint(_rendered(config_data))
    assert [f for f in findings if f.severity == "error"] == []


# --- gpu-pool-untainted ---


def test_gpu_pool_untainted_fails_without_a_hard_taint() -> None:
    soft = {"key": "nvidia.com/gpu", "effect": "PreferNoSchedule"}
    for taints in ([], [soft]):
        [finding] = check("gpu-pool-untainted", gpu_nodepool(taints=taints))
        assert finding.path == ".spec.template.spec.taints"
        assert finding.object == "NodePool/gpu" and "g5" in finding.message


def test_gpu_pool_untainted_flags_general_pools_that_allow_gpu_types() -> None:
    assert check("gpu-pool-untainted", gpu_nodepool(requirements=[], taints=[]))


def test_gpu_pool_untainted_passes_tainted_and_cpu_pools() -> None:
    assert check("gpu-pool-untainted", gpu_nodepool()) == []
    cpu = gpu_nodepool(families=("m5", "c6i"), manufacturer=None, taints=[])
    assert check("gpu-pool-untainted", cpu) == []
    no_gpus = gpu_nodepool(
        requirements=[expr("karpenter.k8s.aws/instance-gpu-count", "DoesNotExist")], taints=[]
    )
    assert check("gpu-pool-untainted", no_gpus) == []


# --- device-plugin-untolerated-taint ---


def test_device_plugin_untolerated_taint_fails_on_an_unknown_taint() -> None:
    pool = gpu_nodepool(
        taints=[GPU_TAINT, {"key": "dedicated", "value": "ml", "effect": "NoExecute"}]
    )
    [finding] = check("device-plugin-untolerated-taint", pool, plugin_daemonset())
    assert finding.severity == "error"
    assert finding.object == "DaemonSet/kube-system/nvidia-device-plugin-daemonset"
    assert finding.path == ".spec.template.spec.tolerations"
    assert "dedicated=ml:NoExecute" in finding.message
    assert "key: dedicated" in str(finding.fix)


def test_device_plugin_untolerated_taint_fails_on_noexecute_with_the_upstream_toleration() -> None:
    pool = gpu_nodepool(taints=[{"key": "nvidia.com/gpu", "effect": "NoExecute"}])
    assert check("device-plugin-untolerated-taint", pool, plugin_daemonset())


def test_device_plugin_untolerated_taint_passes_when_tolerated_or_not_a_gpu_pool() -> None:
    pool = gpu_nodepool(taints=[{"key": "dedicated", "value": "ml", "effect": "NoExecute"}])
    any_effect = plugin_daemonset(tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert check("device-plugin-untolerated-taint", pool, any_effect) == []
    blanket = plugin_daemonset(tolerations=[{"operator": "Exists"}])
    assert check("device-plugin-untolerated-taint", pool, blanket) == []
    cpu = gpu_nodepool(
        families=("m5",), manufacturer=None, taints=[{"key": "x", "effect": "NoSchedule"}]
    )
    assert check("device-plugin-untolerated-taint", cpu, plugin_daemonset()) == []
    assert check("device-plugin-untolerated-taint", pool) == []  # no plugin in the set


def test_tolerates_follows_kubernetes() -> None:
    taint = {"key": "k", "value": "v", "effect": "NoSchedule"}
    assert tolerates({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}, taint)
    assert tolerates({"key": "k", "value": "v"}, taint)  # operator defaults to Equal
    assert not tolerates({"key": "k", "value": "w"}, taint)
    assert not tolerates({"key": "k", "operator": "Exists", "effect": "NoExecute"}, taint)
    assert tolerates({"operator": "Exists"}, taint)
    assert not tolerates({"operator": "Equal"}, taint)
    assert tolerates({"key": "k", "operator": "Exists"}, {"key": "k", "effect": "NoExecute"})


# --- device-plugin-crashloop-cpu-nodes ---


@pytest.mark.parametrize("version", ["v0.18.0", "v0.20.0", "latest"])
def test_crashloop_fails_for_new_plugins_without_gpu_affinity(version: str) -> None:
    [finding] = check(
        "device-plugin-crashloop-cpu-nodes", plugin_daemonset(version=version, affinity_terms=None)
    )
    assert finding.path == ".spec.template.spec.affinity"
    assert finding.severity == "warning"


def test_crashloop_fails_when_the_affinity_does_not_exclude_cpu_nodes() -> None:
    not_auto = [[expr("eks.amazonaws.com/compute-type", "NotIn", "auto")]]
    assert check("device-plugin-crashloop-cpu-nodes", plugin_daemonset(affinity_terms=not_auto))


def test_crashloop_passes_with_affinity_env_flag_or_an_old_plugin() -> None:
    assert check("device-plugin-crashloop-cpu-nodes", plugin_daemonset()) == []
    env = [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}]
    assert (
        check("device-plugin-crashloop-cpu-nodes", plugin_daemonset(affinity_terms=None, env=env))
        == []
    )
    flag = ["--fail-on-init-error=false"]
    assert (
        check("device-plugin-crashloop-cpu-nodes", plugin_daemonset(affinity_terms=None, args=flag))
        == []
    )
    old = plugin_daemonset(version="v0.17.1", affinity_terms=None)
    assert check("device-plugin-crashloop-cpu-nodes", old) == []


def test_plugin_versions_are_read_from_the_tag() -> None:
    assert image_version("nvcr.io/nvidia/k8s-device-plugin:v0.17.1") == (0, 17, 1)
    assert image_version("registry:5000/k8s-device-plugin:v0.18") == (0, 18, 0)
    assert image_version("nvcr.io/nvidia/k8s-device-plugin@sha256:abc") is None
    assert fails_on_init_by_default("nvcr.io/nvidia/k8s-device-plugin") is True
    assert fails_on_init_by_default("nvcr.io/nvidia/k8s-device-plugin:v0.16.2") is False
    assert fails_on_init_by_default("nvcr.io/nvidia/k8s-device-plugin@sha256:abc") is None


# --- workload-selector-unsatisfiable ---


def test_selector_fails_on_a_label_no_pool_sets() -> None:
    [finding] = check(
        "workload-selector-unsatisfiable",
        gpu_nodepool(),
        gpu_pod(node_selector={"node-type": "cpu"}),
    )
    assert finding.severity == "error"
    assert finding.object == "Pod/ml/job" and finding.path == ".spec.nodeSelector"
    assert "node-type" in finding.message


def test_selector_fails_on_a_family_or_arch_the_pool_does_not_allow() -> None:
    pool = gpu_nodepool()
    family = gpu_pod(node_selector={"karpenter.k8s.aws/instance-family": "p5"})
    arch = gpu_pod(node_selector={"kubernetes.io/arch": "arm64"})
    custom = gpu_pod(node_selector={"team": "ml"})
    for pod in (family, arch, custom):
        assert check("workload-selector-unsatisfiable", pool, pod), pod["spec"]["nodeSelector"]


def test_selector_fails_when_a_gpu_pod_tolerates_no_gpu_pool() -> None:
    [finding] = check("workload-selector-unsatisfiable", gpu_nodepool(), gpu_pod(tolerations=[]))
    assert finding.path == ".spec.tolerations"
    assert "nvidia.com/gpu=true:NoSchedule" in finding.message
    assert "key: nvidia.com/gpu" in str(finding.fix)


def test_selector_fails_when_no_pool_launches_gpus() -> None:
    cpu = gpu_nodepool(families=("m5",), manufacturer=None, taints=[], labels={})
    [finding] = check(
        "workload-selector-unsatisfiable", cpu, gpu_pod(node_selector={}, tolerations=[])
    )
    assert "no NodePool launches NVIDIA GPU" in finding.message


def test_selector_fails_on_capacity_type_the_pool_excludes() -> None:
    pool = gpu_nodepool(extra=[expr("karpenter.sh/capacity-type", "In", "on-demand")])
    pod = gpu_pod(node_selector={"karpenter.sh/capacity-type": "spot"})
    assert check("workload-selector-unsatisfiable", pool, pod)


def test_selector_passes_for_satisfiable_workloads() -> None:
    pool = gpu_nodepool(families=("g5", "g6"))
    spot = gpu_pod(node_selector={"node-type": "gpu", "karpenter.sh/capacity-type": "spot"})
    zone = gpu_pod(node_selector={"topology.kubernetes.io/zone": "us-east-1a"})  # well-known
    cpu_plain = gpu_pod(gpus=None, node_selector={}, tolerations=[])
    second_term = deployment(
        gpu_pod(
            node_selector={},
            affinity_terms=[
                [expr("karpenter.k8s.aws/instance-family", "In", "p5")],
                [expr("karpenter.k8s.aws/instance-gpu-name", "In", "l4")],
            ],
        )
    )
    for workload in (gpu_pod(), spot, zone, cpu_plain, second_term):
        assert check("workload-selector-unsatisfiable", pool, workload) == []


def test_selector_is_skipped_without_nodepools() -> None:
    assert check("workload-selector-unsatisfiable", gpu_pod(node_selector={"nowhere": "x"})) == []


def test_selector_reports_the_affinity_path_for_deployments() -> None:
    arm64 = [[expr("kubernetes.io/arch", "In", "arm64")]]
    workload = deployment(gpu_pod(node_selector={}, affinity_terms=arm64))
    [finding] = check("workload-selector-unsatisfiable", gpu_nodepool(), workload)
    assert finding.path == ".spec.template.spec.affinity.nodeAffinity"
    assert finding.object == "Deployment/ml/serve"


# --- gpu-limit-missing ---


def test_gpu_limit_missing_fails_without_limits() -> None:
    [finding] = check("gpu-limit-missing", gpu_nodepool(limits={}))
    assert finding.path == ".spec.limits" and finding.severity == "warning"


def test_gpu_limit_missing_passes_with_limits_or_for_cpu_pools() -> None:
    assert check("gpu-limit-missing", gpu_nodepool()) == []
    assert (
        check("gpu-limit-missing", gpu_nodepool(families=("m5",), manufacturer=None, limits={}))
        == []
    )


# --- raid0-without-instance-store ---


@pytest.mark.parametrize(
    ("families", "arch", "bare"),
    [(("g5", "g5g"), ("amd64", "arm64"), "g5g"), (("g5g",), ("arm64",), "g5g")],
)
def test_raid0_fails_for_families_without_nvme(
    families: tuple[str, ...], arch: tuple[str, ...], bare: str
) -> None:
    pool = gpu_nodepool(families=families, arch=arch)
    [finding] = check("raid0-without-instance-store", gpu_nodeclass(), pool)
    assert finding.object == "NodePool/gpu" and bare in finding.message
    assert "g5," not in finding.message


def test_raid0_passes_with_nvme_families_or_without_raid0() -> None:
    assert (
        check(
            "raid0-without-instance-store", gpu_nodeclass(), gpu_nodepool(families=("g5", "p3dn"))
        )
        == []
    )
    assert (
        check(
            "raid0-without-instance-store",
            gpu_nodeclass(raid0=False),
            gpu_nodepool(families=("p3",)),
        )
        == []
    )
    other_class = gpu_nodepool(families=("g5g",), arch=("arm64",), node_class="other")
    assert check("raid0-without-instance-store", gpu_nodeclass(), other_class) == []
    # p3 has no instance store; the model derives it although Karpenter's list lacks it
    [p3] = check(
        "raid0-without-instance-store", gpu_nodeclass(), gpu_nodepool(families=("g5", "p3"))
    )
    assert "p3" in p3.message


# --- non-nvidia-gpu-family ---


def test_non_nvidia_family_fails_for_amd_in_an_nvidia_pool() -> None:
    pool = gpu_nodepool(families=("g4ad", "g5"), manufacturer=None)
    [finding] = check("non-nvidia-gpu-family", pool)
    assert finding.severity == "error" and "g4ad" in finding.message and "AMD" in finding.message


def test_non_nvidia_family_passes_when_excluded_or_an_amd_pool() -> None:
    assert check("non-nvidia-gpu-family", gpu_nodepool(families=("g4ad", "g5"))) == []
    amd = gpu_nodepool(
        families=("g4ad",),
        manufacturer=None,
        taints=[{"key": "amd.com/gpu", "effect": "NoSchedule"}],
        limits={"amd.com/gpu": "4"},
    )
    assert check("non-nvidia-gpu-family", amd) == []
    general = gpu_nodepool(requirements=[], taints=[], limits={"cpu": "100"})
    assert check("non-nvidia-gpu-family", general) == []


# --- fractional-gpu-family ---


def test_fractional_family_fails_for_g6f_in_an_nvidia_pool() -> None:
    [finding] = check("fractional-gpu-family", gpu_nodepool(families=("g6", "g6f")))
    assert "g6f" in finding.message and "g6," not in finding.message
    assert finding.severity == "error"
    by_gpu_name = gpu_nodepool(
        requirements=[expr("karpenter.k8s.aws/instance-gpu-name", "In", "l4")]
    )
    [finding] = check("fractional-gpu-family", by_gpu_name)
    assert "g6f" in finding.message and "gr6f" in finding.message


def test_fractional_family_passes_without_fractional_types() -> None:
    assert check("fractional-gpu-family", gpu_nodepool(families=("g6",))) == []
    whole = gpu_nodepool(
        families=("g6", "g6f"), extra=[expr("karpenter.k8s.aws/instance-gpu-count", "Gt", "0")]
    )
    assert check("fractional-gpu-family", whole) == []


def fractional_overlay(pool: str = "gpu", gpus: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "karpenter.sh/v1alpha1",
        "kind": "NodeOverlay",
        "metadata": {"name": f"{pool}-fractional"},
        "spec": {
            "requirements": [expr("karpenter.sh/nodepool", "In", pool),
                             expr("karpenter.k8s.aws/instance-gpu-count", "In", "0")],
            "capacity": {"nvidia.com/gpu": gpus},
        },
    }  # fmt: skip


def test_fractional_family_passes_when_a_node_overlay_gives_them_a_gpu() -> None:
    """getOverlaidOfferings (sigs.k8s.io/karpenter@v1.14.1 pkg/controllers/nodeoverlay):
    the overlay applies to the pool's g6f types, so Karpenter sees nvidia.com/gpu there."""
    pool = gpu_nodepool(families=("g6", "g6f"))
    assert check("fractional-gpu-family", pool, fractional_overlay()) == []
    other_pool = fractional_overlay(pool="cpu")
    assert len(check("fractional-gpu-family", pool, other_pool)) == 1
    no_gpu = fractional_overlay(gpus="0")
    assert len(check("fractional-gpu-family", pool, no_gpu)) == 1


# --- cuda-arch-unsupported ---

V100_POOL = {"families": ("g5", "p3dn")}  # p3dn: the V100 type Karpenter v1.14 still lists


@pytest.mark.parametrize(
    ("image", "command"),
    [
        ("nvidia/cuda:13.0.1-runtime-ubuntu24.04", None),
        ("pytorch/pytorch:2.11.0-cuda12.8-cudnn9-runtime", None),
        ("vllm/vllm-openai:v0.11.0-cu130", None),
        ("python:3.12", ["sh", "-c", "pip install torch==2.11.0+cu128 && python train.py"]),
        (
            "python:3.12",
            ["pip", "install", "torch", "--index-url", "https://download.pytorch.org/whl/cu130"],
        ),
    ],
)
def test_cuda_arch_fails_for_builds_without_volta_on_a_v100_pool(
    image: str, command: list[str] | None
) -> None:
    pod = gpu_pod(image=image, command=command)
    [finding] = check("cuda-arch-unsupported", gpu_nodepool(**V100_POOL), pod)
    assert "p3dn" in finding.message and "7.0" in finding.message
    assert finding.path == ".spec.containers[0]" + (".command" if command else ".image")


def test_cuda_arch_passes_for_cuda_12_builds_new_gpus_or_pods_kept_off_v100() -> None:
    v100 = gpu_nodepool(**V100_POOL)
    cuda13 = "nvidia/cuda:13.0.1-runtime-ubuntu24.04"
    assert check("cuda-arch-unsupported", v100, gpu_pod(image=CUDA_12)) == []
    assert (
        check(
            "cuda-arch-unsupported",
            v100,
            gpu_pod(image="pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"),
        )
        == []
    )
    assert check("cuda-arch-unsupported", gpu_nodepool(), gpu_pod(image=cuda13)) == []
    kept_off = gpu_pod(
        image=cuda13,
        affinity_terms=[[expr("karpenter.k8s.aws/instance-gpu-name", "NotIn", "v100")]],
    )
    assert check("cuda-arch-unsupported", v100, kept_off) == []
    assert check("cuda-arch-unsupported", v100, gpu_pod(image=cuda13, gpus=None)) == []
    p3 = gpu_nodepool(families=("g5", "p3"))  # derived from EC2 facts: V100 is in the pool
    assert [f.rule for f in check("cuda-arch-unsupported", p3, gpu_pod(image=cuda13))] == [
        "cuda-arch-unsupported"
    ]


def test_cuda_builds_are_read_from_images_and_commands() -> None:
    assert image_build("nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04") == CudaBuild((12, 4), None)
    assert image_build("pytorch/pytorch:2.7.0-cuda12.8-cudnn9-devel") == CudaBuild((12, 8), (2, 7))
    assert image_build("nvcr.io/nvidia/pytorch:25.01-py3") == CudaBuild(None, None)
    assert command_build(["pip install torch==2.9.0+cu126"]) == CudaBuild((12, 6), (2, 9))
    assert drops_volta(CudaBuild((12, 8), (2, 7)))
    assert drops_volta(CudaBuild((12, 8), (2, 9))) is None
    assert drops_volta(CudaBuild((12, 8), None)) is None
    assert drops_volta(CudaBuild((13, 0), None))


# --- ami-unpinned ---


def test_ami_unpinned_fails_for_latest_alias_and_versionless_wildcards() -> None:
    [latest] = check("ami-unpinned", gpu_nodeclass(alias="al2023@latest"))
    assert latest.path == ".spec.amiSelectorTerms[0].alias" and latest.severity == "warning"
    assert "#7731" in str(latest.fix)
    wildcard = gpu_nodeclass(ami_terms=[{"name": "amazon-eks-node-al2023-x86_64-nvidia-*"}])
    [name] = check("ami-unpinned", wildcard)
    assert name.path == ".spec.amiSelectorTerms[0].name" and "#7731" in str(name.fix)


def test_ami_unpinned_passes_for_pinned_selection() -> None:
    assert check("ami-unpinned", gpu_nodeclass()) == []
    versioned = gpu_nodeclass(ami_terms=[{"name": "amazon-eks-node-al2023-x86_64-nvidia-1.33-*"}])
    assert check("ami-unpinned", versioned) == []
    assert check("ami-unpinned", gpu_nodeclass(ami_terms=[{"id": "ami-0123456789abcdef0"}])) == []
    assert check("ami-unpinned", gpu_nodeclass(alias="windows2022@latest")) == []


# --- arch-mismatch ---


def test_arch_mismatch_fails_for_g5g_without_arm64_and_the_reverse() -> None:
    [finding] = check("arch-mismatch", gpu_nodepool(families=("g5", "g5g")))
    assert "g5g" in finding.message and "arm64" in finding.message
    assert finding.severity == "error"
    [reverse] = check("arch-mismatch", gpu_nodepool(families=("g5",), arch=("arm64",)))
    assert "g5 (amd64 only)" in reverse.message


def test_arch_mismatch_passes_when_the_arch_is_allowed() -> None:
    assert (
        check("arch-mismatch", gpu_nodepool(families=("g5", "g5g"), arch=("amd64", "arm64"))) == []
    )
    no_arch = gpu_nodepool(requirements=[expr("karpenter.k8s.aws/instance-family", "In", "g5g")])
    assert check("arch-mismatch", no_arch) == []


# --- imds-exposed ---


def test_imds_exposed_fails_for_imdsv1_and_hop_limit_above_one() -> None:
    exposed = gpu_nodeclass(metadata={"httpTokens": "optional", "httpPutResponseHopLimit": 2})
    paths = {f.path for f in check("imds-exposed", exposed)}
    assert paths == {
        ".spec.metadataOptions.httpTokens",
        ".spec.metadataOptions.httpPutResponseHopLimit",
    }


def test_imds_exposed_passes_for_imdsv2_hop_one_or_disabled() -> None:
    assert check("imds-exposed", gpu_nodeclass()) == []
    disabled = gpu_nodeclass(metadata={"httpEndpoint": "disabled", "httpTokens": "optional"})
    assert check("imds-exposed", disabled) == []
    defaults = gpu_nodeclass()
    del defaults["spec"]["metadataOptions"]
    assert check("imds-exposed", defaults) == []


# --- root-volume-small ---


def test_root_volume_small_fails_without_raid0() -> None:
    [finding] = check(
        "root-volume-small", gpu_nodeclass(raid0=False, root_size="20Gi"), gpu_nodepool()
    )
    assert finding.path == ".spec.blockDeviceMappings[0].ebs.volumeSize"
    [default] = check(
        "root-volume-small", gpu_nodeclass(raid0=False, root_size=None), gpu_nodepool()
    )
    assert default.path == ".spec.blockDeviceMappings" and "20Gi" in default.message


def test_root_volume_small_checks_the_bottlerocket_data_volume() -> None:
    bottlerocket = gpu_nodeclass(alias="bottlerocket@v1.40.0", raid0=False)
    bottlerocket["spec"]["blockDeviceMappings"].append(
        {"deviceName": "/dev/xvdb", "ebs": {"volumeSize": "40Gi"}}
    )
    [finding] = check("root-volume-small", bottlerocket)
    assert finding.path == ".spec.blockDeviceMappings[1].ebs.volumeSize"


def test_root_volume_small_passes_for_big_volumes_raid0_and_cpu_classes() -> None:
    assert (
        check("root-volume-small", gpu_nodeclass(raid0=False, root_size="200G"), gpu_nodepool())
        == []
    )
    assert (
        check("root-volume-small", gpu_nodeclass(raid0=True, root_size="20Gi"), gpu_nodepool())
        == []
    )
    cpu_pool = gpu_nodepool(families=("m5",), manufacturer=None)
    assert check("root-volume-small", gpu_nodeclass(raid0=False, root_size="20Gi"), cpu_pool) == []


def test_volume_sizes() -> None:
    assert size_bytes("100Gi") == 100 * 2**30
    assert size_bytes("1T") == 10**12
    assert size_bytes("1Ti") == 2**40
    assert size_bytes("lots") is None


# --- gpu-request-not-limit ---


@pytest.mark.parametrize(
    "resources",
    [
        {"requests": {"nvidia.com/gpu": "1"}},
        {"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "2"}},
        {"requests": {"nvidia.com/mig-1g.10gb": 1}},
    ],
)
def test_gpu_request_not_limit_fails(resources: dict[str, Any]) -> None:
    [finding] = check("gpu-request-not-limit", deployment(gpu_pod(resources=resources)))
    assert finding.path == ".spec.template.spec.containers[0].resources"
    assert finding.severity == "error"


@pytest.mark.parametrize(
    "resources",
    [
        {"limits": {"nvidia.com/gpu": "1"}},
        {"requests": {"nvidia.com/gpu": "2"}, "limits": {"nvidia.com/gpu": 2}},
        {"requests": {"cpu": "1"}},
    ],
)
def test_gpu_request_not_limit_passes(resources: dict[str, Any]) -> None:
    assert check("gpu-request-not-limit", gpu_pod(resources=resources)) == []


# --- legacy-gpu-family ---


@pytest.mark.parametrize("family", ["p3", "p3dn"])
def test_legacy_family_fails_for_v100(family: str) -> None:
    [finding] = check("legacy-gpu-family", gpu_nodepool(families=("g5", family)))
    assert family in finding.message and "V100" in finding.message
    assert finding.severity == "warning"


def test_legacy_family_says_p3_is_derived_not_unlaunchable() -> None:
    """p3 is missing from Karpenter v1.14's generated list, not from Karpenter (issue 10
    finding 7): the model derives it, and the warning says its launch depends on the account."""
    [p3dn] = check("legacy-gpu-family", gpu_nodepool(families=("g5", "p3dn")))
    assert "allows legacy GPU families p3dn" in p3dn.message
    assert "generated instance-type list" not in p3dn.message
    [mixed] = check("legacy-gpu-family", gpu_nodepool(families=("g5", "p3")))
    assert "allows legacy GPU families p3." in mixed.message
    assert "generated instance-type list" in mixed.message and "never" not in mixed.message
    by_type = gpu_nodepool(
        requirements=[expr("node.kubernetes.io/instance-type", "In", "p3.2xlarge", "g5.xlarge")]
    )
    [named] = check("legacy-gpu-family", by_type)
    assert "allows legacy GPU families p3." in named.message


def test_legacy_family_passes_for_current_families() -> None:
    assert check("legacy-gpu-family", gpu_nodepool(families=("g5", "g6e", "p5"))) == []


def test_rules_do_not_mutate_their_input() -> None:
    objs = happy_set(nodepool=gpu_nodepool(families=("p3", "g4ad", "g6f"), taints=[], limits={}))
    before = copy.deepcopy(objs)
    run_lint(manifest_set(*objs))
    assert objs == before


def test_every_rule_id_is_a_declared_rule_id() -> None:
    """RuleId (the Literal mypy checks) and the registered rules are the same set."""
    from eks_gpu.validate.rules import ALL_RULES
    from eks_gpu.validate.rules.rule import RULE_IDS

    assert sorted(rule.id for rule in ALL_RULES) == sorted(RULE_IDS)


# --- requirement-matches-nothing (sigs.k8s.io/karpenter@v1.14.1 nodeclaim.go
# filterInstanceTypesByRequirements: a type that does not intersect is dropped) ---


@pytest.mark.parametrize(
    ("requirement", "said"),
    [
        (expr(GPU_MAKER, "In", "NVIDIA"), 'values are lowercase: "nvidia"'),
        (expr("karpenter.k8s.aws/instance-family", "In", "p4"), "did you mean p4d, p4de"),
        (expr("karpenter.sh/capacity-type", "In", "Spot", "On-Demand"), '"spot"'),
        (expr("karpenter.k8s.aws/instance-gpu-count", "Gt", "8"), "carry 0 to 8"),
    ],
    ids=["manufacturer-case", "p4", "capacity-case", "gt-bound"],
)
def test_requirement_matching_no_type_is_an_error(requirement: dict[str, Any], said: str) -> None:
    pool = gpu_nodepool(requirements=[expr("kubernetes.io/os", "In", "linux"), requirement])
    [finding] = check("requirement-matches-nothing", pool)
    assert finding.severity == "error"
    assert finding.path == ".spec.template.spec.requirements[1]"
    assert said in finding.message and finding.fix


def test_requirements_that_match_nothing_together_are_an_error() -> None:
    pool = gpu_nodepool(extra=[expr("karpenter.k8s.aws/instance-gpu-name", "In", "h100")])
    [finding] = check("requirement-matches-nothing", pool)  # g5 has A10G, never H100
    assert finding.path == ".spec.template.spec.requirements"
    assert "together" in finding.message


def test_requirements_karpenter_can_meet_pass() -> None:
    fine = gpu_nodepool(
        families=("g5", "p3"),  # p3 alone matches nothing, but g5 does
        extra=[
            expr("karpenter.k8s.aws/instance-gpu-count", "Gt", "0"),
            expr("karpenter.k8s.aws/capacity-reservation-id", "In", "cr-0123"),
            expr("topology.kubernetes.io/zone", "In", "us-east-1a"),
        ],
    )
    assert check("requirement-matches-nothing", fine) == []


# --- user data: al2023-bootstrap-sh, raid0-user-data-conflict, nodeconfig-kubelet-conflict ---


def mime(*parts: tuple[str, str]) -> str:
    """A MIME multi-part user data with (content type, body) parts."""
    body = "".join(f"--B\nContent-Type: {kind}\n\n{text}\n" for kind, text in parts)
    return f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n{body}--B--\n'


def with_user_data(text: str, **kwargs: Any) -> dict[str, Any]:
    node_class = gpu_nodeclass(**kwargs)
    node_class["spec"]["userData"] = text
    return node_class


def nodeconfig(kubelet: dict[str, Any]) -> tuple[str, str]:
    import yaml

    document = {"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig",
                "spec": {"kubelet": {"config": kubelet}}}  # fmt: skip
    return "application/node.eks.aws", yaml.safe_dump(document)


BOOTSTRAP = "#!/bin/bash\nset -e\n/etc/eks/bootstrap.sh demo --kubelet-extra-args '--max-pods=20'\n"


def test_bootstrap_sh_on_al2023_is_an_error() -> None:
    for text in (BOOTSTRAP, mime(("text/x-shellscript", BOOTSTRAP))):
        [finding] = check("al2023-bootstrap-sh", with_user_data(text))
        assert finding.severity == "error" and finding.path == ".spec.userData"
        assert "nodeadm" in finding.message


def test_bootstrap_sh_passes_on_al2_or_without_it() -> None:
    al2 = with_user_data(BOOTSTRAP, alias="al2@v20250101")
    plain = with_user_data(mime(("text/x-shellscript", "#!/bin/bash\necho hi\n")))
    assert check("al2023-bootstrap-sh", al2, plain) == []


@pytest.mark.parametrize(
    "part",
    [
        ("text/x-shellscript", "#!/bin/bash\nmdadm --create /dev/md0 --level=0 /dev/nvme1n1\n"),
        ("text/x-shellscript", "#!/bin/bash\nmkfs.xfs /dev/nvme1n1\nmount /dev/nvme1n1 /data\n"),
        ("application/node.eks.aws",
         "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  instance:\n"
         "    localStorage:\n      strategy: RAID0\n"),
    ],
    ids=["mdadm", "mkfs-mount", "localStorage"],
)  # fmt: skip
def test_user_data_setting_up_the_instance_store_under_raid0_is_an_error(
    part: tuple[str, str],
) -> None:
    [finding] = check("raid0-user-data-conflict", with_user_data(mime(part)))
    assert finding.severity == "error" and "RAID0" in finding.message


def test_user_data_disk_setup_without_raid0_passes() -> None:
    script = ("text/x-shellscript", "#!/bin/bash\nmkfs.xfs /dev/nvme1n1\n")
    assert check("raid0-user-data-conflict", with_user_data(mime(script), raid0=False)) == []
    harmless = ("text/x-shellscript", "#!/bin/bash\necho mount points: $(mount | wc -l)\n")
    assert check("raid0-user-data-conflict", with_user_data(mime(harmless))) == []


@pytest.mark.parametrize(
    ("kubelet", "said"),
    [
        ({"serializeImagePulls": True, "maxParallelImagePulls": 4}, "serializeImagePulls: true"),
        ({"maxParallelImagePulls": 0}, "positive"),
        ({"imageGCHighThresholdPercent": 70, "imageGCLowThresholdPercent": 80}, "not below"),
    ],
)
def test_contradictory_kubelet_fields_are_an_error(kubelet: dict[str, Any], said: str) -> None:
    """k8s.io/kubernetes pkg/kubelet/apis/config/validation ValidateKubeletConfiguration."""
    [finding] = check("nodeconfig-kubelet-conflict", with_user_data(mime(nodeconfig(kubelet))))
    assert finding.severity == "error" and said in finding.message


def test_consistent_kubelet_fields_pass() -> None:
    fine = nodeconfig(
        {"serializeImagePulls": False, "maxParallelImagePulls": 4,
         "imageGCHighThresholdPercent": 85, "imageGCLowThresholdPercent": 80}
    )  # fmt: skip
    assert check("nodeconfig-kubelet-conflict", with_user_data(mime(fine))) == []


# --- gpu-limit-first-pass (sigs.k8s.io/karpenter@v1.14.1 scheduler.go subtractMax and
# filterByRemainingResources; aws/karpenter-provider-aws#8068) ---


def test_gpu_limit_below_twice_the_largest_type_warns() -> None:
    pool = gpu_nodepool(families=("g5",), limits={"nvidia.com/gpu": "12", "cpu": "256"})
    [finding] = check("gpu-limit-first-pass", pool)
    assert finding.severity == "warning"
    assert "8 nvidia.com/gpu (g5.48xlarge)" in finding.message
    assert "subtractMax" in finding.message
    assert "at most 2 NodeClaim(s)" in finding.message  # 12 -> 8 charged, then 4 -> 4 charged


def test_gpu_limit_of_twice_the_largest_type_passes() -> None:
    assert check("gpu-limit-first-pass", gpu_nodepool(limits={"nvidia.com/gpu": "16"})) == []
    small = gpu_nodepool(
        extra=[expr("karpenter.k8s.aws/instance-gpu-count", "Lt", "2")],
        limits={"nvidia.com/gpu": "4"},
    )
    assert check("gpu-limit-first-pass", small) == []


def test_gpu_limit_counts_what_node_overlays_say() -> None:
    """Under time-slicing the overlays make Karpenter see 8 x 4 = 32 nvidia.com/gpu on
    g5.48xlarge, so a 16-GPU limit keeps it out of the first pass entirely."""
    findings = run_lint(_rendered({"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 4}}},
                                   "nodePools": [{"instanceFamilies": ["g5"]}]}))  # fmt: skip
    [finding] = [f for f in findings if f.rule == "gpu-limit-first-pass"]
    assert "limit 16" in finding.message and "32 nvidia.com/gpu" in finding.message
    plain = run_lint(_rendered({"nodePools": [{"instanceFamilies": ["g5"]}]}))
    assert "gpu-limit-first-pass" not in {f.rule for f in plain}


def test_first_pass_charges_the_largest_candidate_that_fits() -> None:
    from eks_gpu.validate.rules.gpu_limit_first_pass import first_pass_claims

    assert first_pass_claims(Decimal(16), [1, 4, 8]) == 2
    assert first_pass_claims(Decimal(10), [1, 8]) == 3  # 8, then only 1-GPU types fit: 1, 1
    assert first_pass_claims(Decimal(3), [8]) == 0


def test_node_overlays_note_the_feature_gate() -> None:
    [finding] = check("node-overlay-feature-gate", gpu_nodepool(), fractional_overlay())
    assert finding.severity == "info" and "NodeOverlay=true" in finding.fix
    assert check("node-overlay-feature-gate", gpu_nodepool()) == []


def test_validate_takes_equal_weight_overlays_in_karpenters_order() -> None:
    """NodeOverlayList.OrderByWeight (sigs.k8s.io/karpenter@v1.14.1 pkg/apis/v1alpha1):
    equal weights go by name descending, so ``b-...`` beats ``a-...``; validate uses the
    simulator's overlay model and agrees (it once sorted names ascending)."""

    def overlay(name: str, gpus: str) -> dict[str, Any]:
        body = fractional_overlay(gpus=gpus)
        body["metadata"]["name"] = name
        body["spec"]["requirements"][1] = expr("karpenter.k8s.aws/instance-gpu-count", "In", "8")
        return body

    pool = gpu_nodepool(families=("g5",), limits={"nvidia.com/gpu": "40"})
    # b sets 32 (limit 40 < 64: warns), a sets 8 (limit 40 >= 16: passes)
    [finding] = check("gpu-limit-first-pass", pool, overlay("a-eight", "8"), overlay("b-32", "32"))
    assert "32 nvidia.com/gpu" in finding.message
