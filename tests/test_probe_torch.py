"""The torch probe: run as a script (no torch here), against a fake ``torch`` package, and its
pure arithmetic.

The fake package is written to ``tmp_path`` and put first on PYTHONPATH, so the probe runs
exactly as in a pod (a subprocess, its JSON last line and exit code), with CUDA failing the ways
real PyTorch fails: error 802 (nvidia.md P9) raised or emitted as cudaGetDeviceCount's warning,
and "no kernel image" from the first matmul.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from eks_gpu.probes import pytorch as probe
from probe_run import run_probe

SCRIPT = Path(probe.__file__)
PY38 = Path("/root/.pyenv/versions/3.8.18/bin/python3")
# PyTorch's wording (torch/cuda/__init__.py, _check_driver / is_available warning), with the
# 802 text as users reported it in NVIDIA/k8s-device-plugin#416 (nvidia.md P9).
WARN_802 = (
    "CUDA initialization: Unexpected error from cudaGetDeviceCount(). Did you run some cuda "
    "functions before calling NumCudaDevices() that might have already set an error? Error 802: "
    "system not yet initialized (Triggered internally at ../c10/cuda/CUDAFunctions.cpp:109.)"
)
NO_KERNEL = (
    "CUDA error: no kernel image is available for execution on the device\n"
    "CUDA kernel errors might be asynchronously reported at some other API call"
)

FAKE_TORCH = """
import os, warnings
__version__ = "2.9.0+fake"
MODE = os.environ["FAKE_TORCH_MODE"]
float64, float32, float16, bfloat16, uint8 = "float64", "float32", "float16", "bfloat16", "uint8"
MS_PER_OP = 10.0  # the simulated GPU's clock advances 10 ms per timed matmul or copy
CLOCK = [0.0]
WORKING = MODE in ("gpu", "wrong")

class version:
    cuda = None if MODE == "cpu-only" else "12.8"

class device:
    def __init__(self, kind, index=0):
        self.kind = kind

class Tensor:
    # A scalar stands in for the matrix: enough for the probe's error arithmetic.
    def __init__(self, where="cpu", value=1.5):
        self.where, self.value = where, value
    def to(self, target):
        return Tensor(target.kind if isinstance(target, device) else self.where, self.value)
    def __matmul__(self, other):
        if self.where == "cuda" and not WORKING:
            raise RuntimeError(os.environ["FAKE_TORCH_ERROR"])
        wrong = 1.1 if self.where == "cuda" and MODE == "wrong" else 1.0
        return Tensor(self.where, self.value * other.value * wrong)
    def __sub__(self, other):
        return Tensor(self.where, self.value - other.value)
    def double(self):
        return self
    def cpu(self):
        return Tensor("cpu", self.value)
    def abs(self):
        return Tensor(self.where, abs(self.value))
    def max(self):
        return self
    def __float__(self):
        return float(self.value)
    def copy_(self, src):
        CLOCK[0] += MS_PER_OP

def randn(*shape, dtype=None, device=None):
    return Tensor("cuda" if device is not None else "cpu")

def empty(*shape, dtype=None, device=None):
    return Tensor("cuda")

def matmul(a, b, out=None):
    CLOCK[0] += MS_PER_OP

class _T4:
    name, major, minor, total_memory = "Tesla T4", 7, 5, 15655829504

class _H100:
    name, major, minor, total_memory = "NVIDIA H100 80GB HBM3", 9, 0, 85520809984

class cuda:
    @staticmethod
    def is_available():
        if MODE == "raise":
            raise RuntimeError(os.environ["FAKE_TORCH_ERROR"])
        if MODE == "warn":
            warnings.warn(os.environ["FAKE_TORCH_ERROR"], UserWarning)
            return False
        return MODE == "kernel" or WORKING
    @staticmethod
    def device_count():
        return 2 if WORKING else 1
    @staticmethod
    def get_device_properties(index):
        return _H100() if WORKING and os.environ.get("FAKE_TORCH_GPU") != "t4" else _T4()
    @staticmethod
    def set_device(index):
        pass
    @staticmethod
    def empty_cache():
        pass
    class Event:
        def __init__(self, enable_timing=False):
            self.at = None
        def record(self):
            self.at = CLOCK[0]
        def synchronize(self):
            pass
        def elapsed_time(self, end):
            return end.at - self.at
