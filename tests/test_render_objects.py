"""What each renderer must say: the guide's defaults, visibly, and the config's choices."""

from __future__ import annotations

import email
from typing import Any

import yaml

from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.nodeclass import UserData
from eks_gpu.config.parse import config_from_data
from eks_gpu.render.bundle import render_all
from eks_gpu.render.nodeclass import render_nodeclass
from eks_gpu.render.nodepool import render_nodepool
from eks_gpu.render.test_pods import (
    render_pytorch_test,
    render_simple_test,
    render_storage_test,
)
from eks_gpu.render.userdata import render_user_data


def _req(pool: dict[str, Any], key: str) -> dict[str, Any]:
    return next(r for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == key)


def test_guide_nodepool() -> None:
    pool = render_nodepool(GpuConfig().node_pools[0])
    assert pool["metadata"]["name"] == "nodepool-gpu"
    template = pool["spec"]["template"]
    assert template["metadata"]["labels"] == {"node-type": "gpu"}
    assert template["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
    ]
    assert template["spec"]["nodeClassRef"] == {
        "group": "karpenter.k8s.aws",
        "kind": "EC2NodeClass",
        "name": "nodeclass-gpu",
    }
    assert _req(pool, "karpenter.k8s.aws/instance-family")["values"] == [
        "g4dn", "g5", "g6", "g6e", "p3", "p4d", "p4de",
    ]  # fmt: skip
    assert _req(pool, "karpenter.sh/capacity-type")["values"] == ["spot", "on-demand"]
    assert _req(pool, "kubernetes.io/arch")["values"] == ["amd64"]
    assert _req(pool, "kubernetes.io/os")["values"] == ["linux"]
    assert _req(pool, "karpenter.k8s.aws/instance-gpu-manufacturer")["values"] == ["nvidia"]
    assert pool["spec"]["disruption"] == {
        "consolidationPolicy": "WhenEmpty",
        "consolidateAfter": "30s",
    }
    assert pool["spec"]["limits"] == {"cpu": "1000", "nvidia.com/gpu": "16"}


def test_extra_requirements_follow_the_guide_ones() -> None:
    config = config_from_data(
        {
            "nodePools": [
                {
                    "requirements": [
                        {
                            "key": "karpenter.k8s.aws/instance-gpu-count",
                            "operator": "Gt",
                            "values": ["0"],
                        },
                        {
                            "key": "karpenter.k8s.aws/instance-size",
                            "operator": "NotIn",
                            "values": ["metal"],
                        },
                    ],
                    "weight": 10,
                    "limits": {},
                }
            ]
        }
    )
    pool = render_nodepool(config.node_pools[0])
    keys = [r["key"] for r in pool["spec"]["template"]["spec"]["requirements"]]
    assert keys[-2:] == ["karpenter.k8s.aws/instance-gpu-count", "karpenter.k8s.aws/instance-size"]
    assert pool["spec"]["weight"] == 10
    assert "limits" not in pool["spec"]  # an explicit {} means "no limits"


