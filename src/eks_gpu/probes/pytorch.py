#!/usr/bin/env python3
"""The ``torch`` probe: can PyTorch use the GPUs, is their arithmetic right, how fast are they.

Run as ``python3 pytorch.py [--size N] [--iters N] [--seconds LIMIT]`` with the image's python3;
the last output line is one JSON object ``{"probe": "torch", "ok": ..., ...}``. Exit 0 when every
device passed, 1 when the check failed (no torch, no CUDA, a CUDA error, a wrong result), 2 for
bad arguments. Stdlib only, Python >= 3.8; torch is imported lazily so a pod without it still gets
a clean answer. The file is not named ``torch.py``: run as a script its folder is ``sys.path[0]``
and would shadow the real package.

The probe reports measured figures and the device name only; the fraction of datasheet peak is
computed on the eks-gpu side (``eks_gpu.catalog.baselines``), because the pod has no catalog.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
import time
import warnings
from typing import Any

PROBE = "torch"
DEFAULT_SIZE = 8192  # big enough to keep a datacenter GPU's tensor cores busy
SIZE_CANDIDATES = (8192, 4096, 2048, 1024, 512)
MATMUL_MEMORY_FRACTION = 0.125  # the three N x N fp16 matrices may use this much of the GPU
COPY_BYTES_MAX = 1 << 30  # 1 GiB source (+ 1 GiB destination)
COPY_MEMORY_FRACTION = 0.125
CHECK_SIZE = 256  # the correctness check's matrices (checked against a float64 CPU product)
WARMUP_ITERS = 3
DEFAULT_ITERS = 20
DEFAULT_SECONDS = 60.0
# Normwise relative error max|gpu - ref| / max|ref| allowed per dtype, with the float64
# reference computed from the same rounded inputs: it measures accumulation and output
# rounding only. fp16 output rounding is 2^-11, bf16 2^-8; fp32 may run as TF32 (2^-11).
TOLERANCE = {"float32": 5e-3, "float16": 1e-2, "bfloat16": 5e-2}
COPY_CONVENTION = "bytes read + bytes written per second, in 1e9 (the memory-bandwidth convention)"
FLOPS_CONVENTION = "2*N^3 floating-point operations per N x N matmul, in 1e12 per second"

# (cause code, substrings (lower case) that identify it, what it means and what to do)
_CAUSES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "fabric-manager",
        ("error 802", "system not yet initialized", "cudaerrorsystemnotready", "code=802"),
        "CUDA error 802 (cudaErrorSystemNotReady): on NVSwitch instances (p4d, p4de, p5, p5e, "
        "p5en) the nvidia-fabricmanager service is not running or its version differs from the "
        "driver's; use the EKS accelerated AMI (it ships fabric manager) or start "
        "nvidia-fabricmanager with the driver's exact version",
    ),
    (
        "arch-unsupported",
        ("no kernel image is available", "cudaerrornokernelimagefordevice", "error 209"),
        "the PyTorch wheel has no kernels for this GPU's compute capability (e.g. a T4, sm_75, "
        "with a wheel built without it, or a new GPU with an old wheel); install a torch build "
        "whose torch.cuda.get_arch_list() includes this GPU's sm_XY (a newer wheel, or the "
        "CUDA variant matching the GPU)",
    ),
    (
        "driver-too-old",
        ("driver version is insufficient", "driver on your system is too old", "error 35"),
        "the NVIDIA driver is older than the CUDA runtime this PyTorch was built with; use a "
        "torch build for an older CUDA or a newer driver (AMI)",
    ),
    (
        "no-driver",
        ("found no nvidia driver", "libcuda.so", "error 999", "unknown error"),
        "the NVIDIA driver is not usable from the container (not installed, not mounted by "
        "the container toolkit, or in a failed state); check nvidia-smi on the node",
    ),
    (
        "no-device",
        ("no cuda-capable device", "error 100", "invalid device ordinal"),
        "CUDA sees no GPU: the pod did not get one (no nvidia.com/gpu limit, or "
        "CUDA_VISIBLE_DEVICES/NVIDIA_VISIBLE_DEVICES hide it)",
    ),
    (
        "out-of-memory",
        ("out of memory",),
        "the GPU ran out of memory: other processes hold it, or --size is too large",
    ),
)


def classify_cuda_error(text: str) -> tuple[str, str]:
    """(cause code, meaning) for a CUDA error or warning text; ("cuda-error", text) if unknown."""
    lower = text.lower()
    for cause, needles, meaning in _CAUSES:
        if any(needle in lower for needle in needles):
            return cause, meaning
    return "cuda-error", text.strip() or "CUDA failed without a message"


def matmul_tflops(n: int, iterations: int, milliseconds: float) -> float:
    """TFLOP/s of ``iterations`` N x N matmuls taking ``milliseconds`` (2*N^3 each)."""
    if milliseconds <= 0:
        raise ValueError("elapsed time must be positive")
    return 2.0 * n**3 * iterations / (milliseconds / 1000.0) / 1e12


def copy_gb_s(nbytes: int, iterations: int, milliseconds: float) -> float:
    """GB/s of ``iterations`` device copies of ``nbytes``, counting bytes read + written."""
    if milliseconds <= 0:
        raise ValueError("elapsed time must be positive")
    return 2.0 * nbytes * iterations / (milliseconds / 1000.0) / 1e9


def choose_matmul_size(memory_bytes: int, limit: int | None = None) -> int:
    """Largest candidate N whose three fp16 N x N matrices fit the memory share, capped by limit."""
    budget = memory_bytes * MATMUL_MEMORY_FRACTION
    fitting = [n for n in SIZE_CANDIDATES if 3 * n * n * 2 <= budget]
    size = fitting[0] if fitting else SIZE_CANDIDATES[-1]
    return min(size, limit) if limit else size


def choose_copy_bytes(memory_bytes: int) -> int:
    """Bytes per copy: large enough to defeat the caches, at most 1 GiB and 1/8 of the memory."""
    return max(1 << 20, min(COPY_BYTES_MAX, int(memory_bytes * COPY_MEMORY_FRACTION)))


def iterations_within(seconds_left: float, seconds_per_iter: float, wanted: int) -> int:
    """How many timed iterations fit the time left (at least 1, at most ``wanted``)."""
    if seconds_per_iter <= 0:
        return wanted
    return max(1, min(wanted, int(seconds_left / seconds_per_iter)))


def relative_error(max_abs_diff: float, max_abs_reference: float) -> float:
    """Normwise relative error, immune to near-zero reference entries."""
    return max_abs_diff / max_abs_reference if max_abs_reference > 0 else max_abs_diff


def bf16_supported(capability: tuple[int, int]) -> bool:
    """BF16 tensor cores arrived with Ampere, compute capability 8.0."""
    return capability >= (8, 0)


def device_ok(device: dict[str, Any]) -> bool:
    """A device passes when it ran without error and every checked dtype was within tolerance."""
    return "error" not in device and bool(device.get("matmul_ok"))


def assemble_result(
    torch_version: str | None,
    cuda_available: bool,
    devices: list[dict[str, Any]],
    cause: str | None = None,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The probe's JSON object; ok only when CUDA works and every device passed."""
    failed = [d for d in devices if not device_ok(d)]
    if cause is None and failed:
        first = failed[0]
        cause = first.get("cause", "wrong-result")
        reason = first.get("reason") or "GPU {} ({}) failed: {}".format(
            first.get("index"), first.get("name"), first.get("error", "matmul out of tolerance")
        )
    ok = cuda_available and bool(devices) and not failed and cause is None
    result: dict[str, Any] = {
        "probe": PROBE,
        "ok": ok,
        "torch_version": torch_version,
        "cuda_available": cuda_available,
        "devices": devices,
        "cause": cause,
        "reason": reason,
        "copy_convention": COPY_CONVENTION,
        "flops_convention": FLOPS_CONVENTION,
    }
    result.update(extra or {})
    return result


