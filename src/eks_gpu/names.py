"""The qualified Kubernetes, Karpenter and NVIDIA names the tool speaks: label keys,
extended resource names, taint keys, API groups and versions.

Every such literal in ``src/`` lives here, once (``tests/test_names.py`` fails when one
appears anywhere else), so a renamed label or a new API version is a one-line change. Plain
names (``cpu``, ``memory``, kinds such as ``NodePool``) are Kubernetes' own vocabulary and
are written where they are used.
"""

from __future__ import annotations

# --- API groups and versions ----------------------------------------------------------------
GROUP_KARPENTER = "karpenter.sh"
GROUP_KARPENTER_AWS = "karpenter.k8s.aws"
KARPENTER_GROUPS = (GROUP_KARPENTER, GROUP_KARPENTER_AWS)
API_VERSION_NODEPOOL = f"{GROUP_KARPENTER}/v1"
API_VERSION_EC2NODECLASS = f"{GROUP_KARPENTER_AWS}/v1"
API_VERSION_NODEOVERLAY = f"{GROUP_KARPENTER}/v1alpha1"
API_VERSION_APPS = "apps/v1"
GROUP_APIEXTENSIONS = "apiextensions.k8s.io"
API_VERSION_APIEXTENSIONS = f"{GROUP_APIEXTENSIONS}/v1"
GROUP_CLIENT_AUTHENTICATION = "client.authentication.k8s.io"
API_VERSION_EXEC_CREDENTIAL = f"{GROUP_CLIENT_AUTHENTICATION}/v1"
API_VERSION_EXEC_CREDENTIAL_V1BETA1 = f"{GROUP_CLIENT_AUTHENTICATION}/v1beta1"
GROUP_EKS_NODE = "node.eks.aws"
"""nodeadm's group: the ``NodeConfig`` API version and the MIME type of its user-data part."""
API_VERSION_NODECONFIG = f"{GROUP_EKS_NODE}/v1alpha1"
API_VERSION_KUSTOMIZATION = "kustomize.config.k8s.io/v1beta1"
GROUP_METRICS = "metrics.k8s.io"
GROUP_RBAC = "rbac.authorization.k8s.io"
API_VERSION_RBAC = f"{GROUP_RBAC}/v1"

# --- label keys: Kubernetes ------------------------------------------------------------------
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"
LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
LABEL_ARCH = "kubernetes.io/arch"
LABEL_OS = "kubernetes.io/os"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_WINDOWS_BUILD = "node.kubernetes.io/windows-build"
LABEL_BETA_ZONE = "failure-domain.beta.kubernetes.io/zone"
LABEL_BETA_REGION = "failure-domain.beta.kubernetes.io/region"
LABEL_BETA_ARCH = "beta.kubernetes.io/arch"
LABEL_BETA_OS = "beta.kubernetes.io/os"
LABEL_BETA_INSTANCE_TYPE = "beta.kubernetes.io/instance-type"
LABEL_POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce"
LABEL_POD_SECURITY_WARN = "pod-security.kubernetes.io/warn"
DOMAIN_KUBERNETES = "kubernetes.io"
DOMAIN_K8S = "k8s.io"
"""Label keys under these domains (and their subdomains) are reserved to Kubernetes."""

LABEL_APP_NAME = "app.kubernetes.io/name"
"""The recommended app label; Karpenter's Helm chart sets it to ``karpenter`` on its Deployment."""

# --- label keys: EKS -------------------------------------------------------------------------
LABEL_EKS_COMPUTE_TYPE = "eks.amazonaws.com/compute-type"
LABEL_EKS_CAPACITY_TYPE = "eks.amazonaws.com/capacityType"
"""Managed node groups' capacity type label (``ON_DEMAND`` / ``SPOT``)."""

# --- label keys: Karpenter core -------------------------------------------------------------
LABEL_NODEPOOL = f"{GROUP_KARPENTER}/nodepool"
LABEL_NODECLAIM = f"{GROUP_KARPENTER}/nodeclaim"
LABEL_CAPACITY_TYPE = f"{GROUP_KARPENTER}/capacity-type"
TAG_DISCOVERY = f"{GROUP_KARPENTER}/discovery"
PREFIX_KARPENTER = f"{GROUP_KARPENTER}/"

# --- EC2 tags that EKS and Kubernetes own (Karpenter refuses them on an EC2NodeClass) --------
TAG_EKS_CLUSTER_NAME = "eks:eks-cluster-name"
TAG_PREFIX_KUBERNETES_CLUSTER = "kubernetes.io/cluster"

