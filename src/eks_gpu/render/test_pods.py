"""The guide's three smoke-test pods, plus the namespace they run in.

Each pod tolerates the target pool's taints, selects its labels (``node-type: gpu``),
asks for one ``nvidia.com/gpu`` in limits, and runs non-root under the ``restricted``
Pod Security Standard, which its namespace enforces: no privilege escalation, every
capability dropped, ``RuntimeDefault`` seccomp, a UID >= 10000, CPU and memory limits, no
service account token, and a deadline. The image is pulled on every run (``Always``): a tag
that moved is noticed, and only the manifest is fetched when the layers are cached. The root
filesystem stays writable: the NVIDIA CDI hook fails on read-only roots (kserve/kserve#5711);
``checkov`` checks all of this in ``tests/test_checkov.py`` (docs/hardening.md).

``gpu-simple-test`` runs plain ``nvidia-smi`` (the CUDA base image has no Python; eks-gpu
parses the output on its side, :func:`eks_gpu.probes.gpu.parse_pod_log`). The PyTorch and
storage pods run the packaged probes from the ``eks-gpu-probes`` ConfigMap
(:mod:`eks_gpu.render.probe_sources`) with the image's ``python3``, and exit when the probe
does, so ``verify`` sees them finish. There is no keep-alive any more: to ``kubectl exec``
into a GPU pod, apply a copy of ``tests/test-gpu-pytorch.yaml`` whose command is ``sleep 3600``
and run ``python3 /opt/eks-gpu/probes/pytorch.py`` (or ``gpu.py``, ``storage.py``) in it by hand.
"""

from __future__ import annotations

from typing import Any

from eks_gpu.config.defaults import TEST_CPU_LIMIT, TEST_USER_ID
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
from eks_gpu.render.probe_sources import probe_path, probes_mount, probes_volume

SIMPLE = "gpu-simple-test"
PYTORCH = "gpu-pytorch-test"
STORAGE = "gpu-storage-test"
USER_ID = TEST_USER_ID
SCRATCH = "/scratch"
SCRATCH_VOLUME = "scratch"


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


def _container(
    name: str, image: str, command: list[str], memory: str, cpu_limit: str
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "Always",
        "command": command,
        "env": [{"name": "HOME", "value": "/tmp"}],
        "resources": {
            "requests": {"cpu": "100m", "memory": memory},
            "limits": {"cpu": cpu_limit, "memory": memory, RESOURCE_NVIDIA_GPU: "1"},
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
    container = _container(
        "nvidia-smi", config.tests.cuda_image, ["nvidia-smi"], "128Mi", TEST_CPU_LIMIT["simple"]
    )
    return _pod(SIMPLE, config, container)


def render_pytorch_test(config: GpuConfig) -> dict[str, Any]:
    """``gpu-pytorch-test``: the torch probe (CUDA, correctness, matmul TFLOP/s, copy GB/s)."""
    command = ["python3", probe_path("pytorch.py")]
    container = _container(
        "pytorch", config.tests.pytorch_image, command, "4Gi", TEST_CPU_LIMIT["pytorch"]
    )
    container["volumeMounts"] = [probes_mount()]
    pod = _pod(PYTORCH, config, container)
    pod["spec"]["volumes"] = [probes_volume()]
    return pod


def local_nvme_affinity() -> dict[str, Any]:
    """Only nodes with local NVMe: on a type without it (p3) scratch would be EBS, and the
    test would pass without testing the instance store."""
    term = {"matchExpressions": [{"key": LABEL_INSTANCE_LOCAL_NVME, "operator": "Gt",
                                  "values": ["0"]}]}  # fmt: skip
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}}  # fmt: skip


def storage_command() -> list[str]:
    """List the GPU (the image's ``nvidia-smi``), then the storage probe on the scratch dir,
    which must be the RAID0 array of the local NVMe disks (the probe exits 1 otherwise)."""
    probe = f"python3 {probe_path('storage.py')} --dir {SCRATCH} --expect-raid0"
    return ["/bin/sh", "-c", f"nvidia-smi -L && exec {probe}"]


def render_storage_test(config: GpuConfig) -> dict[str, Any]:
    """``gpu-storage-test``: GPU plus the storage probe on scratch; it only runs on types with
    local NVMe. The PyTorch image, because the CUDA base image has no ``python3``; it still has
    ``nvidia-smi``, as it asks for the driver's ``utility`` capability (pytorch/pytorch
    ``Dockerfile``, stage ``official``: ``NVIDIA_DRIVER_CAPABILITIES compute,utility``)."""
    tests = config.tests
    container = _container(
        "gpu-nvme", tests.pytorch_image, storage_command(), "512Mi", TEST_CPU_LIMIT["storage"]
    )
    container["resources"]["requests"]["ephemeral-storage"] = tests.storage_request
    container["resources"]["limits"]["ephemeral-storage"] = tests.storage_request
    container["volumeMounts"] = [{"name": SCRATCH_VOLUME, "mountPath": SCRATCH}, probes_mount()]
    pod = _pod(STORAGE, config, container)
    pod["spec"]["affinity"] = local_nvme_affinity()
    # emptyDir lives under the kubelet root, which RAID0 puts on the instance-store NVMe.
    pod["spec"]["volumes"] = [
        {"name": SCRATCH_VOLUME, "emptyDir": {"sizeLimit": tests.storage_request}},
        probes_volume(),
    ]
    return pod


__all__ = [
    "PYTORCH",
    "SIMPLE",
    "STORAGE",
    "local_nvme_affinity",
    "pod_tolerations",
    "render_namespace",
    "render_pytorch_test",
    "render_simple_test",
    "render_storage_test",
    "storage_command",
]
