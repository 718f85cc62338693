"""The device plugin DaemonSet: upstream parity, and the hardening we add on top."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.config.parse import config_from_data
from eks_gpu.render.device_plugin import (
    nvidia_instance_types,
    render_daemonset,
    render_device_plugin,
)

UPSTREAM = {
    "v0.16.2": "nvidia-device-plugin.yml",
    "v0.20.0": "nvidia-device-plugin-v0.20.0.yml",
}


def _without_our_additions(daemonset: dict[str, Any]) -> dict[str, Any]:
    """Drop what we add on purpose: our managed-by label, GPU-node affinity, and the hardening
    checkov asks for (resources, seccomp, no token; docs/hardening.md)."""
    out = copy.deepcopy(daemonset)
    del out["metadata"]["labels"]
    pod = out["spec"]["template"]["spec"]
    for added in ("affinity", "automountServiceAccountToken", "securityContext"):
        del pod[added]
    for container in pod["containers"]:
        del container["resources"]
    return out


def _normalise_upstream(daemonset: dict[str, Any]) -> dict[str, Any]:
    """Upstream v0.20.0 writes ``env: []``; an empty list and no list mean the same."""
    out = copy.deepcopy(daemonset)
    for container in out["spec"]["template"]["spec"]["containers"]:
        if container.get("env") == []:
            del container["env"]
    return out


@pytest.mark.parametrize("version", sorted(UPSTREAM))
def test_matches_upstream_static_manifest_apart_from_documented_additions(
    reference: Path, version: str
) -> None:
    upstream = yaml.safe_load((reference / "nvidia" / UPSTREAM[version]).read_text())
    config = config_from_data({"devicePlugin": {"version": version}})
    ours = _without_our_additions(render_daemonset(config))
    assert ours == _normalise_upstream(upstream)


def test_v0_16_2_keeps_the_guide_semantics() -> None:
    daemonset = render_daemonset(config_from_data({"devicePlugin": {"version": "v0.16.2"}}))
    assert daemonset["metadata"]["name"] == "nvidia-device-plugin-daemonset"
    assert daemonset["metadata"]["namespace"] == "kube-system"
    assert daemonset["spec"]["template"]["metadata"]["labels"] == {
        "name": "nvidia-device-plugin-ds"
    }
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}]


@pytest.mark.parametrize(
    ("version", "fail_on_init_env", "volume_type"),
    [("v0.17.0", True, None), ("v0.18.0", False, "Directory"), ("v0.20.0", False, "Directory")],
)
def test_version_layout(version: str, fail_on_init_env: bool, volume_type: str | None) -> None:
    daemonset = render_daemonset(config_from_data({"devicePlugin": {"version": version}}))
    pod = daemonset["spec"]["template"]["spec"]
    env = pod["containers"][0].get("env", [])
    assert ({"name": "FAIL_ON_INIT_ERROR", "value": "false"} in env) is fail_on_init_env
    assert pod["volumes"][0]["hostPath"].get("type") == volume_type
    assert pod["containers"][0]["image"] == f"nvcr.io/nvidia/k8s-device-plugin:{version}"


def test_tolerates_every_taint_of_every_gpu_pool() -> None:
    config = config_from_data(
        {
            "nodePools": [
                {"name": "a", "taints": [{"key": "gpu", "effect": "NoSchedule"}]},
                {
                    "name": "b",
                    "taints": [{"key": "dedicated", "value": "ml", "effect": "NoExecute"}],
                    "startupTaints": [{"key": "example.com/warming", "effect": "NoSchedule"}],
                },
            ]
        }
    )
    tolerations = render_daemonset(config)["spec"]["template"]["spec"]["tolerations"]
    assert tolerations == [
        {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"},
        {"key": "example.com/warming", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    ]


def test_affinity_is_nvidia_gpu_nodes_only_and_skips_excluded_node_classes() -> None:
    config = config_from_data({"devicePlugin": {"excludeNodeClasses": ["bottlerocket-gpu"]}})
    affinity = render_daemonset(config)["spec"]["template"]["spec"]["affinity"]
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    markers = [term["matchExpressions"][0] for term in terms]
    assert markers == [
        {
            "key": "karpenter.k8s.aws/instance-gpu-manufacturer",
            "operator": "In",
            "values": ["nvidia"],
        },
        {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]},
        {"key": "node.kubernetes.io/instance-type", "operator": "In",
         "values": nvidia_instance_types()},
    ]  # fmt: skip
    for term in terms:  # node selector terms are ORed: every term must carry the exclusions
        assert {
            "key": "eks.amazonaws.com/compute-type",
            "operator": "NotIn",
            "values": ["auto"],
        } in term["matchExpressions"]
        assert {
            "key": "karpenter.k8s.aws/ec2nodeclass",
            "operator": "NotIn",
            "values": ["bottlerocket-gpu"],
        } in term["matchExpressions"]


def _time_sliced(replicas: int) -> list[dict[str, Any]]:
    config = config_from_data(
        {"devicePlugin": {"sharing": {"timeSlicing": {"replicas": replicas}}}}
    )
    return render_device_plugin(config)


def test_time_slicing_renders_the_plugin_config_and_mounts_it() -> None:
    config_map, daemonset = _time_sliced(4)
    plugin_config = yaml.safe_load(config_map["data"]["config.yaml"])
    assert plugin_config["version"] == "v1"
    assert plugin_config["sharing"]["timeSlicing"]["resources"] == [
        {"name": "nvidia.com/gpu", "replicas": 4}
    ]
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    config_file = next(e["value"] for e in container["env"] if e["name"] == "CONFIG_FILE")
    mount = next(m for m in container["volumeMounts"] if m["name"] == "sharing-config")
    assert config_file.startswith(mount["mountPath"] + "/")
    # a read-only /etc/nvidia breaks NVIDIA container toolkit 1.20.0 (toolkit issue #2026)
    assert not mount["mountPath"].startswith("/etc/nvidia")


def test_changing_the_sharing_config_rolls_the_daemonset() -> None:
    def config_hash(replicas: int) -> str:
        annotations = _time_sliced(replicas)[1]["spec"]["template"]["metadata"]["annotations"]
        return str(annotations["eks-gpu.io/sharing-config-hash"])

    assert config_hash(4) == config_hash(4)
    assert config_hash(4) != config_hash(8)


def test_no_sharing_means_no_config_map() -> None:
    objects = render_device_plugin(config_from_data({}))
    assert [o["kind"] for o in objects] == ["DaemonSet"]


def test_image_override() -> None:
    config = config_from_data({"devicePlugin": {"image": "registry.example.com/nvidia/dp:v0.20.0"}})
    container = render_daemonset(config)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/nvidia/dp:v0.20.0"


def test_node_group_gpu_nodes_without_labels_keep_the_plugin() -> None:
    """A managed/self-managed node group's GPU node has neither Karpenter's nor NFD's label:
    the instance-type term, generated from the catalog, still selects it; CPU types never."""
    from eks_gpu.catalog.gpu_types import gpu_instance_types

    affinity = render_daemonset(config_from_data({}))["spec"]["template"]["spec"]["affinity"]
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]

    def holds(expression: dict[str, Any], labels: dict[str, str]) -> bool:
        """kube-scheduler's In/NotIn (the only operators the affinity uses)."""
        value, values = labels.get(expression["key"]), expression["values"]
        return value in values if expression["operator"] == "In" else value not in values

    def selected(labels: dict[str, str]) -> bool:  # terms are ORed, expressions ANDed
        return any(all(holds(e, labels) for e in t["matchExpressions"]) for t in terms)

    nvidia = [r.instance_type for r in gpu_instance_types() if r.gpu_manufacturer == "nvidia"]
    assert nvidia and all(selected({"node.kubernetes.io/instance-type": n}) for n in nvidia)
    assert "g5.xlarge" in nvidia and "p3.2xlarge" in nvidia  # types Karpenter does not list too
    for other in ("m5.large", "g4ad.xlarge", "inf2.xlarge"):
        assert not selected({"node.kubernetes.io/instance-type": other})