"""


def _run(
    args: list[str],
    tmp_path: Path,
    mode: str | None = None,
    error: str = "",
    python: str = sys.executable,
    gpu: str = "",
) -> tuple[int, dict[str, Any]]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if mode is not None:
        package = tmp_path / "fake" / "torch"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(FAKE_TORCH)
        env.update(
            PYTHONPATH=str(package.parent),
            FAKE_TORCH_MODE=mode,
            FAKE_TORCH_ERROR=error,
            FAKE_TORCH_GPU=gpu,
        )
    code, result, _ = run_probe(SCRIPT, args, env=env, python=python, timeout=60)
    return code, result


def test_without_torch_it_prints_clean_json_and_exits_1(tmp_path: Path) -> None:
    code, result = _run([], tmp_path)
    assert code == 1
    assert result["probe"] == "torch" and result["ok"] is False
    assert result["cause"] == "no-torch"
    assert result["reason"].startswith("PyTorch is not installed")
    assert result["devices"] == [] and result["cuda_available"] is False


@pytest.mark.parametrize(
    "args", [["--size", "0"], ["--iters", "x"], ["--seconds", "-1"], ["--bogus"]]
)
def test_bad_arguments_exit_2_with_json(tmp_path: Path, args: list[str]) -> None:
    code, result = _run(args, tmp_path)
    assert code == 2
    assert result == {
        "probe": "torch",
        "ok": False,
        "cause": "bad-arguments",
        "reason": result["reason"],
    }
    assert result["reason"].startswith("bad arguments: ")


def test_torch_without_cuda(tmp_path: Path) -> None:
    code, result = _run([], tmp_path, mode="none")
    assert code == 1
    assert result["torch_version"] == "2.9.0+fake"
    assert result["cuda_available"] is False
    assert result["cause"] == "no-cuda"


def test_cpu_only_build_is_named(tmp_path: Path) -> None:
    code, result = _run([], tmp_path, mode="cpu-only")
    assert code == 1
    assert result["cause"] == "cpu-only-torch"


def test_error_802_raised_from_is_available(tmp_path: Path) -> None:
    error = "CUDA error: system not yet initialized (cudaErrorSystemNotReady)"
    code, result = _run([], tmp_path, mode="raise", error=error)
    assert code == 1
    assert result["cause"] == "fabric-manager"
    assert "nvidia-fabricmanager" in result["reason"]
    assert "system not yet initialized" in result["error"]


def test_error_802_as_cudagetdevicecount_warning(tmp_path: Path) -> None:
    code, result = _run([], tmp_path, mode="warn", error=WARN_802)
    assert code == 1
    assert result["cause"] == "fabric-manager"
    assert "Error 802" in result["warnings"]
    assert "p4d" in result["reason"]


def test_no_kernel_image_from_the_first_matmul(tmp_path: Path) -> None:
    code, result = _run([], tmp_path, mode="kernel", error=NO_KERNEL)
    assert code == 1
    assert result["cuda_available"] is True
    (device,) = result["devices"]
    assert device["name"] == "Tesla T4" and device["capability"] == "7.5"
    assert device["memory_bytes"] == 15655829504
    assert device["cause"] == "arch-unsupported"
    assert result["cause"] == "arch-unsupported"
    assert "get_arch_list" in result["reason"]


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (WARN_802, "fabric-manager"),
        ("CUDA error: code=802(cudaErrorSystemNotReady)", "fabric-manager"),
        (NO_KERNEL, "arch-unsupported"),
        (
            "The NVIDIA driver on your system is too old (found version 11040).",
            "driver-too-old",
        ),
        ("CUDA driver version is insufficient for CUDA runtime version", "driver-too-old"),
        ("Found no NVIDIA driver on your system.", "no-driver"),
        ("CUDA error: no CUDA-capable device is detected", "no-device"),
        ("CUDA out of memory. Tried to allocate 2.00 GiB", "out-of-memory"),
    ],
)
def test_classify_cuda_error(text: str, cause: str) -> None:
    assert probe.classify_cuda_error(text)[0] == cause


def test_unknown_error_text_is_kept() -> None:
    assert probe.classify_cuda_error("CUDA error: misaligned address") == (
        "cuda-error",
        "CUDA error: misaligned address",
    )


def test_flops_and_bandwidth_arithmetic() -> None:
    # 20 matmuls of 8192^3 in 1 s: 2 * 8192^3 * 20 / 1e12 = 21.99 TFLOP/s
    assert probe.matmul_tflops(8192, 20, 1000.0) == pytest.approx(21.990232555)
    # 1 GiB copied 10 times in 50 ms, read + write: 2 * 2^30 * 10 / 0.05 / 1e9 = 429.5 GB/s
    assert probe.copy_gb_s(1 << 30, 10, 50.0) == pytest.approx(429.4967296)
    with pytest.raises(ValueError):
        probe.matmul_tflops(8192, 1, 0.0)


@pytest.mark.parametrize(
    ("memory_mib", "limit", "size"),
    [
        (81920, None, 8192),  # H100: the full size
        (15 * 1024, None, 8192),  # T4: 3 * 8192^2 * 2 B = 384 MiB <= 1/8 of 15 GiB
        (2861, None, 4096),  # g6f's 1/8 L4: 384 MiB > 357 MiB
        (81920, 2048, 2048),  # --size caps it
        (64, None, 1024),  # 3 * 1024^2 * 2 B = 6 MiB <= 8 MiB
        (4, None, 512),  # tiny: nothing fits, the smallest candidate
    ],
)
def test_size_from_memory(memory_mib: int, limit: int | None, size: int) -> None:
    assert probe.choose_matmul_size(memory_mib << 20, limit) == size


def test_copy_bytes_bounded() -> None:
    assert probe.choose_copy_bytes(80 << 30) == 1 << 30
    assert probe.choose_copy_bytes(2861 << 20) == int((2861 << 20) * 0.125)


def test_iterations_fit_the_time_left() -> None:
    assert probe.iterations_within(10.0, 0.5, 100) == 20
    assert probe.iterations_within(0.0, 0.5, 100) == 1  # always one timed run
    assert probe.iterations_within(100.0, 0.001, 20) == 20


def test_bf16_only_from_ampere() -> None:
    assert not probe.bf16_supported((7, 5))
    assert probe.bf16_supported((8, 0)) and probe.bf16_supported((9, 0))


def test_assembled_result_fails_on_a_bad_device() -> None:
    good = {"index": 0, "name": "NVIDIA L4", "matmul_ok": True}
    bad = {"index": 1, "name": "NVIDIA L4", "matmul_ok": False}
    assert probe.assemble_result("2.9", True, [good])["ok"] is True
    result = probe.assemble_result("2.9", True, [good, bad])
    assert result["ok"] is False and result["cause"] == "wrong-result"
    assert "GPU 1 (NVIDIA L4)" in result["reason"]
    assert probe.assemble_result("2.9", True, [])["ok"] is False


def test_relative_error_is_normwise() -> None:
    assert probe.relative_error(0.01, 10.0) == pytest.approx(0.001)
    assert probe.relative_error(0.5, 0.0) == 0.5


@pytest.mark.skipif(not PY38.exists(), reason=f"no Python 3.8 at {PY38}")
def test_runs_under_python_3_8(tmp_path: Path) -> None:
    code, result = _run([], tmp_path, mode="kernel", error=NO_KERNEL, python=str(PY38))
    assert code == 1
    assert result["cause"] == "arch-unsupported"
    code, result = _run(["--size", "-3"], tmp_path, python=str(PY38))
    assert code == 2


def test_working_gpus_measured_with_cuda_events(tmp_path: Path) -> None:
    """Two simulated H100s whose clock runs 10 ms per op: every figure follows from that."""
    code, result = _run(["--iters", "5"], tmp_path, mode="gpu")
    assert code == 0, result
    assert result["ok"] is True and result["cause"] is None
    assert [d["index"] for d in result["devices"]] == [0, 1]
    device = result["devices"][0]
    assert device["name"] == "NVIDIA H100 80GB HBM3" and device["capability"] == "9.0"
    assert device["matmul_ok"] is True
    assert device["max_rel_error"] == {"float32": 0.0, "float16": 0.0, "bfloat16": 0.0}
    assert device["matmul_size"] == 8192
    # 2 * 8192^3 per matmul, 10 ms each: the iteration count cancels out if events and
    # flops count the same iterations.
    expected = round(2 * 8192**3 / 0.010 / 1e12, 2)
    assert device["tflops"] == {"fp16": expected, "bf16": expected}
    assert device["copy_bytes"] == 1 << 30
    assert device["copy_gb_s"] == round(2 * (1 << 30) / 0.010 / 1e9, 1)


def test_size_flag_caps_the_matmul(tmp_path: Path) -> None:
    code, result = _run(["--size", "1024", "--iters", "2"], tmp_path, mode="gpu")
    assert code == 0
    device = result["devices"][0]
    assert device["matmul_size"] == 1024
    assert device["tflops"]["fp16"] == round(2 * 1024**3 / 0.010 / 1e12, 2)


def test_a_wrong_gpu_result_fails(tmp_path: Path) -> None:
    code, result = _run(["--iters", "1"], tmp_path, mode="wrong")
    assert code == 1
    assert result["cause"] == "wrong-result"
    device = result["devices"][0]
    assert device["matmul_ok"] is False
    assert device["max_rel_error"]["float16"] == pytest.approx(0.1)


def test_t4_has_no_bf16(tmp_path: Path) -> None:
    code, result = _run(["--iters", "1"], tmp_path, mode="gpu", gpu="t4")
    assert code == 0, result
    device = result["devices"][0]
    assert device["tflops"]["bf16"] == "unsupported"
    assert set(device["max_rel_error"]) == {"float32", "float16"}
    assert device["matmul_size"] == 8192  # 384 MiB of matrices fit 1/8 of the T4's 14.6 GiB