def test_guide_nodeclass() -> None:
    node_class = render_nodeclass(GpuConfig().node_classes[0], "demo")
    spec = node_class["spec"]
    assert node_class["metadata"]["name"] == "nodeclass-gpu"
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    assert "amiFamily" not in spec  # implied by the alias
    assert spec["role"] == "KarpenterNodeRole-demo"
    assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "demo"}}]
    assert spec["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "demo"}}]
    assert spec["instanceStorePolicy"] == "RAID0"
    root = spec["blockDeviceMappings"][0]
    assert root["rootVolume"] is True
    assert root["ebs"]["volumeSize"] == "100Gi"
    assert root["ebs"]["volumeType"] == "gp3"
    assert root["ebs"]["encrypted"] is True
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_guide_ami_name_pattern_needs_the_al2023_family() -> None:
    config = config_from_data(
        {"nodeClasses": [{"ami": {"name": "amazon-eks-node-al2023-x86_64-nvidia-*"}}]}
    )
    spec = render_nodeclass(config.node_classes[0], "demo")["spec"]
    assert spec["amiFamily"] == "AL2023"
    assert spec["amiSelectorTerms"] == [{"name": "amazon-eks-node-al2023-x86_64-nvidia-*"}]


def test_instance_profile_replaces_role_and_custom_selectors() -> None:
    config = config_from_data(
        {
            "nodeClasses": [
                {
                    "instanceProfile": "gpu-nodes",
                    "subnetSelectorTags": {"tier": "private"},
                    "securityGroupSelectorTags": {"aws:eks:cluster-name": "demo"},
                }
            ]
        }
    )
    spec = render_nodeclass(config.node_classes[0], "demo")["spec"]
    assert spec["instanceProfile"] == "gpu-nodes"
    assert "role" not in spec
    assert spec["subnetSelectorTerms"] == [{"tags": {"tier": "private"}}]
    assert spec["securityGroupSelectorTerms"] == [{"tags": {"aws:eks:cluster-name": "demo"}}]


def _parts(user_data: str) -> list[tuple[str, str]]:
    message = email.message_from_string(user_data)
    assert message.is_multipart()
    return [(part.get_content_type(), part.get_payload()) for part in message.get_payload()]


def test_user_data_is_mime_with_a_nodeconfig_part_then_the_script() -> None:
    user_data = render_user_data(
        UserData.model_validate(
            {"kubeletConfig": {"shutdownGracePeriod": "30s"}, "script": "#!/bin/bash\necho hi"}
        )
    )
    assert user_data is not None
    (node_type, node_body), (script_type, script_body) = _parts(user_data)
    assert node_type == "application/node.eks.aws"
    node_config = yaml.safe_load(node_body)
    assert node_config["apiVersion"] == "node.eks.aws/v1alpha1"
    assert node_config["kind"] == "NodeConfig"
    assert node_config["spec"]["kubelet"]["config"] == {"shutdownGracePeriod": "30s"}
    assert script_type == "text/x-shellscript"
    assert script_body.strip() == "#!/bin/bash\necho hi"


def test_default_user_data_leaves_nodeadm_pulling_in_parallel() -> None:
    """nodeadm already sets serializeImagePulls: false and leaves maxParallelImagePulls unset
    (no limit; amazon-eks-ami nodeadm/internal/kubelet/config.go): a default NodeConfig part
    could only cap pulls, so there is none."""
    assert render_user_data(UserData()) is None
    assert "userData" not in render_nodeclass(GpuConfig().node_classes[0], "demo")["spec"]


def test_no_user_data_when_nothing_to_add() -> None:
    assert render_user_data(UserData.model_validate({"kubeletConfig": {}})) is None


def _pods(config: GpuConfig) -> list[dict[str, Any]]:
    return [render_simple_test(config), render_pytorch_test(config), render_storage_test(config)]


def test_test_pods_follow_the_guide_and_are_hardened() -> None:
    for pod in _pods(GpuConfig()):
        spec = pod["spec"]
        container = spec["containers"][0]
        assert pod["metadata"]["namespace"] == "eks-gpu-tests"
        assert spec["nodeSelector"] == {"node-type": "gpu"}
        assert spec["tolerations"] == [
            {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
        ]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert spec["activeDeadlineSeconds"] == 900
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        # CUDA 12.x images: CUDA 13 dropped Volta (p3), a guide family
        assert "cuda:12." in container["image"] or "cuda12." in container["image"]
    names = [pod["metadata"]["name"] for pod in _pods(GpuConfig())]
    assert names == ["gpu-simple-test", "gpu-pytorch-test", "gpu-storage-test"]


def test_test_pods_target_the_chosen_pool() -> None:
    config = config_from_data(
        {
            "nodePools": [
                {"name": "first"},
                {
                    "name": "second",
                    "labels": {"team": "ml"},
                    "taints": [{"key": "dedicated", "effect": "NoExecute"}],
                },
            ],
            "tests": {"nodePool": "second", "namespace": "smoke"},
        }
    )
    for pod in _pods(config):
        assert pod["metadata"]["namespace"] == "smoke"
        assert pod["spec"]["nodeSelector"] == {"team": "ml"}
        assert pod["spec"]["tolerations"] == [
            {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}
        ]


def test_storage_test_uses_local_nvme_scratch() -> None:
    pod = render_storage_test(GpuConfig())
    container = pod["spec"]["containers"][0]
    assert container["resources"]["requests"]["ephemeral-storage"] == "10Gi"
    assert pod["spec"]["volumes"][0] == {"name": "scratch", "emptyDir": {"sizeLimit": "10Gi"}}
    assert container["volumeMounts"][0] == {"name": "scratch", "mountPath": "/scratch"}
    assert container["command"][-1].startswith("nvidia-smi -L && ")


def test_storage_test_needs_a_node_with_local_nvme() -> None:
    """On a type without instance store (p3) scratch would be EBS and the test would pass
    without testing anything: it asks for karpenter.k8s.aws/instance-local-nvme Gt 0."""
    pod = render_storage_test(GpuConfig())
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert terms["nodeSelectorTerms"] == [
        {"matchExpressions": [
            {"key": "karpenter.k8s.aws/instance-local-nvme", "operator": "Gt", "values": ["0"]}
        ]}
    ]  # fmt: skip


def _overlays(data: dict[str, Any]) -> list[dict[str, Any]]:
    items = render_all(config_from_data(data), "demo")
    return [i.obj for i in items if i.obj["kind"] == "NodeOverlay"]


def test_no_node_overlays_when_karpenter_already_counts_gpus_right() -> None:
    assert _overlays({}) == []


def test_time_slicing_overlays_one_per_gpu_count_of_the_pool() -> None:
    """Karpenter's capacity becomes count * replicas, as the plugin advertises (ApplyCapacity
    Overlay in sigs.k8s.io/karpenter@v1.14.1 pkg/cloudprovider/types.go)."""
    data = {"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 4}}},
            "nodePools": [{"instanceFamilies": ["g5", "p4d"]}]}  # fmt: skip
    overlays = _overlays(data)
    counts = {o["spec"]["requirements"][2]["values"][0]: o["spec"]["capacity"] for o in overlays}
    assert counts == {
        "1": {"nvidia.com/gpu": "4"},
        "4": {"nvidia.com/gpu": "16"},
        "8": {"nvidia.com/gpu": "32"},
    }
    for overlay in overlays:
        assert overlay["apiVersion"] == "karpenter.sh/v1alpha1"
        assert overlay["spec"]["requirements"][:2] == [
            {"key": "karpenter.sh/nodepool", "operator": "In", "values": ["nodepool-gpu"]},
            {"key": "karpenter.k8s.aws/instance-gpu-manufacturer", "operator": "In",
             "values": ["nvidia"]},
        ]  # fmt: skip
    renamed = {"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 2,
               "renameByDefault": True}}}, "nodePools": [{"instanceFamilies": ["g5"]}]}  # fmt: skip
    assert _overlays(renamed)[0]["spec"]["capacity"] == {
        "nvidia.com/gpu": "0",
        "nvidia.com/gpu.shared": "2",
    }


