"""Judge what each test pod printed: the guide read these logs by eye, ``verify`` parses them.

- ``simple`` prints plain ``nvidia-smi``; :func:`eks_gpu.probes.gpu.parse_pod_log` reads it
  (no Python in the CUDA image, so the parsing happens here);
- ``pytorch`` and ``nvme`` run the probes, whose last line is one JSON object. Beyond the
  probe's own ``ok``, the torch figures are compared with the GPU model's datasheet peak
  (:mod:`eks_gpu.catalog.baselines`): a figure below the model's stated fraction fails the step.

A pod that ended without its result line fails with what it did print (the last lines), and
the container's exit code and reason when the pod status has them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from eks_gpu.catalog.baselines import below_threshold, device_fractions, peak_for
from eks_gpu.probes import gpu as gpu_probe
from eks_gpu.verify.steps import StepResult, failed, passed

TAIL_LINES = 5


def result_line(text: str, probe: str) -> dict[str, Any] | None:
    """The probe's result: the last line that is a JSON object with ``"probe": probe``."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):  # not JSON, or nested past the stack: not ours
            continue
        if isinstance(value, dict) and value.get("probe") == probe:
            return value
    return None


def _finite(value: Any) -> Any:
    """``value`` when it is a finite number (not a bool), else None: the probe's JSON comes from
    a pod's log, so a figure may be anything (NaN, a string, an int too big for a float)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return value if math.isfinite(float(value)) else None
    except OverflowError:
        return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _device(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A torch device entry with its figures checked, so judging never trips over their types."""
    tflops = raw.get("tflops")
    memory = _finite(raw.get("memory_bytes"))
    return {
        **raw,
        "tflops": {k: _finite(v) for k, v in tflops.items()} if isinstance(tflops, Mapping) else {},
        "copy_gb_s": _finite(raw.get("copy_gb_s")),
        "memory_bytes": int(memory) if memory and memory > 0 else None,
    }


def _tail(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [f"log: {line}" for line in lines[-TAIL_LINES:]] or ["log: (empty)"]


def judge_simple(text: str) -> StepResult:
    """``gpu-simple-test``: nvidia-smi listed at least one healthy GPU."""
    out = gpu_probe.parse_pod_log(text)
    gpus = out.get("gpus") or []
    names = sorted({str(g.get("name")) for g in gpus})
    figures = {"gpus": len(gpus), "gpu": ", ".join(names), "driver": out.get("driver"),
               "cuda": out.get("cuda")}  # fmt: skip
    if not out.get("ok"):
        return failed("simple", f"nvidia-smi: {out.get('reason')}", _tail(text), **figures)
    summary = f"nvidia-smi sees {len(gpus)} x {', '.join(names)}"
    summary += f" (driver {out.get('driver')}, CUDA {out.get('cuda')})"
    warnings = [
        f"GPU {g.get('index')}: {v['reason']}" for g in gpus for v in g.get("verdicts") or []
    ]
    return passed("simple", summary, warnings, **figures)


def _percent(fraction: float | None) -> str:
    return "" if fraction is None else f" ({fraction:.0%} of peak)"


def _torch_device_line(device: Mapping[str, Any]) -> str:
    fractions = device_fractions(device)
    tflops = device.get("tflops") or {}
    parts = [
        f"{metric} {value:.1f} TFLOP/s{_percent(fractions[metric])}"
        for metric in ("fp16", "bf16")
        if isinstance(value := tflops.get(metric), int | float)
    ]
    copy = device.get("copy_gb_s")
    if isinstance(copy, int | float):
        parts.append(f"copy {copy:.0f} GB/s{_percent(fractions['copy'])}")
    return f"GPU {device.get('index')} {device.get('name')}: " + ", ".join(parts)


def _below_line(device: Mapping[str, Any], metric: str) -> str:
    memory = device.get("memory_bytes")
    baseline = peak_for(str(device.get("name")), int(memory) >> 20 if memory else None)
    fraction = device_fractions(device)[metric]
    floor = baseline.min_fraction(metric) if baseline else 0.0
    display = baseline.display if baseline else device.get("name")
    unit = "GB/s" if metric == "copy" else "TFLOP/s"
    return (
        f"GPU {device.get('index')}: {metric} at {fraction:.0%} of the {display} peak "
        f"({baseline.peak(metric) if baseline else '?'} {unit}); below {floor:.0%} points at "
        "throttling, a degraded GPU or a shared one"
    )


def _torch_figures(devices: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    first = devices[0] if devices else {}
    tflops = first.get("tflops") or {}
    fractions = device_fractions(first) if first else {}
    return {
        "gpu": first.get("name"),
        "fp16_tflops": tflops.get("fp16"),
        "bf16_tflops": tflops.get("bf16"),
        "copy_gb_s": first.get("copy_gb_s"),
        "fractions": {k: round(v, 3) for k, v in fractions.items() if v is not None},
    }


def judge_pytorch(text: str) -> StepResult:
    """``gpu-pytorch-test``: the torch probe passed and no figure is under its baseline."""
    out = result_line(text, "torch")
    if out is None:
        return failed("pytorch", "no result line from the torch probe", _tail(text))
    devices = [_device(d) for d in _list(out.get("devices")) if isinstance(d, Mapping)]
    figures = _torch_figures(devices)
    if not out.get("ok"):
        reason = out.get("reason") or out.get("cause") or "the probe failed"
        return failed("pytorch", f"torch: {reason}", [], **figures)
    lines = [_torch_device_line(d) for d in devices]
    low = [_below_line(d, m) for d in devices for m in below_threshold(d)]
    if low:
        return failed("pytorch", low[0], [*low, *lines], **figures)
    version = out.get("torch_version")
    summary = f"torch {version}: CUDA works on {len(devices)} GPU(s); {lines[0] if lines else ''}"
    return passed("pytorch", summary.rstrip("; "), lines, **figures)


def judge_nvme(text: str) -> StepResult:
    """``gpu-storage-test``: a GPU is visible and scratch is the RAID0 of local NVMe, measured."""
    listed = gpu_probe.parse_list(text)
    out = result_line(text, "storage")
    if out is None:
        return failed("nvme", "no result line from the storage probe", _tail(text))
    figures = {
        "device": out.get("device"),
        "raid0": out.get("raid0"),
        "members": len(_list(out.get("members"))),
        "write_mb_s": out.get("write_mb_s"),
        "read_mb_s": out.get("read_mb_s"),
        "rand_read_iops": out.get("rand_read_iops"),
        "gpu": listed[0]["name"] if listed else None,
    }
    if not listed:
        return failed("nvme", "nvidia-smi -L listed no GPU in the storage pod", _tail(text),
                      **figures)  # fmt: skip
    if not out.get("ok"):
        return failed("nvme", f"storage: {out.get('reason')}", [], **figures)
    summary = (
        f"{out.get('dir')} on {out.get('device')} (RAID0 of {figures['members']} NVMe): "
        f"write {out.get('write_mb_s')} MB/s, read {out.get('read_mb_s')} MB/s, "
        f"{out.get('rand_read_iops')} random-read IOPS"
    )
    return passed("nvme", summary, [f"note: {n}" for n in _list(out.get("notes"))], **figures)


JUDGES = {"simple": judge_simple, "pytorch": judge_pytorch, "nvme": judge_nvme}


def judge(step: str, text: str) -> StepResult:
    """The judge of ``step`` (``simple``, ``pytorch``, ``nvme``) over its pod's log."""
    return JUDGES[step](text)


__all__ = ["JUDGES", "judge", "judge_nvme", "judge_pytorch", "judge_simple", "result_line"]
