"""The guide's choices, as constants: every default of ``eks-gpu.yaml`` comes from here.

``reference/guide.md`` is the source for names, label, taint, families, capacity types and
disruption; the rest (limits, root volume, images) are our choices where the guide is silent,
each explained next to its value.
"""

from __future__ import annotations

from typing import Final, Literal

from eks_gpu.names import TAINT_NVIDIA_GPU

NODEPOOL_NAME = "nodepool-gpu"
NODECLASS_NAME = "nodeclass-gpu"
NODE_LABEL = {"node-type": "gpu"}
GPU_TAINT_KEY = TAINT_NVIDIA_GPU
GPU_TAINT_VALUE = "true"
GPU_TAINT_EFFECT = "NoSchedule"

# The guide's families: G4dn, G5, G6, G6e, P3, P4 (P4 = p4d and p4de). p3 is legacy
# (V100: driver R580 and CUDA 12.x only) but kept for fidelity; `validate` warns about it.
GUIDE_FAMILIES = ("g4dn", "g5", "g6", "g6e", "p3", "p4d", "p4de")
CAPACITY_TYPES: tuple[Literal["spot", "on-demand"], ...] = ("spot", "on-demand")
ARCHITECTURES: tuple[Literal["amd64"], ...] = ("amd64",)

CONSOLIDATION_POLICY: Final = "WhenEmpty"
CONSOLIDATE_AFTER = "30s"

# The guide sets no limits; unbounded GPU spend is the most expensive mistake, so we do.
GPU_LIMIT = "16"
CPU_LIMIT = "1000"

# Karpenter's alias resolves the NVIDIA variant of the EKS AL2023 AMI per instance type and
# per Kubernetes minor; the guide's name pattern does neither (aws/karpenter-provider-aws#7731).
AMI_ALIAS = "al2023@latest"
GUIDE_AMI_NAME = "amazon-eks-node-al2023-x86_64-nvidia-*"
ROOT_VOLUME_SIZE = "100Gi"  # CUDA images are several GiB each; the AL2023 default is 20Gi.
ROOT_DEVICE = "/dev/xvda"

# Parallel image pulls need nothing from us: nodeadm already sets serializeImagePulls: false,
# and an unset maxParallelImagePulls means no limit (amazon-eks-ami
# nodeadm/internal/kubelet/config.go). So the NodeConfig part is empty unless the user adds
# kubelet fields; capping pulls at some N would only slow nodes down.
NODECONFIG_KUBELET: dict[str, object] = {}

DEVICE_PLUGIN_VERSION = "v0.20.0"  # newest release in shared/reference/nvidia
DEVICE_PLUGIN_GUIDE_VERSION = "v0.16.2"
DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin"
DEVICE_PLUGIN_NAMESPACE = "kube-system"
# NVIDIA ships the plugin without requests or limits (values.yaml `resources: {}`). A request
# keeps the plugin's share on a busy node (and Karpenter counts it as DaemonSet overhead); the
# limits bound a leak of a node-critical daemon, far above what it uses (an idle gRPC server
# and NVML health checks). docs/hardening.md.
DEVICE_PLUGIN_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi"},
}

# CUDA 12.x images: CUDA 13 dropped Volta (V100, p3), which the guide's families include.
CUDA_IMAGE = "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"
PYTORCH_IMAGE = "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"
TESTS_NAMESPACE = "eks-gpu-tests"
TEST_DEADLINE_SECONDS = 900
TEST_STORAGE_REQUEST = "10Gi"
# Test pods run as an unprivileged UID above the host's range (>= 10000, checkov CKV_K8S_40):
# it owns nothing on the node if a mount ever leaked. 65532 is the usual "nonroot" UID.
TEST_USER_ID = 65532
# A CPU limit per test pod, so a test never takes a node's CPUs from co-located workloads;
# whole cores, so torch's start-up and the storage probe's writes are not throttled.
TEST_CPU_LIMIT = {"simple": "1", "pytorch": "2", "storage": "2"}

MANAGED_BY = {"app.kubernetes.io/managed-by": "eks-gpu"}
