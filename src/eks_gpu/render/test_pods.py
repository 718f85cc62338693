"""The guide's three smoke-test pods, plus the namespace they run in.

Each pod tolerates the target pool's taints, selects its labels (``node-type: gpu``),
asks for one ``nvidia.com/gpu`` in limits, and runs non-root under the ``restricted``
Pod Security Standard, which its namespace enforces. The root filesystem stays writable:
the NVIDIA CDI hook fails on read-only roots (kserve/kserve#5711).
"""

from __future__ import annotations

from typing import Any

from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.nodepool import NodePool
from eks_gpu.config.test_pods import Tests
from eks_gpu.names import (
    LABEL_INSTANCE_LOCAL_NVME,
    LABEL_POD_SECURITY_ENFORCE,
    LABEL_POD_SECURITY_WARN,
    LABEL_TEST,
    RESOURCE_NVIDIA_GPU,
)
from eks_gpu.render.metadata import object_meta

SIMPLE = "gpu-simple-test"
PYTORCH = "gpu-pytorch-test"
STORAGE = "gpu-storage-test"
# Long enough to `kubectl exec` into the PyTorch pod, as the guide does; bounded by the deadline.
PYTORCH_KEEP_ALIVE_SECONDS = 300
USER_ID = 1000

PYTORCH_CHECK = f"""\
import json, sys, time
import torch
ok = torch.cuda.is_available()
result = {{"torch": torch.__version__, "cuda": torch.version.cuda, "cuda_available": ok}}
print(f"CUDA available: {{ok}}")
if ok:
    result["device_count"] = torch.cuda.device_count()
    result["device_name"] = torch.cuda.get_device_name(0)
    print(f"GPU name: {{result['device_name']}}")
    x = torch.rand(1024, 1024, device="cuda")
    result["matmul_finite"] = bool(torch.isfinite(x @ x).all())
print(json.dumps(result, sort_keys=True), flush=True)
if not ok or not result["matmul_finite"]:
    sys.exit(1)
time.sleep({PYTORCH_KEEP_ALIVE_SECONDS})
"""

# The scratch emptyDir must sit on the md array RAID0 builds from the local NVMe disks
# (nodeadm: /dev/md/kubernetes, i.e. /dev/md127), not on the root EBS volume: the mount's
# source device is read from /proc/self/mountinfo (after the " - " separator: fstype, source).
STORAGE_CHECK = """\
set -eu
nvidia-smi -L
df -h /scratch
src=$(awk '$5 == "/scratch" {
  for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 2); exit } }' /proc/self/mountinfo)
case "$src" in
  /dev/md*) echo "/scratch is on $src (RAID0 over the local NVMe disks)" ;;
  *) echo "FAIL: /scratch is on ${src:-?}, not the RAID0 md device" >&2; exit 1 ;;
esac
dd if=/dev/zero of=/scratch/probe bs=1M count=1024 oflag=direct conv=fsync
rm -f /scratch/probe
echo "storage test passed"
"""


def render_namespace(tests: Tests) -> dict[str, Any]:
    """The test namespace, enforcing the ``restricted`` Pod Security Standard."""
    meta = object_meta(
        tests.namespace,
        **{
            LABEL_POD_SECURITY_ENFORCE: "restricted",
            LABEL_POD_SECURITY_WARN: "restricted",
        },
    )
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def pod_tolerations(pool: NodePool) -> list[dict[str, str]]:
    """Tolerate exactly the pool's taints (by value when the taint has one)."""
    tolerations = []
    for taint in pool.taints:
        if taint.value is None:
            tolerations.append({"key": taint.key, "operator": "Exists", "effect": taint.effect})
        else:
            tolerations.append(
                {
                    "key": taint.key,
                    "operator": "Equal",
                    "value": taint.value,
                    "effect": taint.effect,
                }
            )
    return tolerations


def _container(name: str, image: str, command: list[str], memory: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": command,
        "env": [{"name": "HOME", "value": "/tmp"}],
        "resources": {
            "requests": {"cpu": "100m", "memory": memory},
            "limits": {"memory": memory, RESOURCE_NVIDIA_GPU: "1"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
        },
    }


def _pod(name: str, config: GpuConfig, container: dict[str, Any]) -> dict[str, Any]:
    tests, pool = config.tests, config.test_pool()
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": object_meta(name, tests.namespace, **{LABEL_TEST: name}),
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": tests.deadline_seconds,
            "automountServiceAccountToken": False,
            "nodeSelector": dict(sorted(pool.labels.items())),
            "tolerations": pod_tolerations(pool),
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": USER_ID,
                "runAsGroup": USER_ID,
                "fsGroup": USER_ID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
        },
    }


def render_simple_test(config: GpuConfig) -> dict[str, Any]:
    """``gpu-simple-test``: runs ``nvidia-smi`` once."""
    container = _container("nvidia-smi", config.tests.cuda_image, ["nvidia-smi"], "128Mi")
    return _pod(SIMPLE, config, container)


def render_pytorch_test(config: GpuConfig) -> dict[str, Any]:
    """``gpu-pytorch-test``: CUDA from PyTorch, a small matmul, then stays up to be exec'd."""
    command = ["python3", "-c", PYTORCH_CHECK]
    container = _container("pytorch", config.tests.pytorch_image, command, "4Gi")
    return _pod(PYTORCH, config, container)


def local_nvme_affinity() -> dict[str, Any]:
    """Only nodes with local NVMe: on a type without it (p3) scratch would be EBS, and the
    test would pass without testing the instance store."""
    term = {"matchExpressions": [{"key": LABEL_INSTANCE_LOCAL_NVME, "operator": "Gt",
                                  "values": ["0"]}]}  # fmt: skip
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}}  # fmt: skip


def render_storage_test(config: GpuConfig) -> dict[str, Any]:
    """``gpu-storage-test``: GPU plus a write to scratch, which must be on the RAID0 md array
    of the local NVMe disks (the pod fails otherwise); it only runs on types with them."""
    tests = config.tests
    container = _container("gpu-nvme", tests.cuda_image, ["/bin/sh", "-c", STORAGE_CHECK], "256Mi")
    container["resources"]["requests"]["ephemeral-storage"] = tests.storage_request
    container["resources"]["limits"]["ephemeral-storage"] = tests.storage_request
    container["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
    pod = _pod(STORAGE, config, container)
    pod["spec"]["affinity"] = local_nvme_affinity()
    # emptyDir lives under the kubelet root, which RAID0 puts on the instance-store NVMe.
    pod["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {"sizeLimit": tests.storage_request}}]
    return pod


__all__ = [
    "PYTORCH",
    "SIMPLE",
    "STORAGE",
    "STORAGE_CHECK",
    "local_nvme_affinity",
    "pod_tolerations",
    "render_namespace",
    "render_pytorch_test",
    "render_simple_test",
    "render_storage_test",
]
