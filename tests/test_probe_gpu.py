"""The ``gpu`` probe against recorded ``nvidia-smi`` outputs of real GPUs, and run for real.

Recorded outputs live in ``tests/data/nvidia-smi/`` (``SOURCE.md`` says where each came from).
The end-to-end tests run ``python3 gpu.py`` as a subprocess with a fake ``nvidia-smi`` on
``PATH`` that prints those recordings, so the real subprocess path is exercised; this machine
has no GPU, so the "no nvidia-smi" case is real too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from eks_gpu.probes import gpu
from probe_run import run_probe

DATA = Path(__file__).parent / "data" / "nvidia-smi"
SCRIPT = Path(gpu.__file__)
PY38 = Path("/root/.pyenv/versions/3.8.18/bin/python3")


def _text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Plain table (what the gpu-simple-test pod prints)


@pytest.mark.parametrize(
    ("name", "driver", "cuda", "gpu_name", "used", "total", "temp", "pstate", "power", "mig"),
    [
        ("t4-g4dn-eks-ami-2002.txt", "550.90.12", "12.4", "Tesla T4", 1, 15360, 27, "P8", 9, None),
        (
            "a10g-g5-dcgm-232.txt",
            "535.247.01",
            "12.2",
            "NVIDIA A10G",
            8722,
            23028,
            26,
            "P0",
            60,
            None,
        ),
        (
            "h100-gvisor-10413.txt",
            "535.129.03",
            "12.2",
            "NVIDIA H100 80GB HBM3",
            72459,
            81559,
            36,
            "P0",
            113,
            "Disabled",
        ),
    ],
)
def test_pod_log_of_real_gpus(
    name: str,
    driver: str,
    cuda: str,
    gpu_name: str,
    used: int,
    total: int,
    temp: int,
    pstate: str,
    power: float,
    mig: str | None,
) -> None:
    out = gpu.parse_pod_log(_text(name))
    assert out["ok"] is True, out
    assert (out["probe"], out["driver"], out["cuda"], out["reason"]) == ("gpu", driver, cuda, None)
    [only] = out["gpus"]
    assert only["index"] == 0
    assert only["name"] == gpu_name
    assert (only["memory_used_mib"], only["memory_total_mib"]) == (used, total)
    assert (only["temperature_c"], only["pstate"], only["power_draw_w"]) == (temp, pstate, power)
    assert only["ecc_uncorrected_volatile"] == 0
    assert only["mig_mode"] == mig
    assert only["verdicts"] == []


def test_persistence_column_is_read_per_gpu() -> None:
    a10g = gpu.parse_pod_log(_text("a10g-g5-dcgm-232.txt"))["gpus"][0]
    t4 = gpu.parse_pod_log(_text("t4-g4dn-eks-ami-2002.txt"))["gpus"][0]
    assert (a10g["persistence_mode"], t4["persistence_mode"]) == (False, True)


def test_r610_banner_with_kmd_and_umd_versions_and_two_gpus() -> None:
    out = gpu.parse_pod_log(_text("b200-r610-sglang-27487.txt"))
    assert (out["driver"], out["cuda"]) == ("610.43.02", "13.3")
    assert [(g["index"], g["name"], g["memory_total_mib"]) for g in out["gpus"]] == [
        (0, "NVIDIA B200", 183359),
        (1, "NVIDIA B200", 183359),
    ]
    assert [g["temperature_c"] for g in out["gpus"]] == [26, 30]
    assert [g["power_draw_w"] for g in out["gpus"]] == [139, 142]


def test_processes_and_mig_device_rows_are_not_taken_for_gpus() -> None:
    log = _text("a10g-g5-dcgm-232.txt") + (
        "|  GPU   GI   CI        PID   Type   Process name                           GPU Memory |\n"
        "|    0   N/A  N/A     16803      C   /usr/bin/ollama                          6159MiB |\n"
        "|  1    3   0   0  |  14366MiB / 19968MiB | 28      0 |  2   0    1    0    0 |\n"
    )
    assert len(gpu.parse_pod_log(log)["gpus"]) == 1


def test_list_output_supplies_uuids_and_alone_still_lists_gpus() -> None:
    # The format `nvidia-smi -L` prints (the storage test pod runs it); UUID from the T4 in
    # NVIDIA/nvidia-docker#1256's `nvidia-smi -a`.
    listing = "GPU 0: Tesla T4 (UUID: GPU-4cfe4f25-9d56-b1f1-edb8-dfa13fc461ae)\n"
    both = gpu.parse_pod_log(listing + _text("t4-g4dn-eks-ami-2002.txt"))
    assert both["gpus"][0]["uuid"] == "GPU-4cfe4f25-9d56-b1f1-edb8-dfa13fc461ae"
    assert both["gpus"][0]["memory_total_mib"] == 15360
    alone = gpu.parse_pod_log(listing)
    assert alone["ok"] is True
    assert [(g["index"], g["name"]) for g in alone["gpus"]] == [(0, "Tesla T4")]
    assert alone["cuda"] is None


@pytest.mark.parametrize(
    ("name", "meaning"),
    [
        ("broken-driver-p3-eks-ami-1697.txt", "section 8 P10"),
        ("no-devices-g7-eks-ami-2768.txt", "section 8 P10"),
        ("version-mismatch-tinygrad-47.txt", "driver change on a live node"),
    ],
)
def test_pod_log_of_a_broken_driver_is_not_ok_and_says_why(name: str, meaning: str) -> None:
    out = gpu.parse_pod_log(_text(name))
    assert out["ok"] is False
    assert out["gpus"] == []
    assert _text(name).splitlines()[0][:40] in out["reason"]
    assert meaning in out["reason"]


def test_pod_log_without_any_gpu_is_not_ok() -> None:
    out = gpu.parse_pod_log("Error from server (BadRequest): container is waiting to start\n")
    assert out["ok"] is False
    assert out["reason"].startswith("no GPU found in the pod's output")


def test_nvml_load_failure_means_the_runtime_or_driver_is_missing() -> None:
    # The <= v0.13 plugin text of research/nvidia.md section 8 P1.
    out = gpu.parse_pod_log("Failed to initialize NVML: could not load NVML library.\n")
    assert out["ok"] is False
    assert "section 8 P1" in out["reason"]


# --------------------------------------------------------------------------------------------
# --query-gpu CSV


def test_query_gpu_derived_from_the_t4_recording() -> None:
    [t4] = gpu.parse_query_gpu(_text("t4-g4dn-eks-ami-2002.derived.csv"), gpu.QUERY_FIELDS)
    assert t4["index"] == 0
    assert t4["name"] == "Tesla T4"
    assert t4["driver"] == "550.90.12"
    assert (t4["memory_total_mib"], t4["memory_used_mib"], t4["temperature_c"]) == (15360, 1, 27)
    assert (t4["ecc_uncorrected_volatile"], t4["pstate"], t4["power_draw_w"]) == (0, "P8", 9.0)
    assert t4["persistence_mode"] is True
    # [N/A] is unknown, never a value and never a failure
    for key in ("uuid", "ecc_uncorrected_aggregate", "clocks_event_reasons", "mig_mode"):
        assert t4[key] is None
    for key in ("hw_slowdown", "hw_thermal_slowdown", "hw_power_brake", "sw_thermal_slowdown"):
        assert t4[key] is None
    assert gpu.verdicts(t4) == []


@pytest.mark.parametrize(
    ("name", "gpu_name", "total", "used", "persistence", "mig"),
    [
        ("a10g-g5-dcgm-232.derived.csv", "NVIDIA A10G", 23028, 8722, False, None),
        ("h100-gvisor-10413.derived.csv", "NVIDIA H100 80GB HBM3", 81559, 72459, True, "Disabled"),
    ],
)
def test_query_gpu_derived_from_a10g_and_h100(
    name: str, gpu_name: str, total: int, used: int, persistence: bool, mig: str | None
) -> None:
    [row] = gpu.parse_query_gpu(_text(name), gpu.QUERY_FIELDS)
    assert (row["name"], row["memory_total_mib"], row["memory_used_mib"]) == (gpu_name, total, used)
    assert (row["persistence_mode"], row["mig_mode"]) == (persistence, mig)


def test_a_real_query_gpu_line_with_its_own_field_list() -> None:
    fields = [
        "power.limit",
        "power.min_limit",
        "power.max_limit",
        "memory.total",
        "vbios_version",
        "driver_version",
        "name",
        "gpu_uuid",
        "power.draw",
        "temperature.gpu",
        "temperature.memory",
        "clocks.current.graphics",
        "clocks.sm",
        "clocks.mem",
        "utilization.gpu",
        "utilization.memory",
        "fan.speed",
        "pcie.link.width.current",
        "pstate",
    ]
    [row] = gpu.parse_query_gpu(_text("rtx2080-query-gpu-utils-83.csv"), fields)
    assert row["name"] == "GeForce RTX 2080"
    assert row["uuid"] == "GPU-22b2c6ac-2d49-4863-197c-9c469071178a"
    assert (row["driver"], row["memory_total_mib"], row["temperature_c"]) == ("440.64", 7979, 45)
    assert (row["power_draw_w"], row["pstate"]) == (176.98, "P2")
    assert row["ecc_uncorrected_volatile"] is None  # not asked for: unknown


def test_values_with_units_and_all_unknown_spellings() -> None:
    line = (
        "0, Tesla T4, GPU-1, 550.90.12, 15360 MiB, 1 MiB, 27, [Not Supported], N/A, [N/A], "
        "Not Supported, [Unknown Error], , Enabled, [N/A], P8, 9.00 W\n"
    )
    [row] = gpu.parse_query_gpu(line, gpu.QUERY_FIELDS)
    assert (row["memory_total_mib"], row["memory_used_mib"], row["power_draw_w"]) == (15360, 1, 9)
    assert row["ecc_uncorrected_volatile"] is None
    assert row["ecc_uncorrected_aggregate"] is None
    assert row["hw_slowdown"] is None
    assert row["hw_thermal_slowdown"] is None
    assert row["sw_thermal_slowdown"] is None


def test_wrong_number_of_values_is_a_probe_error_naming_the_line() -> None:
    with pytest.raises(gpu.ProbeError, match="line 1 has 2 values for 17 fields"):
        gpu.parse_query_gpu("0, Tesla T4\n", gpu.QUERY_FIELDS)


def _row(**overrides: str) -> str:
    """A --query-gpu line in QUERY_FIELDS order, healthy unless overridden."""
    values = dict.fromkeys(gpu.QUERY_FIELDS, "[N/A]")
    values.update(
        {
            "index": "0",
            "name": "NVIDIA H100 80GB HBM3",
            "uuid": "GPU-aaaa",
            "driver_version": "535.129.03",
            "memory.total": "81559",
            "memory.used": "0",
            "temperature.gpu": "30",
            "ecc.errors.uncorrected.volatile.total": "0",
            "clocks_event_reasons.active": "0x0000000000000001",
            "clocks_event_reasons.hw_slowdown": "Not Active",
            "clocks_event_reasons.hw_thermal_slowdown": "Not Active",
            "clocks_event_reasons.sw_thermal_slowdown": "Not Active",
        }
    )
    values.update({k.replace("__", "."): v for k, v in overrides.items()})
    return ", ".join(values[f] for f in gpu.QUERY_FIELDS) + "\n"


def test_legacy_throttle_reason_names_parse_the_same() -> None:
    line = _row(**{"clocks_event_reasons.hw_slowdown": "Active"})
    [new] = gpu.parse_query_gpu(line, gpu.QUERY_FIELDS)
    [old] = gpu.parse_query_gpu(line, gpu.LEGACY_QUERY_FIELDS)
    assert new == old
    assert new["hw_slowdown"] is True
    assert all(f.startswith("clocks_throttle_reasons.") for f in gpu.LEGACY_QUERY_FIELDS[9:13])


def test_slowdown_bits_fill_in_when_the_per_reason_columns_are_unknown() -> None:
    line = _row(
        **{
            "clocks_event_reasons.active": "0x00000000000000C8",
            "clocks_event_reasons.hw_slowdown": "[N/A]",
            "clocks_event_reasons.hw_thermal_slowdown": "[N/A]",
        }
    )
    [row] = gpu.parse_query_gpu(line, gpu.QUERY_FIELDS)
    assert (row["hw_slowdown"], row["hw_thermal_slowdown"], row["hw_power_brake"]) == (
        True,
        True,
        True,
    )
    idle = gpu.parse_query_gpu(_row(), gpu.QUERY_FIELDS)[0]
    assert (idle["hw_slowdown"], idle["hw_power_brake"]) == (False, False)


# --------------------------------------------------------------------------------------------
# Verdicts and the result


def test_uncorrected_ecc_errors_make_the_gpu_unhealthy() -> None:
    gpus = gpu.parse_query_gpu(
        _row(**{"ecc.errors.uncorrected.volatile.total": "3"}), gpu.QUERY_FIELDS
    )
    out = gpu.result(gpus, None, "12.2")
    assert out["ok"] is False
    assert out["gpus"][0]["verdicts"] == [
        {"level": "unhealthy", "check": "ecc", "reason": "3 uncorrected ECC errors since boot"}
    ]
    assert out["reason"] == "GPU 0: 3 uncorrected ECC errors since boot"
    assert out["driver"] == "535.129.03"  # from the rows when the banner was not read


def test_hw_slowdown_is_a_warning_that_does_not_fail() -> None:
    line = _row(
        **{
            "clocks_event_reasons.hw_slowdown": "Active",
            "clocks_event_reasons.hw_thermal_slowdown": "Active",
        }
    )
    out = gpu.result(gpu.parse_query_gpu(line, gpu.QUERY_FIELDS), "535.129.03", "12.2")
    assert out["ok"] is True
    assert [(v["level"], v["check"]) for v in out["gpus"][0]["verdicts"]] == [
        ("warning", "hw_slowdown"),
        ("warning", "hw_thermal_slowdown"),
    ]


def test_remapped_rows_pending_or_failed_make_the_gpu_unhealthy() -> None:
    # Inline, not recorded: the remap state of the `nvidia-smi -q` block in leptonai/gpud#80.
    text = "GPU-aaaa, 0, 4, Yes, No\nGPU-bbbb, 0, 0, No, Yes\nGPU-cccc, 0, 0, No, No\n"
    remapped = gpu.parse_remapped_rows(text)
    assert remapped["GPU-aaaa"] == {
        "correctable": 0,
        "uncorrectable": 4,
        "pending": True,
        "failure": False,
    }
    rows = [_row(uuid=u, index=str(i)) for i, u in enumerate(("GPU-aaaa", "GPU-bbbb", "GPU-cccc"))]
    out = gpu.result(gpu.parse_query_gpu("".join(rows), gpu.QUERY_FIELDS), "1", "1", remapped)
    assert out["ok"] is False
    assert [[v["check"] for v in g["verdicts"]] for g in out["gpus"]] == [
        ["remapped_rows"],
        ["remapped_rows"],
        [],
    ]
    assert "GPU 0: row remapping pending" in out["reason"]
    assert "GPU 1: row remapping failed" in out["reason"]


def test_remapped_rows_not_supported_or_na_is_unknown() -> None:
    assert gpu.parse_remapped_rows("This query is not supported on this GPU\n") == {}
    na = gpu.parse_remapped_rows("GPU-aaaa, [N/A], [N/A], [N/A], [N/A]\n")
    assert na == {
        "GPU-aaaa": {"correctable": None, "uncorrectable": None, "pending": None, "failure": None}
    }
    assert gpu.verdicts({"remapped_rows": na["GPU-aaaa"]}) == []


def test_no_gpus_is_not_ok() -> None:
    out = gpu.result([], "550.90.12", "12.4")
    assert (out["ok"], out["reason"]) == (False, "nvidia-smi listed no GPUs")


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("| NVIDIA-SMI 550.90.12    Driver Version: 550.90.12    CUDA Version: 12.4     |", "12.4"),
        ("Driver Version                      : 440.33.01\nCUDA Version         : 10.2\n", "10.2"),
        ("| NVIDIA-SMI 610.43.02   KMD Version: 610.43.02   CUDA UMD Version: 13.3 |", "13.3"),
        ("CUDA Version                              : Not Found\n", None),
        ("", None),
    ],
)
def test_cuda_version_from_banner_and_query(text: str, version: str | None) -> None:
    assert gpu.cuda_version(text) == version


# --------------------------------------------------------------------------------------------
# The script, run for real


def _fake_smi(bin_dir: Path, mode: str, plain: str, csv_name: str) -> Path:
    """An ``nvidia-smi`` that prints recorded outputs; it logs each call's arguments.

    ``mode``: ``ok``; ``legacy`` (rejects the R535+ field names as old drivers do);
    ``qcuda`` (the banner without its CUDA version, so the probe asks ``-q``);
    ``broken`` (exit 9 with the recorded driver failure, whatever the arguments).
    """
    log = bin_dir / "calls.log"
    script = bin_dir / "nvidia-smi"
    script.write_text(
        f"""#!{sys.executable}
