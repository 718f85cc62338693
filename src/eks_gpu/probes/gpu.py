"""The ``gpu`` probe: what ``nvidia-smi`` says about each GPU, with health verdicts.

Runs as ``python3 gpu.py`` (stdlib only, Python >= 3.8) and prints one JSON line last:
``{"probe": "gpu", "ok": ..., "driver": ..., "cuda": ..., "gpus": [...], "reason": ...}``.
Exit 0 when every GPU is usable, 1 when the check failed (no nvidia-smi, driver broken, an
unhealthy GPU), 2 for bad arguments.

The parsers are pure so eks-gpu can read a pod's output on its side: the ``gpu-simple-test``
pod runs plain ``nvidia-smi`` in an image without Python, so :func:`parse_pod_log` reads the
standard table. ``[N/A]`` / ``[Not Supported]`` mean "unknown" (``null``), never failure: T4 and
A10G lack some fields (research/nvidia.md section 9).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Any, NoReturn

PROBE = "gpu"

# ``nvidia-smi --help-query-gpu`` names. Drivers since R535 call the clock reasons
# ``clocks_event_reasons.*`` and keep ``clocks_throttle_reasons.*`` as the old name; older
# drivers know only the old one, so the probe asks with the new names and falls back.
QUERY_FIELDS = (
    "index",
    "name",
    "uuid",
    "driver_version",
    "memory.total",
    "memory.used",
    "temperature.gpu",
    "ecc.errors.uncorrected.volatile.total",
    "ecc.errors.uncorrected.aggregate.total",
    "clocks_event_reasons.active",
    "clocks_event_reasons.hw_slowdown",
    "clocks_event_reasons.hw_thermal_slowdown",
    "clocks_event_reasons.sw_thermal_slowdown",
    "persistence_mode",
    "mig.mode.current",
    "pstate",
    "power.draw",
)
NEW_REASONS = "clocks_event_reasons."
OLD_REASONS = "clocks_throttle_reasons."
LEGACY_QUERY_FIELDS = tuple(f.replace(NEW_REASONS, OLD_REASONS) for f in QUERY_FIELDS)
# Other spellings ``--help-query-gpu`` accepts for the same property.
ALIASES = {"gpu_uuid": "uuid", "gpu_name": "name", "persistence-mode": "persistence_mode"}
REMAPPED_FIELDS = (
    "gpu_uuid",
    "remapped_rows.correctable",
    "remapped_rows.uncorrectable",
    "remapped_rows.pending",
    "remapped_rows.failure",
)

# "Unknown Error" is what a GPU whose GSP firmware hangs answers (awslabs/amazon-eks-ami#1523).
UNKNOWN = {
    "",
    "n/a",
    "[n/a]",
    "not supported",
    "[not supported]",
    "unknown error",
    "[unknown error]",
}

# NVML clock event bits (nvmlClocksEventReasons, NVML API reference): HW slowdown,
# HW thermal slowdown, HW power brake. Any of them means the hardware is cutting clocks.
HW_SLOWDOWN_BIT = 0x8
HW_THERMAL_BIT = 0x40
HW_POWER_BRAKE_BIT = 0x80

# What the known nvidia-smi failures mean (research/nvidia.md section 8, P1 and P10).
FAILURES = (
    (
        "couldn't communicate with the NVIDIA driver",
        "the NVIDIA kernel driver is not loaded or does not match this GPU: a non-GPU AMI, or "
        "the AMI loaded the wrong kernel module (research/nvidia.md section 8 P10; "
        "awslabs/amazon-eks-ami#1697). Use an accelerated AMI (al2023/bottlerocket alias) or "
        "pin a known-good AMI version",
    ),
    (
        "No devices were found",
        "the driver loaded but initialised no GPU, typically the proprietary kernel module on a "
        "GPU that needs the open one (research/nvidia.md section 8 P10; "
        "awslabs/amazon-eks-ami#2768). Pin a known-good AMI or exclude the instance family",
    ),
    (
        "Driver/library version mismatch",
        "the user-space NVML library and the loaded kernel module differ, usually after a driver "
        "change on a live node (research/nvidia.md section 8, 'also seen'; "
        "NVIDIA/k8s-device-plugin#221). Reboot the node or restart the plugin",
    ),
    (
        "Failed to initialize NVML",
        "NVML cannot be loaded: no driver on the node, or the container ran without the NVIDIA "
        "runtime so libnvidia-ml and /dev/nvidia* were not injected (research/nvidia.md section "
        "8 P1). Use an accelerated AMI and make nvidia containerd's default runtime",
    ),
)


class ProbeError(Exception):
    """nvidia-smi output the probe cannot read; the message names what was unexpected."""


# ---------------------------------------------------------------------------------------------
# Pure parsing


def value(raw: str) -> str | None:
    """One CSV cell, or ``None`` for nvidia-smi's "unknown" spellings."""
    text = raw.strip()
    return None if text.lower() in UNKNOWN else text