# --- label keys: Karpenter's AWS provider ---------------------------------------------------
PREFIX_AWS = f"{GROUP_KARPENTER_AWS}/"
LABEL_ZONE_ID = "topology.k8s.aws/zone-id"
LABEL_EC2NODECLASS = f"{PREFIX_AWS}ec2nodeclass"
LABEL_INSTANCE_FAMILY = f"{PREFIX_AWS}instance-family"
LABEL_INSTANCE_CATEGORY = f"{PREFIX_AWS}instance-category"
LABEL_INSTANCE_GENERATION = f"{PREFIX_AWS}instance-generation"
LABEL_INSTANCE_SIZE = f"{PREFIX_AWS}instance-size"
LABEL_INSTANCE_CPU = f"{PREFIX_AWS}instance-cpu"
LABEL_INSTANCE_MEMORY = f"{PREFIX_AWS}instance-memory"
LABEL_INSTANCE_LOCAL_NVME = f"{PREFIX_AWS}instance-local-nvme"
LABEL_INSTANCE_TENANCY = f"{PREFIX_AWS}instance-tenancy"
LABEL_GPU_NAME = f"{PREFIX_AWS}instance-gpu-name"
LABEL_GPU_MANUFACTURER = f"{PREFIX_AWS}instance-gpu-manufacturer"
LABEL_GPU_COUNT = f"{PREFIX_AWS}instance-gpu-count"
LABEL_GPU_MEMORY = f"{PREFIX_AWS}instance-gpu-memory"
LABEL_CAPACITY_RESERVATION_ID = f"{PREFIX_AWS}capacity-reservation-id"
LABEL_CAPACITY_RESERVATION_TYPE = f"{PREFIX_AWS}capacity-reservation-type"
LABEL_CAPACITY_RESERVATION_INTERRUPTIBLE = f"{PREFIX_AWS}capacity-reservation-interruptible"

# --- resources -------------------------------------------------------------------------------
PREFIX_NVIDIA = "nvidia.com/"
RESOURCE_NVIDIA_GPU = f"{PREFIX_NVIDIA}gpu"
RESOURCE_NVIDIA_GPU_SHARED = f"{RESOURCE_NVIDIA_GPU}.shared"  # time-slicing, renameByDefault
PREFIX_NVIDIA_MIG = f"{PREFIX_NVIDIA}mig-"
"""MIG slices under the device plugin's ``mixed`` strategy: ``nvidia.com/mig-1g.5gb``, ..."""
LABEL_NVIDIA_GPU_PRODUCT = f"{RESOURCE_NVIDIA_GPU}.product"
"""GPU feature discovery's GPU model label (``NVIDIA-A10G``)."""
LABEL_NVIDIA_GPU_PRESENT = f"{PREFIX_NVIDIA}gpu.present"
"""The node label NVIDIA GPU feature discovery sets (a label, not a resource)."""
RESOURCE_AMD_GPU = "amd.com/gpu"
RESOURCE_NEURON = "aws.amazon.com/neuron"
RESOURCE_GAUDI = "habana.ai/gaudi"
GPU_RESOURCES = (RESOURCE_NVIDIA_GPU, RESOURCE_AMD_GPU)
EXOTIC_RESOURCES = (RESOURCE_NVIDIA_GPU, RESOURCE_AMD_GPU, RESOURCE_NEURON, RESOURCE_GAUDI)
"""Resources that make an instance type "exotic" to Karpenter (launched only when needed)."""

# --- taints ----------------------------------------------------------------------------------
TAINT_NVIDIA_GPU = RESOURCE_NVIDIA_GPU
"""The guide's GPU taint key (``nvidia.com/gpu=true:NoSchedule``), also what EKS's
ExtendedResourceToleration admission tolerates for ``nvidia.com/gpu`` pods."""
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized"
TAINT_UNREGISTERED = f"{GROUP_KARPENTER}/unregistered"
TAINT_PREFIX_NODE = "node.kubernetes.io/"
TAINT_NETWORK_UNAVAILABLE = f"{TAINT_PREFIX_NODE}network-unavailable"
TAINT_PREFIX_READINESS = "readiness.k8s.io/"
"""Keys under this prefix are node-readiness gates, also removed once the node is ready."""

# --- kubectl's and the recommended app labels ------------------------------------------------
ANNOTATION_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
"""What ``kubectl apply`` keeps of the last applied object (env values included)."""

# --- eks-gpu's own keys ----------------------------------------------------------------------
PREFIX_EKS_GPU = "eks-gpu.io/"
LABEL_TEST = f"{PREFIX_EKS_GPU}test"
LABEL_VERIFY_RUN = f"{PREFIX_EKS_GPU}verify-run"
"""On every object ``verify`` creates: the run's id, so a later run finds its leftovers."""
ANNOTATION_VERIFY_EXPIRES = f"{PREFIX_EKS_GPU}verify-expires"
"""When a run's namespace may be removed by another run (RFC 3339): its deadline passed."""
ANNOTATION_SHARING_CONFIG_HASH = f"{PREFIX_EKS_GPU}sharing-config-hash"
API_VERSION_EKS_GPU = f"{PREFIX_EKS_GPU}v1"
"""The ``apiVersion`` of every ``-o json`` document of ours (docs/json-output.md): additive
changes keep ``v1``; a removed or retyped key would need ``v2``."""
API_VERSION_CORE = "v1"
"""Kubernetes' core group version: ``render -o json`` prints a ``kind: List`` of it."""

__all__ = [name for name in dir() if name.isupper()]