import sys
args = sys.argv[1:]
with open({str(log)!r}, "a") as f:
    f.write(" ".join(args) + "\\n")
def show(name):
    with open({str(DATA)!r} + "/" + name) as f:
        sys.stdout.write(f.read())
if {mode!r} == "broken":
    show("broken-driver-p3-eks-ami-1697.txt")
    sys.exit(9)
if not args and {mode!r} == "qcuda":
    import re
    with open({str(DATA)!r} + "/" + {plain!r}) as f:
        sys.stdout.write(re.sub(r"CUDA Version: [0-9.]+", "", f.read()))
elif not args:
    show({plain!r})
elif args == ["-q"]:
    show("t4-q-head-nvidia-docker-1256.txt")
elif args[0].startswith("--query-gpu="):
    if {mode!r} == "legacy" and "clocks_event_reasons" in args[0]:
        print('Field "clocks_event_reasons.active" is not a valid field to query.')
        sys.exit(2)
    show({csv_name!r})
elif args[0].startswith("--query-remapped-rows="):
    print("not supported on this GPU")
    sys.exit(2)
else:
    sys.exit(2)
""",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return log


def _run_probe(
    path: str, *args: str, python: str = sys.executable
) -> tuple[int, dict[str, Any], str]:
    return run_probe(SCRIPT, args, env={"PATH": path, "LANG": "C.UTF-8"}, python=python, timeout=60)


def test_no_nvidia_smi_on_this_machine_is_a_clean_not_ok(tmp_path: Path) -> None:
    code, out, stdout = _run_probe(str(tmp_path))
    assert code == 1
    assert out["probe"] == "gpu"
    assert out["ok"] is False
    assert out["reason"].startswith("nvidia-smi not found: ")
    assert out["gpus"] == []
    assert len(stdout.strip().splitlines()) == 1  # the JSON line is the whole output


def test_fake_nvidia_smi_printing_the_t4_recording(tmp_path: Path) -> None:
    log = _fake_smi(tmp_path, "ok", "t4-g4dn-eks-ami-2002.txt", "t4-g4dn-eks-ami-2002.derived.csv")
    code, out, _ = _run_probe(str(tmp_path))
    assert code == 0, out
    assert (out["ok"], out["driver"], out["cuda"], out["reason"]) == (
        True,
        "550.90.12",
        "12.4",
        None,
    )
    [t4] = out["gpus"]
    assert (t4["name"], t4["memory_total_mib"], t4["memory_used_mib"]) == ("Tesla T4", 15360, 1)
    assert t4["remapped_rows"] is None  # "not supported" on a T4: unknown, not failure
    calls = log.read_text().splitlines()
    assert calls[0] == ""
    assert (
        calls[1] == "--query-gpu=" + ",".join(gpu.QUERY_FIELDS) + " --format=csv,noheader,nounits"
    )
    assert calls[2].startswith("--query-remapped-rows=gpu_uuid,remapped_rows.correctable,")
    assert calls[2].endswith(" --format=csv,noheader")


def test_fake_old_driver_gets_the_throttle_reason_names(tmp_path: Path) -> None:
    log = _fake_smi(tmp_path, "legacy", "a10g-g5-dcgm-232.txt", "a10g-g5-dcgm-232.derived.csv")
    code, out, _ = _run_probe(str(tmp_path))
    assert code == 0, out
    assert out["gpus"][0]["name"] == "NVIDIA A10G"
    assert (out["driver"], out["cuda"]) == ("535.247.01", "12.2")
    queries = [c for c in log.read_text().splitlines() if c.startswith("--query-gpu=")]
    assert len(queries) == 2
    assert "clocks_throttle_reasons.active" in queries[1]
    assert "clocks_event_reasons" not in queries[1]


def test_fake_failing_nvidia_smi_reports_the_text_and_its_meaning(tmp_path: Path) -> None:
    _fake_smi(tmp_path, "broken", "", "")
    code, out, _ = _run_probe(str(tmp_path))
    assert code == 1
    assert out["ok"] is False
    assert out["reason"].startswith("nvidia-smi failed (exit 9): NVIDIA-SMI has failed because")
    assert "section 8 P10" in out["reason"]


def test_cuda_version_falls_back_to_query_output(tmp_path: Path) -> None:
    log = _fake_smi(
        tmp_path, "qcuda", "t4-g4dn-eks-ami-2002.txt", "t4-g4dn-eks-ami-2002.derived.csv"
    )
    code, out, _ = _run_probe(str(tmp_path))
    assert code == 0, out
    assert out["cuda"] == "10.2"
    assert "-q" in log.read_text().splitlines()


@pytest.mark.parametrize("args", [["--timeout", "0"], ["--bogus"]])
def test_bad_arguments_exit_2_with_a_json_line(tmp_path: Path, args: list[str]) -> None:
    code, out, _ = _run_probe(str(tmp_path), *args)
    assert code == 2
    assert out["ok"] is False
    assert out["reason"].startswith("bad arguments: ")


@pytest.mark.skipif(not PY38.exists(), reason=f"no Python 3.8 at {PY38}")
def test_runs_under_python_3_8(tmp_path: Path) -> None:
    _fake_smi(tmp_path, "ok", "h100-gvisor-10413.txt", "h100-gvisor-10413.derived.csv")
    code, out, _ = _run_probe(str(tmp_path), python=str(PY38))
    assert code == 0, out
    assert out["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"
    assert out["gpus"][0]["mig_mode"] == "Disabled"


def test_runs_on_this_machine_with_its_own_path() -> None:
    """With the real PATH: no GPU here gives the clean not-ok line; a GPU host gives ok."""
    code, out, _ = _run_probe(os.environ.get("PATH", ""))
    assert code == (0 if out["ok"] else 1)
    assert out["probe"] == "gpu"
    if not out["ok"]:
        assert out["reason"]
