"""Datasheet peaks per GPU model, so ``verify`` can judge what the torch probe measured.

Data: ``data/gpu_baselines.json``, hand-compiled (no generator: the figures come from NVIDIA
datasheets, not from an API), each model with its source, its basis (dense, or the sparse
figure halved, or third-party for AWS's A10G) and whether the figure was re-checked. The probe
reports the device name torch gives ("NVIDIA H100 80GB HBM3"); Karpenter labels nodes with
``karpenter.k8s.aws/instance-gpu-name`` ("h100"). :func:`peak_for` maps either to the model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from eks_gpu.catalog.instance_types import read_data_file

MATMUL_MIN_FRACTION = 0.5
"""A matmul below half of the dense datasheet peak is flagged. Datasheet peaks assume boost clocks
that power and thermal limits rarely sustain, and cuBLAS on a large square GEMM typically reaches
60-80 % of the dense peak; under 50 % points at throttling (power cap, temperature, a slowdown
bit), a wrong clock policy, or a shared GPU. Per-model overrides live in the data (the T4)."""

COPY_MIN_FRACTION = 0.6
"""A device-to-device copy below 60 % of the datasheet bandwidth is flagged. A large ``copy_``
(bytes read + written, the convention the datasheet figure uses) usually reaches 75-90 % of it;
under 60 % points at a degraded memory subsystem, ECC row remapping trouble or contention."""

METRICS = ("fp16", "bf16", "copy")


@dataclass(frozen=True)
class GpuBaseline:
    """One GPU model's datasheet peaks (None: not published / not supported)."""

    model: str
    display: str
    karpenter_gpu_names: tuple[str, ...]
    name_tokens: tuple[tuple[str, ...], ...]
    reject_tokens: tuple[str, ...]
    memory_gb: int
    fp16_tflops: float | None
    bf16_tflops: float | None
    memory_gb_s: float
    basis: str
    source: str
    verified: bool
    matmul_min_fraction: float
    copy_min_fraction: float

    def peak(self, metric: str) -> float | None:
        """The peak for "fp16", "bf16" (TFLOP/s) or "copy" (GB/s)."""
        return {"fp16": self.fp16_tflops, "bf16": self.bf16_tflops, "copy": self.memory_gb_s}[
            metric
        ]

    def min_fraction(self, metric: str) -> float:
        """The fraction of peak below which ``verify`` flags this metric."""
        return self.copy_min_fraction if metric == "copy" else self.matmul_min_fraction


def _baseline(row: Mapping[str, Any]) -> GpuBaseline:
    return GpuBaseline(
        model=row["model"],
        display=row["display"],
        karpenter_gpu_names=tuple(row["karpenter_gpu_names"]),
        name_tokens=tuple(tuple(t) for t in row["name_tokens"]),
        reject_tokens=tuple(row.get("reject_tokens", ())),
        memory_gb=int(row["memory_gb"]),
        fp16_tflops=row["fp16_tflops"],
        bf16_tflops=row["bf16_tflops"],
        memory_gb_s=float(row["memory_gb_s"]),
        basis=row["basis"],
        source=row["source"],
        verified=bool(row["verified"]),
        matmul_min_fraction=float(row.get("matmul_min_fraction", MATMUL_MIN_FRACTION)),
        copy_min_fraction=float(row.get("copy_min_fraction", COPY_MIN_FRACTION)),
    )


@cache
def _document() -> dict[str, Any]:
    return read_data_file("gpu_baselines.json")


@cache
def gpu_baselines() -> tuple[GpuBaseline, ...]:
    """Every model with a baseline, in file order."""
    return tuple(_baseline(row) for row in _document()["models"])


def _tokens(name: str) -> tuple[str, ...]:
    """ "NVIDIA A100-SXM4-40GB" -> ("a100", "sxm4", "40gb"); vendor words dropped."""
    words = re.split(r"[\s\-_/]+", name.strip().lower())
    return tuple(w for w in words if w and w not in {"nvidia", "tesla"})


def _matches(baseline: GpuBaseline, name: str, tokens: tuple[str, ...]) -> bool:
    if name.strip().lower() in baseline.karpenter_gpu_names:
        return True
    if any(t in tokens for t in baseline.reject_tokens):
        return False
    return any(all(t in tokens for t in group) for group in baseline.name_tokens)


def _by_memory(
    candidates: list[GpuBaseline], tokens: tuple[str, ...], memory_mib: int | None
) -> GpuBaseline | None:
    """Pick among same-name variants (A100 40/80 GB): a "40gb" token, else the nearest memory."""
    for candidate in candidates:
        if f"{candidate.memory_gb}gb" in tokens:
            return candidate
    if memory_mib is None:
        return None
    gb = memory_mib / 1024
    return min(candidates, key=lambda c: abs(c.memory_gb - gb))


def peak_for(name: str, memory_mib: int | None = None) -> GpuBaseline | None:
    """The baseline for a torch device name or a Karpenter gpu name; None when unknown/ambiguous.

    ``memory_mib`` (torch's total memory, or Karpenter's ``instance-gpu-memory``) separates models
    that share a name, such as the A100 40 GB (p4d) and 80 GB (p4de).
    """
    tokens = _tokens(name)
    candidates = [b for b in gpu_baselines() if _matches(b, name, tokens)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    return _by_memory(candidates, tokens, memory_mib)


def fraction_of_peak(measured: float | None, peak: float | None) -> float | None:
    """measured / peak, or None when either is missing (unsupported dtype, unpublished peak)."""
    if measured is None or peak is None or peak <= 0:
        return None
    return measured / peak


PARTITION_MEMORY_FRACTION = 0.6
"""A device with under 60 % of its model's memory is a partition (g6f's 1/8 to 1/2 L4, a MIG
slice): its share of the peak is not published, so it is reported but not judged."""


def _device_baseline(device: Mapping[str, Any]) -> GpuBaseline | None:
    """The baseline to judge a probe device entry by; None when unknown or a partition."""
    memory = device.get("memory_bytes")
    memory_mib = int(memory) >> 20 if memory else None
    baseline = peak_for(str(device.get("name", "")), memory_mib)
    if baseline is None or memory_mib is None:
        return baseline
    partition = memory_mib / 1024 < baseline.memory_gb * PARTITION_MEMORY_FRACTION
    return None if partition else baseline


def device_fractions(device: Mapping[str, Any]) -> dict[str, float | None]:
    """Fractions of peak for one device entry of the torch probe's JSON (fp16, bf16, copy)."""
    baseline = _device_baseline(device)
    tflops = device.get("tflops") or {}
    measured = {
        "fp16": tflops.get("fp16"),
        "bf16": tflops.get("bf16"),
        "copy": device.get("copy_gb_s"),
    }
    return {
        metric: fraction_of_peak(
            value if isinstance(value, int | float) else None,
            baseline.peak(metric) if baseline else None,
        )
        for metric, value in measured.items()
    }


def below_threshold(device: Mapping[str, Any]) -> list[str]:
    """The metrics of a probe device entry that fall under their model's stated fraction."""
    baseline = _device_baseline(device)
    if baseline is None:
        return []
    fractions = device_fractions(device)
    return [
        metric
        for metric in METRICS
        if (fraction := fractions[metric]) is not None and fraction < baseline.min_fraction(metric)
    ]


__all__ = [
    "COPY_MIN_FRACTION",
    "MATMUL_MIN_FRACTION",
    "GpuBaseline",
    "below_threshold",
    "device_fractions",
    "fraction_of_peak",
    "gpu_baselines",
    "peak_for",
]
