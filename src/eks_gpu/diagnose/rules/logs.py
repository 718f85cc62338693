"""What the logs say: the plugin cannot load NVML, or waits forever with no devices; a test
pod hit CUDA error 802 (nvidia.md section 8, P1, P5, P9). Every known wording is matched,
since clusters run plugin versions from v0.13 to v0.17+."""

from __future__ import annotations

from collections.abc import Iterable

from eks_gpu.diagnose.context import LOG_EVIDENCE_LINES, Context
from eks_gpu.diagnose.finding import Diagnosis
from eks_gpu.diagnose.view import ClusterView, meta, name_of, nvidia_type, ref
from eks_gpu.manifests.cluster_state import PodLog

NVML_FAILURES = (
    "Incompatible strategy detected auto",  # v0.16+
    "Incompatible platform detected",  # v0.14-v0.15
    "could not load NVML library",  # v0.14-v0.15 and <= v0.13
    "Failed to initialize NVML",  # every version: the library loads but init fails
    "nvml init failed",  # v0.16+ warning with failOnInitError=false
)
WAITING = "No devices found. Waiting indefinitely."
CUDA_NOT_READY = ("Error 802", "cudaErrorSystemNotReady", "system not yet initialized")


def matching(logs: Iterable[PodLog], needles: tuple[str, ...]) -> list[str]:
    """The log lines that contain any of ``needles``, stripped, last ones kept."""
    found = [
        line.strip()
        for log in logs
        for line in log.text.splitlines()
        if any(needle in line for needle in needles)
    ]
    return found[-LOG_EVIDENCE_LINES:]


def _last_line(logs: Iterable[PodLog]) -> str:
    lines = [line.strip() for log in logs for line in log.text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def nvml_failure(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``device-plugin-nvml-failure``: the plugin's container cannot see the driver."""
    out = []
    for node in view.gpu_nodes:
        for pod in view.plugin_pods_on(name_of(node)):
            lines = matching(view.logs_of(pod), NVML_FAILURES)
            if not lines:
                continue
            out.append(
                Diagnosis(
                    "device-plugin-nvml-failure",
                    "error",
                    ref(node),
                    "the device plugin cannot load NVML: the node runs an AMI without the NVIDIA "
                    "driver, or containerd's default runtime is not nvidia",
                    (f"{ref(pod)} log:", *lines),
                    "use the accelerated AMI: amiSelectorTerms [{alias: al2023@latest}] (or a "
                    "pinned al2023@vYYYYMMDD) resolves the NVIDIA variant for GPU types; on a "
                    "custom AMI check `nvidia-smi` and that containerd's default_runtime_name "
                    "is nvidia",
                )
            )
    return out


def waiting(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``device-plugin-waiting``: the plugin's log ends waiting for devices on a GPU instance
    type, without an NVML failure before it (that one is the cause, reported instead)."""
    out = []
    for node in view.gpu_nodes:
        if not nvidia_type(node):
            continue
        for pod in view.plugin_pods_on(name_of(node)):
            logs = view.logs_of(pod)
            if WAITING not in _last_line(logs) or matching(logs, NVML_FAILURES):
                continue
            namespace = meta(pod).get("namespace")
            out.append(
                Diagnosis(
                    "device-plugin-waiting",
                    "error",
                    ref(node),
                    "the device plugin started before the GPU driver was ready and waits "
                    "forever: the node's GPUs are never registered",
                    (f"{ref(pod)} log ends with: {WAITING}",),
                    f"restart it: kubectl -n {namespace} delete pod {name_of(pod)}; for good, "
                    "set FAIL_ON_INIT_ERROR=true and run plugin v0.17.1 or later",
                )
            )
    return out


def cuda_not_ready(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``cuda-not-ready``: a pod's log shows CUDA error 802: fabric manager is not running
    (or not matching the driver) on an NVSwitch instance (p4d, p4de, p5, ...)."""
    out = []
    seen: set[tuple[str, str]] = set()
    for log in view.state.logs:
        key = (log.namespace, log.pod)
        if key in seen:
            continue
        lines = matching([log], CUDA_NOT_READY)
        if not lines:
            continue
        seen.add(key)
        out.append(
            Diagnosis(
                "cuda-not-ready",
                "error",
                f"Pod/{log.namespace}/{log.pod}",
                "CUDA error 802 (system not yet initialized): NVIDIA fabric manager is not "
                "running or does not match the driver on this NVSwitch instance",
                tuple(lines),
                "use the EKS accelerated AMI (it runs nvidia-fabricmanager); on a custom AMI "
                "check `systemctl status nvidia-fabricmanager` and make its version equal the "
                "driver's",
            )
        )
    return out


__all__ = [
    "CUDA_NOT_READY",
    "NVML_FAILURES",
    "WAITING",
    "cuda_not_ready",
    "nvml_failure",
    "waiting",
]