def _import_torch() -> Any:
    return importlib.import_module("torch")


def _cuda_state(torch: Any) -> tuple[bool, int, str]:
    """(available, device count, warning text), warnings such as cudaGetDeviceCount's caught."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = bool(torch.cuda.is_available())
        count = int(torch.cuda.device_count()) if available else 0
    text = " ".join(str(w.message) for w in caught)
    return available, count, text


def _check_matmul(torch: Any, device: Any, dtype_name: str) -> float:
    """Max normwise relative error of a GPU matmul against a float64 CPU product."""
    dtype = getattr(torch, dtype_name)
    a = torch.randn(CHECK_SIZE, CHECK_SIZE, dtype=torch.float64).to(dtype)
    b = torch.randn(CHECK_SIZE, CHECK_SIZE, dtype=torch.float64).to(dtype)
    reference = a.double() @ b.double()
    result = (a.to(device) @ b.to(device)).double().cpu()
    diff = float((result - reference).abs().max())
    return relative_error(diff, float(reference.abs().max()))


def _time_events(torch: Any, work: Any, iterations: int) -> float:
    """Milliseconds that ``iterations`` calls of ``work`` take on the GPU, by CUDA events."""
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        work()
    end.record()
    end.synchronize()
    return float(start.elapsed_time(end))


def _timed(torch: Any, work: Any, wanted: int, deadline: float) -> tuple[int, float]:
    """Warm up, size the iteration count to the deadline, then time; (iterations, ms)."""
    warm_ms = _time_events(torch, work, WARMUP_ITERS)
    iterations = iterations_within(
        deadline - time.monotonic(), warm_ms / 1000 / WARMUP_ITERS, wanted
    )
    return iterations, _time_events(torch, work, iterations)


def _matmul_tflops(
    torch: Any, device: Any, dtype_name: str, n: int, wanted: int, deadline: float
) -> float:
    dtype = getattr(torch, dtype_name)
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    c = torch.empty(n, n, dtype=dtype, device=device)
    iterations, ms = _timed(torch, lambda: torch.matmul(a, b, out=c), wanted, deadline)
    return round(matmul_tflops(n, iterations, ms), 2)


def _copy_gb_s(torch: Any, device: Any, nbytes: int, wanted: int, deadline: float) -> float:
    src = torch.empty(nbytes, dtype=torch.uint8, device=device)
    dst = torch.empty(nbytes, dtype=torch.uint8, device=device)
    iterations, ms = _timed(torch, lambda: dst.copy_(src), wanted, deadline)
    return round(copy_gb_s(nbytes, iterations, ms), 1)


def _describe(torch: Any, index: int) -> dict[str, Any]:
    props = torch.cuda.get_device_properties(index)
    return {
        "index": index,
        "name": str(props.name),
        "capability": f"{props.major}.{props.minor}",
        "memory_bytes": int(props.total_memory),
    }


def _measure(torch: Any, index: int, args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    """One device's figures; CUDA errors land in the entry (with a cause), not as a traceback."""
    entry: dict[str, Any] = {"index": index}
    try:
        entry.update(_describe(torch, index))
        capability = tuple(int(p) for p in entry["capability"].split("."))
        bf16 = bf16_supported((capability[0], capability[1]))
        device = torch.device("cuda", index)
        torch.cuda.set_device(index)
        dtypes = ["float32", "float16"] + (["bfloat16"] if bf16 else [])
        errors = {name: _check_matmul(torch, device, name) for name in dtypes}
        entry["max_rel_error"] = {k: float(f"{v:.3g}") for k, v in errors.items()}
        entry["matmul_ok"] = all(errors[k] <= TOLERANCE[k] for k in errors)
        n = choose_matmul_size(entry["memory_bytes"], args.size)
        entry["matmul_size"] = n
        entry["tflops"] = {
            "fp16": _matmul_tflops(torch, device, "float16", n, args.iters, deadline),
            "bf16": _matmul_tflops(torch, device, "bfloat16", n, args.iters, deadline)
            if bf16
            else "unsupported",
        }
        nbytes = choose_copy_bytes(entry["memory_bytes"])
        entry["copy_bytes"] = nbytes
        entry["copy_gb_s"] = _copy_gb_s(torch, device, nbytes, args.iters, deadline)
    except Exception as error:  # a CUDA failure on this device is the finding, not a crash
        text = f"{type(error).__name__}: {error}"
        entry["error"] = text
        entry["cause"], meaning = classify_cuda_error(text)
        entry["reason"] = f"GPU {index}: {meaning}"
    finally:
        _free(torch)
    return entry


