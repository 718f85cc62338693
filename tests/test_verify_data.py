"""The test pods' recorded outputs for ``eks-gpu verify`` and the CRI form kwok serves them in.

tests/data/verify/ holds what gpu-simple-test, gpu-pytorch-test and gpu-storage-test printed
(SOURCE.md says where each figure comes from); the end-to-end test hands them to kwok through
tests/controlplane/kwok_logs.py. Here, without a control plane: the CRI conversion keeps every
line (checked against the format cri-client's ``parseCRILog`` reads), each file gets the
verdict it stands for from the project's own parsers, and the files equal what make.py builds.
"""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from controlplane.kwok_logs import cluster_logs, logs_name, remove_logs, serve_logs, to_cri
from eks_gpu.catalog.baselines import below_threshold
from eks_gpu.probes import gpu

DATA = Path(__file__).parent / "data" / "verify"

# k8s.io/cri-client pkg/logs/logs.go: "<RFC3339NanoFixed> <stdout|stderr> <F|P> <content>"
CRI_LINE = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (?P<stream>stdout) (?P<tag>F) (?P<log>.*)$"
)


def _make() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_data_make", DATA / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _last_json(name: str) -> dict[str, Any]:
    """The probe's result: the last line of what the pod printed."""
    result: dict[str, Any] = json.loads((DATA / name).read_text().splitlines()[-1])
    return result


def _parse_cri(cri: str) -> tuple[list[str], list[datetime]]:
    """Lines and timestamps of a CRI log, every line checked against the format."""
    lines, stamps = [], []
    for raw in cri.split("\n")[:-1]:
        match = CRI_LINE.match(raw)
        assert match, raw
        lines.append(match["log"])
        stamps.append(datetime.strptime(match["ts"][:26], "%Y-%m-%dT%H:%M:%S.%f"))
    return lines, stamps


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.txt")))
def test_to_cri_keeps_every_line_in_order(name: str) -> None:
    text = (DATA / name).read_text()
    cri = to_cri(text)
    assert cri.endswith("\n")  # ReadLogs reports a last line without one as incomplete
    lines, stamps = _parse_cri(cri)
    assert lines == text.splitlines()
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_to_cri_keeps_blank_lines_and_trailing_blanks() -> None:
    lines, _ = _parse_cri(to_cri("a  \n\n  b\nlast"))
    assert lines == ["a  ", "", "  b", "last"]


def test_cluster_logs_selects_the_pod_and_container() -> None:
    name = logs_name("gpu-pytorch-test", "pytorch")
    obj = cluster_logs(name, "gpu-pytorch-test", "pytorch", Path("/abs/x.log"), "verify-1")
    assert obj["metadata"]["name"] == "gpu-pytorch-test.pytorch"
    assert obj["spec"]["selector"] == {
        "matchNames": ["gpu-pytorch-test"],
        "matchNamespaces": ["verify-1"],
    }
    assert obj["spec"]["logs"] == [{"containers": ["pytorch"], "logsFile": "/abs/x.log"}]
    assert "matchNamespaces" not in cluster_logs(name, "p", "c", Path("/f"))["spec"]["selector"]


class _RecordingKube:
    """Records what serve_logs/remove_logs send; the live path is the controlplane e2e test."""

    def __init__(self) -> None:
        self.applied: list[tuple[dict[str, Any], str]] = []
        self.deleted: list[dict[str, Any]] = []

    def apply(self, obj: dict[str, Any], manager: str) -> dict[str, Any]:
        self.applied.append((obj, manager))
        return obj

    def delete(self, obj: dict[str, Any]) -> None:
        self.deleted.append(obj)


def test_serve_logs_writes_the_cri_file_and_applies_its_cluster_logs(tmp_path: Path) -> None:
    kube: Any = _RecordingKube()
    text = (DATA / "storage-g5.txt").read_text()
    obj = serve_logs(kube, tmp_path / "logs", "gpu-storage-test", "gpu-nvme", text, "v-1")
    ((applied, manager),) = kube.applied
    assert applied is obj and manager == "eks-gpu-test"
    (entry,) = obj["spec"]["logs"]
    logs_file = Path(entry["logsFile"])
    assert logs_file.is_absolute() and logs_file.parent == (tmp_path / "logs").resolve()
    assert logs_file.read_text() == to_cri(text)
    remove_logs(kube, obj["metadata"]["name"])
    assert kube.deleted[0]["kind"] == "ClusterLogs"
    assert kube.deleted[0]["metadata"] == {"name": "gpu-storage-test.gpu-nvme"}


@pytest.mark.parametrize(
    ("name", "gpu_name"), [("simple-t4.txt", "Tesla T4"), ("simple-a10g.txt", "NVIDIA A10G")]
)
def test_simple_outputs_parse_healthy(name: str, gpu_name: str) -> None:
    result = gpu.parse_pod_log((DATA / name).read_text())
    assert result["ok"] is True, result.get("reason")
    assert [g["name"] for g in result["gpus"]] == [gpu_name]


def test_pytorch_a10g_passes_and_is_above_every_threshold() -> None:
    result = _last_json("pytorch-a10g.txt")
    assert result["probe"] == "torch" and result["ok"] is True
    (device,) = result["devices"]
    assert device["name"] == "NVIDIA A10G" and device["matmul_ok"] is True
    assert below_threshold(device) == []


def test_pytorch_low_copy_is_flagged_on_copy_only() -> None:
    result = _last_json("pytorch-a10g-low-copy.txt")
    assert result["ok"] is True  # the probe reports figures; verify judges them
    (device,) = result["devices"]
    assert below_threshold(device) == ["copy"]


def test_storage_g5_is_on_instance_store_raid0() -> None:
    text = (DATA / "storage-g5.txt").read_text()
    listed = gpu.parse_list(text)
    assert [(g["index"], g["name"]) for g in listed] == [(0, "NVIDIA A10G")]
    result = _last_json("storage-g5.txt")
    assert result["probe"] == "storage" and result["ok"] is True
    assert result["raid0"] is True and result["nvme_instance_store"] is True
    assert result["ebs"] is False and result["device"] == "/dev/md127"
    assert result["write_mb_s"] > 0 and result["read_mb_s"] > 0


def test_committed_files_equal_what_make_builds() -> None:
    built = _make().render()
    committed = {p.name: p.read_text() for p in DATA.glob("*.txt")}
    assert committed == built, "run: python tests/data/verify/make.py"
