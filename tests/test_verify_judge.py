"""verify judges each test pod's log: nvidia-smi parsed here, probe JSON lines, baselines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eks_gpu.probes import pytorch, storage
from eks_gpu.verify.judge import judge, result_line

SMI = Path(__file__).parent / "data" / "nvidia-smi"
A10G_BYTES = 23028 << 20  # torch's total_memory for an A10G (22.5 GiB)


def a10g(copy_gb_s: float = 520.0, fp16: float = 60.0) -> dict[str, Any]:
    return {"index": 0, "name": "NVIDIA A10G", "capability": "8.6", "memory_bytes": A10G_BYTES,
            "max_rel_error": {"float32": 1e-6}, "matmul_ok": True, "matmul_size": 8192,
            "tflops": {"fp16": fp16, "bf16": fp16}, "copy_bytes": 1 << 30,
            "copy_gb_s": copy_gb_s}  # fmt: skip


def torch_log(*devices: dict[str, Any], **kw: Any) -> str:
    result = pytorch.assemble_result("2.5.1", True, list(devices), **kw)
    return "some warm-up chatter\n" + json.dumps(result) + "\n"


def storage_log(raid0: bool = True, gpu: bool = True) -> str:
    members = ("nvme1n1", "nvme2n1") if raid0 else ()
    model = storage.INSTANCE_STORE_MODEL if raid0 else storage.EBS_MODEL
    device = storage.Device("md127" if raid0 else "nvme0n1", "raid0" if raid0 else None,
                            members, (model,), raid0, raid0, not raid0)  # fmt: skip
    mount = storage.Mount("9:127", "/", "/scratch", "xfs", "/dev/md127", "rw")
    loc = storage.Location("/scratch", mount, device, 10**12, 9 * 10**11)
    meas = storage.Measurements(1800.0, 3500.0, 90000.0, True, 256 << 20)
    result = storage.assemble_result(loc, meas, 256, True, None)
    head = "GPU 0: NVIDIA A10G (UUID: GPU-3e5c1b2a-1111-2222-3333-444455556666)\n" if gpu else ""
    return head + "storage: ...\n" + json.dumps(result) + "\n"


def test_simple_reads_the_guides_t4_table() -> None:
    result = judge("simple", (SMI / "t4-g4dn-eks-ami-2002.txt").read_text())
    assert result.status == "passed", result
    assert "Tesla T4" in result.summary and result.figures["gpus"] == 1


def test_simple_broken_driver_fails_with_its_meaning() -> None:
    result = judge("simple", (SMI / "broken-driver-p3-eks-ami-1697.txt").read_text())
    assert result.status == "failed"
    assert result.summary.startswith("nvidia-smi: nvidia-smi failed")


def test_pytorch_passes_within_the_baseline() -> None:
    result = judge("pytorch", torch_log(a10g()))
    assert result.status == "passed", result
    assert result.figures["copy_gb_s"] == 520.0
    assert 0.8 < result.figures["fractions"]["copy"] < 0.9  # 520 of the A10G's 600 GB/s


def test_pytorch_low_copy_bandwidth_fails_naming_the_model_and_threshold() -> None:
    result = judge("pytorch", torch_log(a10g(copy_gb_s=150.0)))
    assert result.status == "failed"
    assert "copy at 25% of the" in result.summary and "A10G" in result.summary
    assert "below 60%" in result.summary


def test_pytorch_probe_failure_is_reported_with_its_reason() -> None:
    log = torch_log(cause="fabric-manager", reason="CUDA error 802: start nvidia-fabricmanager")
    result = judge("pytorch", log.replace('"cuda_available": true', '"cuda_available": false'))
    assert result.status == "failed" and "fabricmanager" in result.summary


def test_a_pod_without_its_result_line_fails_with_the_last_lines() -> None:
    result = judge("pytorch", "Traceback (most recent call last):\nImportError: libcuda\n")
    assert result.status == "failed"
    assert result.summary == "no result line from the torch probe"
    assert result.details[-1] == "log: ImportError: libcuda"


def test_nvme_passes_on_raid0_instance_store_and_reports_the_figures() -> None:
    result = judge("nvme", storage_log())
    assert result.status == "passed", result
    assert result.figures["raid0"] is True and result.figures["members"] == 2
    assert result.figures["gpu"] == "NVIDIA A10G"


def test_nvme_on_ebs_fails() -> None:
    result = judge("nvme", storage_log(raid0=False))
    assert result.status == "failed" and "storage:" in result.summary


def test_nvme_without_a_gpu_fails() -> None:
    result = judge("nvme", storage_log(gpu=False))
    assert result.status == "failed" and "listed no GPU" in result.summary


def test_result_line_takes_the_last_json_object_of_that_probe() -> None:
    text = '{"probe": "torch", "ok": false}\nnoise {"x"\n{"probe": "torch", "ok": true}\n'
    assert result_line(text, "torch") == {"probe": "torch", "ok": True}
    assert result_line(text, "storage") is None