def _free(torch: Any) -> None:
    with contextlib.suppress(Exception):  # nothing to free after a failed init
        torch.cuda.empty_cache()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole probe: import, CUDA state, then each device within the time limit."""
    try:
        torch = _import_torch()
    except ImportError as error:
        reason = f"PyTorch is not installed in this image ({error}); use an image with torch"
        return assemble_result(None, False, [], "no-torch", reason)
    version = str(getattr(torch, "__version__", "unknown"))
    extra = {"torch_cuda_version": getattr(getattr(torch, "version", None), "cuda", None)}
    try:
        available, count, warning_text = _cuda_state(torch)
    except Exception as error:  # is_available/device_count can raise on a broken init
        text = f"{type(error).__name__}: {error}"
        cause, meaning = classify_cuda_error(text)
        return assemble_result(version, False, [], cause, meaning, dict(extra, error=text))
    if warning_text:
        extra["warnings"] = warning_text
    if not available or count == 0:
        if warning_text:
            cause, meaning = classify_cuda_error(warning_text)
        else:
            cause, meaning = "no-cuda", "torch.cuda.is_available() is False and CUDA gave no reason"
        if extra.get("torch_cuda_version") is None and not warning_text:
            cause, meaning = (
                "cpu-only-torch",
                "this PyTorch is a CPU-only build (torch.version.cuda is None)",
            )
        return assemble_result(version, False, [], cause, meaning, extra)
    deadline = time.monotonic() + args.seconds
    devices = [_measure(torch, index, args, deadline) for index in range(count)]
    return assemble_result(version, True, devices, extra=extra)


class _ArgumentError(Exception):
    """Bad command-line arguments: reported as JSON with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _ArgumentError(message)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The probe's arguments; a bad one raises _ArgumentError."""
    parser = _Parser(prog="pytorch.py", description="PyTorch GPU probe (one JSON line)")
    parser.add_argument(
        "--size",
        type=_positive_int,
        default=None,
        help="max matmul N (default: from memory, up to 8192)",
    )
    parser.add_argument(
        "--iters", type=_positive_int, default=DEFAULT_ITERS, help="timed iterations per figure"
    )
    parser.add_argument(
        "--seconds",
        type=_positive_float,
        default=DEFAULT_SECONDS,
        help="time limit for the measurements",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the result as the last line; 0 ok, 1 failed check, 2 bad arguments."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except _ArgumentError as error:
        print(
            json.dumps(
                {
                    "probe": PROBE,
                    "ok": False,
                    "cause": "bad-arguments",
                    "reason": f"bad arguments: {error}",
                }
            )
        )
        return 2
    result = run(args)
    print(json.dumps(result, sort_keys=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
