"""GPU baselines: every NVIDIA model in the catalog has one, names map to the right model, the
data states its basis, and verify's thresholds flag what they say they flag."""

from __future__ import annotations

from typing import Any

import pytest

from eks_gpu.catalog.baselines import (
    COPY_MIN_FRACTION,
    MATMUL_MIN_FRACTION,
    below_threshold,
    device_fractions,
    fraction_of_peak,
    gpu_baselines,
    peak_for,
)
from eks_gpu.catalog.gpu_types import gpu_instance_types
from eks_gpu.catalog.instance_types import read_data_file

NVIDIA = [t for t in gpu_instance_types() if t.gpu_manufacturer == "nvidia"]


@pytest.mark.parametrize("spec", NVIDIA, ids=[t.instance_type for t in NVIDIA])
def test_every_nvidia_catalog_type_has_a_baseline(spec: Any) -> None:
    baseline = peak_for(spec.gpu_name, spec.gpu_memory_mib)
    assert baseline is not None, spec.gpu_name
    assert spec.gpu_name in baseline.karpenter_gpu_names


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("Tesla T4", "t4"),
        ("NVIDIA T4G", "t4"),
        ("NVIDIA A10G", "a10g"),
        ("NVIDIA L4", "l4"),
        ("NVIDIA L40S", "l40s"),
        ("NVIDIA A100-SXM4-40GB", "a100-40gb"),
        ("NVIDIA A100-SXM4-80GB", "a100-80gb"),
        ("Tesla V100-SXM2-16GB", "v100"),
        ("Tesla V100-SXM2-32GB", "v100"),
        ("NVIDIA H100 80GB HBM3", "h100"),
        ("NVIDIA H200", "h200"),
        ("NVIDIA B200", "b200"),
        ("NVIDIA B300 SXM6 AC", "b300"),
        ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "rtx-pro-server-6000"),
        ("NVIDIA RTX PRO 4500 Blackwell", "rtx-pro-4500"),
        ("t4", "t4"),
        ("a10g", "a10g"),
        ("h100", "h100"),
        ("rtx-pro-server-6000", "rtx-pro-server-6000"),
    ],
)
def test_torch_and_karpenter_names_map_to_the_model(name: str, model: str) -> None:
    baseline = peak_for(name)
    assert baseline is not None and baseline.model == model


@pytest.mark.parametrize(
    "name",
    [
        "NVIDIA A10",  # the datasheet A10 is not AWS's A10G
        "NVIDIA L40",  # not the L40S
        "NVIDIA H100 PCIe",  # lower peaks than p5's SXM part: not judged by them
        "NVIDIA H100 NVL",
        "NVIDIA GeForce RTX 4090",
        "",
    ],
)
def test_other_gpus_have_no_baseline(name: str) -> None:
    assert peak_for(name) is None


def test_a100_variants_need_the_memory() -> None:
    assert peak_for("a100") is None  # ambiguous without memory
    forty, eighty = peak_for("a100", 40960), peak_for("a100", 81920)
    assert forty is not None and forty.memory_gb_s == 1555.0
    assert eighty is not None and eighty.memory_gb_s == 2039.0
    assert forty.fp16_tflops == eighty.fp16_tflops == 312.0


def test_data_states_basis_and_source() -> None:
    models = read_data_file("gpu_baselines.json")["models"]
    for row in models:
        assert row["source"].startswith("https://"), row["model"]
        assert row["basis"] in {"datasheet-dense", "sparse-halved", "no-sparsity", "third-party"}
        if row["basis"] == "sparse-halved":  # the dense figure is the sparse one halved
            assert row["fp16_tflops"] == pytest.approx(row["sparse_fp16_tflops"] / 2, abs=0.5)
        assert row["verified"] or row["notes"], row["model"]  # unverified figures say why
        assert row["checked_in"] or not row["verified"], row["model"]


def test_bf16_absent_before_ampere() -> None:
    for model in ("t4", "v100"):
        baseline = peak_for(model)
        assert baseline is not None and baseline.bf16_tflops is None


def test_a10g_is_not_judged_by_the_a10_datasheet() -> None:
    row = next(r for r in read_data_file("gpu_baselines.json")["models"] if r["model"] == "a10g")
    assert row["basis"] == "third-party"
    assert row["fp16_tflops"] < row["a10_datasheet_fp16_tflops"]


def test_thresholds_are_fractions() -> None:
    assert 0 < MATMUL_MIN_FRACTION < 1 and 0 < COPY_MIN_FRACTION < 1
    for baseline in gpu_baselines():
        assert 0 < baseline.min_fraction("fp16") < 1 and 0 < baseline.min_fraction("copy") < 1


def test_fraction_of_peak() -> None:
    assert fraction_of_peak(494.75, 989.5) == pytest.approx(0.5)
    assert fraction_of_peak(None, 989.5) is None
    assert fraction_of_peak(10.0, None) is None


def _h100(fp16: float, bf16: float, copy: float) -> dict[str, Any]:
    """A torch probe device entry as the probe prints it."""
    return {
        "index": 0,
        "name": "NVIDIA H100 80GB HBM3",
        "capability": "9.0",
        "memory_bytes": 85_520_809_984,
        "matmul_ok": True,
        "tflops": {"fp16": fp16, "bf16": bf16},
        "copy_gb_s": copy,
    }


def test_device_fractions_from_probe_json() -> None:
    fractions = device_fractions(_h100(742.1, 989.5, 2680.0))
    assert fractions["fp16"] == pytest.approx(0.75, abs=1e-3)
    assert fractions["bf16"] == pytest.approx(1.0)
    assert fractions["copy"] == pytest.approx(0.8)


def test_below_threshold_flags_slow_metrics_only() -> None:
    assert below_threshold(_h100(742.1, 700.0, 2680.0)) == []
    assert below_threshold(_h100(400.0, 700.0, 1600.0)) == ["fp16", "copy"]


def test_t4_unsupported_bf16_and_its_lower_matmul_threshold() -> None:
    t4 = {
        "name": "Tesla T4",
        "memory_bytes": 15_655_829_504,
        "tflops": {"fp16": 26.0, "bf16": "unsupported"},
        "copy_gb_s": 240.0,
    }
    assert device_fractions(t4)["bf16"] is None
    assert below_threshold(t4) == []  # 0.4 of 65: above the T4's 0.35, under the default 0.5
    assert below_threshold(dict(t4, tflops={"fp16": 20.0})) == ["fp16"]


def test_partitions_and_unknown_gpus_are_not_judged() -> None:
    slice_of_l4 = {"name": "NVIDIA L4", "memory_bytes": 2861 << 20, "tflops": {"fp16": 5.0}}
    assert below_threshold(slice_of_l4) == []
    assert device_fractions(slice_of_l4)["fp16"] is None
    assert below_threshold({"name": "NVIDIA GeForce RTX 4090", "tflops": {"fp16": 1.0}}) == []