MAX_DIGITS = 18
"""Longer digit runs are not a reading nvidia-smi makes (and would overflow a float)."""
_NUMBER = re.compile(r"^\s*(-?[0-9]{1,%s}(?:\.[0-9]+)?)(?![0-9])" % MAX_DIGITS)  # noqa: UP031


def number(raw: str | None) -> float | None:
    """A number with or without its unit (``15360``, ``15360 MiB``, ``70.00 W``).

    ``None`` when unknown, including a digit run too long to be a reading (garbled output).
    """
    if raw is None:
        return None
    match = _NUMBER.match(raw)
    return float(match.group(1)) if match else None


def integer(raw: str | None) -> int | None:
    """An integer cell (index, MiB, degrees C, error counts), ``None`` when unknown."""
    num = number(raw)
    return None if num is None else int(num)


def _digits(text: str | None) -> int | None:
    """A regex's ``\\d+`` group as an int; ``None`` when too long to be a reading."""
    if text is None or len(text) > MAX_DIGITS:
        return None
    return int(text)


def flag(raw: str | None) -> bool | None:
    """``Active``/``Enabled``/``Yes``/``On`` -> True, their opposites -> False."""
    if raw is None:
        return None
    text = raw.strip().lower()
    if text in ("active", "enabled", "yes", "on"):
        return True
    if text in ("not active", "disabled", "no", "off"):
        return False
    return None


def _bits(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw, 16) if raw.lower().startswith("0x") else int(raw)
    except ValueError:
        return None


def _from_bits(explicit: bool | None, bits: int | None, mask: int) -> bool | None:
    """The per-reason column when known, else the bit of the ``active`` mask."""
    if explicit is not None or bits is None:
        return explicit
    return bool(bits & mask)


def gpu_from_row(row: dict[str, str | None]) -> dict[str, Any]:
    """One GPU's fields (keyed by query name, old or new reason names) as the JSON shape."""
    row = {ALIASES.get(k, k): v for k, v in row.items()}
    reasons = {k.replace(OLD_REASONS, NEW_REASONS): v for k, v in row.items()}
    bits = _bits(reasons.get(NEW_REASONS + "active"))
    return {
        "index": integer(row.get("index")),
        "name": row.get("name"),
        "uuid": row.get("uuid"),
        "driver": row.get("driver_version"),
        "memory_total_mib": integer(row.get("memory.total")),
        "memory_used_mib": integer(row.get("memory.used")),
        "temperature_c": integer(row.get("temperature.gpu")),
        "ecc_uncorrected_volatile": integer(row.get("ecc.errors.uncorrected.volatile.total")),
        "ecc_uncorrected_aggregate": integer(row.get("ecc.errors.uncorrected.aggregate.total")),
        "clocks_event_reasons": reasons.get(NEW_REASONS + "active"),
        "hw_slowdown": _from_bits(
            flag(reasons.get(NEW_REASONS + "hw_slowdown")), bits, HW_SLOWDOWN_BIT
        ),
        "hw_thermal_slowdown": _from_bits(
            flag(reasons.get(NEW_REASONS + "hw_thermal_slowdown")), bits, HW_THERMAL_BIT
        ),
        "hw_power_brake": _from_bits(None, bits, HW_POWER_BRAKE_BIT),
        "sw_thermal_slowdown": flag(reasons.get(NEW_REASONS + "sw_thermal_slowdown")),
        "persistence_mode": flag(row.get("persistence_mode")),
        "mig_mode": row.get("mig.mode.current"),
        "pstate": row.get("pstate"),
        "power_draw_w": number(row.get("power.draw")),
    }