def test_fractional_types_get_their_gpu_from_an_overlay() -> None:
    """g6f/gr6f carry instance-gpu-count 0, so Karpenter sees no GPU; the plugin advertises
    one device (a share of an L4)."""
    [overlay] = _overlays({"nodePools": [{"instanceFamilies": ["g6f"]}]})
    assert overlay["metadata"]["name"] == "nodepool-gpu-fractional-gpu"
    assert overlay["spec"]["requirements"][2]["values"] == ["0"]
    assert overlay["spec"]["capacity"] == {"nvidia.com/gpu": "1"}
    shared = _overlays({"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 3}}},
                        "nodePools": [{"instanceFamilies": ["g6f", "g6"]}]})  # fmt: skip
    capacity = {o["metadata"]["name"]: o["spec"]["capacity"] for o in shared}
    assert capacity["nodepool-gpu-fractional-gpu"] == {"nvidia.com/gpu": "3"}
    assert capacity["nodepool-gpu-gpus-1"] == {"nvidia.com/gpu": "3"}


def test_every_object_carries_the_managed_by_label() -> None:
    for item in render_all(GpuConfig(), "demo"):
        assert item.obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "eks-gpu"


def test_disabled_parts_are_not_rendered() -> None:
    config = config_from_data({"devicePlugin": {"enabled": False}, "tests": {"enabled": False}})
    kinds = [item.obj["kind"] for item in render_all(config, "demo")]
    assert kinds == ["EC2NodeClass", "NodePool"]


def test_apply_order_puts_node_classes_before_pools() -> None:
    config = config_from_data(
        {
            "nodeClasses": [{"name": "a"}, {"name": "b"}],
            "nodePools": [{"name": "p1", "nodeClass": "a"}, {"name": "p2", "nodeClass": "b"}],
        }
    )
    kinds = [item.obj["kind"] for item in render_all(config, "demo")][:4]
    assert kinds == ["EC2NodeClass", "EC2NodeClass", "NodePool", "NodePool"]