def parse_query_gpu(csv_text: str, fields: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    """``nvidia-smi --query-gpu=<fields> --format=csv,noheader[,nounits]``: one GPU per line."""
    gpus = []
    rows = csv.reader(line for line in csv_text.splitlines() if line.strip())
    for number_, cells in enumerate(rows, start=1):
        if len(cells) != len(fields):
            raise ProbeError(
                f"--query-gpu line {number_} has {len(cells)} values for {len(fields)} fields: "
                f"{','.join(cells)[:200]!r}"
            )
        gpus.append(gpu_from_row({f: value(cells[i]) for i, f in enumerate(fields)}))
    return gpus


def parse_remapped_rows(text: str) -> dict[str, dict[str, Any]]:
    """``--query-remapped-rows`` CSV, keyed by GPU UUID; empty when the GPU does not support it.

    Row remapping exists on Ampere and later; older GPUs answer "not supported", which means
    unknown, not failure.
    """
    out: dict[str, dict[str, Any]] = {}
    if "not supported" in text.lower():
        return out
    for cells in csv.reader(line for line in text.splitlines() if line.strip()):
        if len(cells) != len(REMAPPED_FIELDS) or not cells[0].strip().startswith("GPU-"):
            continue
        _uuid, correctable, uncorrectable, pending, failure = (value(c) for c in cells)
        out[cells[0].strip()] = {
            "correctable": integer(correctable),
            "uncorrectable": integer(uncorrectable),
            "pending": flag(pending),
            "failure": flag(failure),
        }
    return out


def cuda_version(header_text: str) -> str | None:
    """``CUDA Version: 12.4`` from the plain table's banner or ``nvidia-smi -q``.

    R610+ banners say ``CUDA UMD Version: 13.3``; ``-q`` may say ``CUDA Version : Not Found``.
    """
    match = re.search(r"CUDA (?:UMD )?Version\s*:\s*([0-9]+(?:\.[0-9]+)*)", header_text)
    return match.group(1) if match else None


def driver_version(header_text: str) -> str | None:
    """``Driver Version: 550.90.12`` (R610+: ``KMD Version``) from the banner or ``-q``."""
    match = re.search(r"(?:Driver|KMD) Version\s*:\s*([0-9]+(?:\.[0-9]+)*)", header_text)
    return match.group(1) if match else None


def verdicts(gpu: dict[str, Any]) -> list[dict[str, str]]:
    """Health findings for one GPU: ``unhealthy`` fails the probe, ``warning`` does not."""
    out = []
    ecc = gpu.get("ecc_uncorrected_volatile")
    if ecc is not None and ecc > 0:
        out.append(_verdict("unhealthy", "ecc", f"{ecc} uncorrected ECC errors since boot"))
    remap = gpu.get("remapped_rows") or {}
    if remap.get("pending"):
        text = "row remapping pending: the GPU needs a reset to apply it"
        out.append(_verdict("unhealthy", "remapped_rows", text))
    if remap.get("failure"):
        text = "row remapping failed: the GPU needs replacing"
        out.append(_verdict("unhealthy", "remapped_rows", text))
    if gpu.get("hw_slowdown"):
        out.append(_verdict("warning", "hw_slowdown", "HW slowdown active: clocks cut by 2x+"))
    if gpu.get("hw_thermal_slowdown"):
        out.append(_verdict("warning", "hw_thermal_slowdown", "HW thermal slowdown active"))
    if gpu.get("hw_power_brake"):
        out.append(_verdict("warning", "hw_power_brake", "HW power brake slowdown active"))
    return out


def _verdict(level: str, check: str, reason: str) -> dict[str, str]:
    return {"level": level, "check": check, "reason": reason}


def failure_meaning(text: str) -> str | None:
    """What a failing nvidia-smi's message means, or ``None`` when it is not a known one."""
    for needle, meaning in FAILURES:
        if needle.lower() in text.lower():
            return meaning
    return None


def failure(reason: str, output: str = "") -> dict[str, Any]:
    """The ``ok: false`` result for a GPU that cannot be queried at all."""
    text = " ".join(output.split())[:500]
    meaning = failure_meaning(output)
    full = reason + (f": {text}" if text else "") + (f" -- {meaning}" if meaning else "")
    return {"probe": PROBE, "ok": False, "driver": None, "cuda": None, "gpus": [], "reason": full}


def result(
    gpus: list[dict[str, Any]],
    driver: str | None,
    cuda: str | None,
    remapped: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The probe's JSON: GPUs with remap data and verdicts; ok when none is unhealthy."""
    out_gpus = []
    for gpu in gpus:
        entry = dict(gpu)
        if remapped is not None:
            entry["remapped_rows"] = remapped.get(str(gpu.get("uuid")))
        entry["verdicts"] = verdicts(entry)
        out_gpus.append(entry)
    bad = [
        f"GPU {g.get('index')}: {v['reason']}"
        for g in out_gpus
        for v in g["verdicts"]
        if v["level"] == "unhealthy"
    ]
    reason = "; ".join(bad) if bad else (None if out_gpus else "nvidia-smi listed no GPUs")
    return {
        "probe": PROBE,
        "ok": bool(out_gpus) and not bad,
        "driver": driver or next((g.get("driver") for g in gpus if g.get("driver")), None),
        "cuda": cuda,
        "gpus": out_gpus,
        "reason": reason,
    }


# Plain ``nvidia-smi`` table: a GPU's first row holds index, name, persistence, bus id and ECC;
# its second row temperature, perf state, power and memory; its third the MIG mode.
_ROW1 = re.compile(
    r"^\|\s*(\d+)\s+(.+?)\s+(On|Off)\s*\|\s*([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f.]+)\s+\S+\s*\|"
    r"\s*(\S+)\s*\|\s*$"
)
_ROW2 = re.compile(
    r"^\|\s*\S+\s+(?:(\d+)C|N/A)\s+(P\d+|N/A)\s+(?:(\d+)W|N/A)\s*/\s*(?:\d+W|N/A)\s*\|"
    r"\s*(\d+)MiB\s*/\s*(\d+)MiB\s*\|"
)
_ROW3 = re.compile(r"^\|\s*\|\s*\|\s*(\S+)\s*\|\s*$")
_LIST = re.compile(r"^GPU (\d+): (.+?) \(UUID: (GPU-[0-9a-fA-F-]+)\)")


def parse_table(text: str) -> list[dict[str, Any]]:
    """GPUs from the plain ``nvidia-smi`` table (any banner width); unknown columns stay None."""
    gpus: list[dict[str, Any]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        first = _ROW1.match(line.rstrip())
        if not first:
            continue
        second = _ROW2.match(lines[i + 1].rstrip()) if i + 1 < len(lines) else None
        third = _ROW3.match(lines[i + 2].rstrip()) if i + 2 < len(lines) else None
        gpus.append(
            {
                "index": _digits(first.group(1)),
                "name": first.group(2),
                "uuid": None,
                "persistence_mode": first.group(3) == "On",
                "ecc_uncorrected_volatile": integer(value(first.group(5))),
                "temperature_c": integer(second.group(1)) if second else None,
                "pstate": value(second.group(2)) if second else None,
                "power_draw_w": number(second.group(3)) if second else None,
                "memory_used_mib": _digits(second.group(4)) if second else None,
                "memory_total_mib": _digits(second.group(5)) if second else None,
                "mig_mode": value(third.group(1)) if third else None,
            }
        )
    return gpus


def parse_list(text: str) -> list[dict[str, Any]]:
    """``nvidia-smi -L`` lines: ``GPU 0: Tesla T4 (UUID: GPU-...)``."""
    out = []
    for line in text.splitlines():
        match = _LIST.match(line.strip())
        if match:
            out.append(
                {"index": _digits(match.group(1)), "name": match.group(2), "uuid": match.group(3)}
            )
    return out


def parse_pod_log(text: str) -> dict[str, Any]:
    """The probe's result from what a test pod printed (plain ``nvidia-smi`` and/or ``-L``)."""
    if failure_meaning(text) is not None:
        return failure("nvidia-smi failed", text)
    table = parse_table(text)
    listed = {g["index"]: g for g in parse_list(text)}
    if table:
        for gpu in table:
            gpu["uuid"] = listed.get(gpu["index"], {}).get("uuid")
        gpus = table
    else:
        gpus = list(listed.values())
    if not gpus:
        return failure("no GPU found in the pod's output", text[-300:])
    return result(gpus, driver_version(text), cuda_version(text))


# ---------------------------------------------------------------------------------------------
# I/O: running nvidia-smi


def _run(args: list[str], timeout: float) -> tuple[int, str]:
    """Exit code and stdout+stderr of one nvidia-smi call."""
    try:
        proc = subprocess.run(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(args[:2])} timed out after {timeout:g}s"
    except OSError as err:
        return 127, str(err)
    return proc.returncode, proc.stdout


def _query_gpus(smi: str, timeout: float) -> tuple[list[dict[str, Any]], str | None]:
    """Parsed --query-gpu rows, or an error text; retries with the pre-R535 field names."""
    output = ""
    for fields in (QUERY_FIELDS, LEGACY_QUERY_FIELDS):
        code, output = _run(
            [smi, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"], timeout
        )
        if code == 0:
            return parse_query_gpu(output, fields), None
        if "is not a valid field" not in output:
            break
    return [], output or "nvidia-smi --query-gpu failed"


def probe(smi: str, timeout: float) -> dict[str, Any]:
    """Run nvidia-smi (banner, per-GPU query, remapped rows) and build the result."""
    code, header = _run([smi], timeout)
    if code != 0:
        return failure(f"nvidia-smi failed (exit {code})", header)
    try:
        gpus, error = _query_gpus(smi, timeout)
    except ProbeError as err:
        return failure("unexpected nvidia-smi --query-gpu output", str(err))
    if error is not None:
        return failure("nvidia-smi --query-gpu failed", error)
    cuda = cuda_version(header)
    if cuda is None:
        cuda = cuda_version(_run([smi, "-q"], timeout)[1])
    fields = ",".join(REMAPPED_FIELDS)
    code, remap_text = _run(
        [smi, f"--query-remapped-rows={fields}", "--format=csv,noheader"], timeout
    )
    remapped = parse_remapped_rows(remap_text) if code == 0 else {}
    return result(gpus, driver_version(header), cuda, remapped)


class _Parser(argparse.ArgumentParser):
    """Bad arguments still end with the JSON line (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        reason = f"bad arguments: {message}"
        print(json.dumps({"probe": PROBE, "ok": False, "reason": reason}))
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    """Print the JSON line; 0 when ok, 1 when not."""
    parser = _Parser(description="Query nvidia-smi and judge each GPU's health.")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per nvidia-smi call")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be > 0")
    smi = shutil.which("nvidia-smi")
    if smi is None:
        reason = f"nvidia-smi not found: not on PATH ({os.environ.get('PATH', '')}); no GPU driver"
        out: dict[str, Any] = {"probe": PROBE, "ok": False, "driver": None, "cuda": None}
        out.update({"gpus": [], "reason": reason})
    else:
        out = probe(smi, args.timeout)
    print(json.dumps(out, sort_keys=True), flush=True)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
