"""Storage probe: where a directory lives and how fast it is.

Run as ``python3 storage.py [--dir DIR] [--size-mib N] [--block-kib N] [--expect-raid0]
[--seconds LIMIT]``. It prints a human line or two and, last, one JSON line
``{"probe": "storage", "ok": ..., ...}``; exit 0 when ok, 1 when the check failed, 2 for bad
arguments.

Why: with ``instanceStorePolicy: RAID0`` Karpenter has the node build one md RAID0 array from
the NVMe instance-store disks and put the kubelet and containerd directories on it (AL2023:
``/dev/md/0`` mounted at ``/mnt/k8s-disks/0``; Karpenter docs ``concepts/nodeclasses.md``
``spec.instanceStorePolicy``, summarised in research/aws-gpu.md section 5). A pod's emptyDir
then sits on that array; without the policy it sits on the EBS root volume, which is far slower.
The probe reads the answer from ``/proc/self/mountinfo`` and ``/sys`` (sysfs is mounted read-only
in pods) and measures the throughput rather than trusting the label.

Standard library only, Python >= 3.8, imports nothing from eks_gpu: the script is shipped alone
into a stock image. The pure functions (mountinfo parsing, device classification over a /sys
root passed as an argument, result assembly) are separated from the I/O for unit tests.
MB/s figures are decimal (10**6 bytes per second), as fio's ``MB/s`` and disk datasheets are.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import errno
import json
import mmap
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

PROBE = "storage"
MB = 1_000_000
MIB = 1 << 20
ALIGN = 4096  # O_DIRECT needs offsets/lengths aligned to the logical block size (512 or 4096)
MIN_SIZE_MIB, MAX_SIZE_MIB, DEFAULT_SIZE_MIB = 16, 8192, 256
MIN_BLOCK_KIB, MAX_BLOCK_KIB, DEFAULT_BLOCK_KIB = 4, 65536, 1024
MIN_SECONDS, MAX_SECONDS, DEFAULT_SECONDS = 3.0, 3600.0, 20.0
RAND_READ_SECONDS = 2.0  # the random-read phase is capped at this share of the budget
RAND_BLOCK = 4096
RAND_BATCH = 64
EBS_MODEL = "Amazon Elastic Block Store"
INSTANCE_STORE_MODEL = "Amazon EC2 NVMe Instance Storage"
NO_DEVICE_FS = ("overlay", "tmpfs", "ramfs", "devtmpfs", "fuse.", "nfs", "cifs", "9p", "virtiofs")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
_NVME_PARTITION = re.compile(r"^(nvme\d+n\d+)p\d+$")
_SD_PARTITION = re.compile(r"^((?:sd|xvd|vd)[a-z]+)\d+$")


class UsageError(Exception):
    """Bad command-line input: reported as a JSON line with exit code 2."""


# ---------------------------------------------------------------- pure: mountinfo


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo (proc(5)): the fields the probe uses."""

    major_minor: str
    root: str
    mount_point: str
    fs_type: str
    source: str
    super_options: str


def _unescape(field_text: str) -> str:
    r"""Mountinfo escapes space, tab, newline and backslash as ``\040`` etc. (octal)."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field_text)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse mountinfo text; the optional fields end at a lone ``-`` (proc(5))."""
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if "-" not in parts[6:]:
            continue
        sep = parts.index("-", 6)
        if len(parts) < sep + 3:
            continue
        mounts.append(
            Mount(
                major_minor=parts[2],
                root=_unescape(parts[3]),
                mount_point=_unescape(parts[4]),
                fs_type=parts[sep + 1],
                source=_unescape(parts[sep + 2]),
                super_options=parts[sep + 3] if len(parts) > sep + 3 else "",
            )
        )
    return mounts


def _covers(mount_point: str, path: str) -> bool:
    if mount_point == "/":
        return True
    return path == mount_point or path.startswith(mount_point.rstrip("/") + "/")


def mount_for_path(mounts: list[Mount], path: str) -> Mount | None:
    """The mount a resolved absolute path lives on: the longest covering mount point; among
    equal ones the last listed, since a later mount on the same point hides the earlier."""
    best: Mount | None = None
    for mount in mounts:
        if _covers(mount.mount_point, path) and (
            best is None or len(mount.mount_point) >= len(best.mount_point)
        ):
            best = mount
    return best


# ---------------------------------------------------------------- pure: /sys classification


@dataclass(frozen=True)
class Device:
    """What backs a mount, read from a /sys tree."""

    name: str | None  # kernel name of the block device, e.g. md127, nvme1n1
    raid_level: str | None = None  # md arrays only: /sys/block/mdX/md/level
    members: tuple[str, ...] = ()  # md arrays only: /sys/block/mdX/slaves
    models: tuple[str, ...] = ()  # model of the device, or of each member disk
    raid0: bool = False
    nvme_instance_store: bool = False
    ebs: bool = False


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def whole_disk(name: str) -> str:
    """The disk a partition belongs to (nvme1n1p1 -> nvme1n1, xvda1 -> xvda)."""
    for pattern in (_NVME_PARTITION, _SD_PARTITION):
        match = pattern.match(name)
        if match:
            return match.group(1)
    return name


def block_name(sys_root: str, major_minor: str, source: str) -> str | None:
    """Kernel name of the block device behind ``major:minor`` (via /sys/dev/block), else the
    mount source's basename when /sys/block has it (btrfs and others report 0:N)."""
    link = Path(sys_root, "dev", "block", major_minor)
    if not major_minor.startswith("0:") and link.exists():
        return link.resolve().name
    base = Path(source).name
    if source.startswith("/dev/") and (
        Path(sys_root, "block", base).is_dir() or Path(sys_root, "class", "block", base).is_dir()
    ):
        return base
    return None


def disk_model(sys_root: str, name: str) -> str:
    """The disk's model string ("" when unknown); NVMe puts it on the controller."""
    model = _read(Path(sys_root, "block", whole_disk(name), "device", "model"))
    return model or ""


def classify_device(sys_root: str, name: str | None) -> Device:
    """Classify a block device: md RAID0 over instance-store NVMe, EBS, or something else."""
    if name is None:
        return Device(name=None)
    md_dir = Path(sys_root, "block", name, "md")
    if md_dir.is_dir():
        level = _read(md_dir / "level") or ""
        try:
            members = tuple(
                sorted(p.name for p in Path(sys_root, "block", name, "slaves").iterdir())
            )
        except OSError:
            members = ()
        models = tuple(disk_model(sys_root, member) for member in members)
        store = bool(members) and all(
            whole_disk(m).startswith("nvme") and model == INSTANCE_STORE_MODEL
            for m, model in _pairs(members, models)
        )
        return Device(
            name=name,
            raid_level=level or None,
            members=members,
            models=models,
            raid0=level == "raid0",
            nvme_instance_store=store,
            ebs=EBS_MODEL in models,
        )
    model = disk_model(sys_root, name)
    nvme = whole_disk(name).startswith("nvme")
    return Device(
        name=name,
        models=(model,) if model else (),
        nvme_instance_store=nvme and model == INSTANCE_STORE_MODEL,
        ebs=model == EBS_MODEL,
    )


def _pairs(left: tuple[str, ...], right: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(left[i], right[i]) for i in range(min(len(left), len(right)))]


# ---------------------------------------------------------------- pure: result assembly


@dataclass(frozen=True)
class Location:
    """Where the probed directory lives."""

    dir: str
    mount: Mount | None
    device: Device
    capacity_bytes: int
    free_bytes: int


@dataclass
class Measurements:
    """Figures from the I/O phases; None where a phase did not run."""

    write_mb_s: float | None = None
    read_mb_s: float | None = None
    rand_read_iops: float | None = None
    direct_io: bool | None = None
    bytes_tested: int = 0
    notes: list[str] = field(default_factory=list)


def mb_per_s(nbytes: int, seconds: float) -> float:
    """Decimal MB/s, rounded to 0.1."""
    return round(nbytes / MB / seconds, 1) if seconds > 0 else 0.0


def describe_location(loc: Location) -> str:
    """One phrase naming what the directory is on, for reasons and the human line."""
    dev = loc.device
    fs = loc.mount.fs_type if loc.mount else "unknown"
    if dev.name is None:
        if fs in NO_DEVICE_FS or fs.startswith("fuse."):
            return f"{fs} (no block device visible from here)"
        return f"{fs} on an unidentified device"
    if dev.raid_level is not None:
        kinds = ", ".join(sorted(set(dev.models))) or "unknown models"
        members = " ".join(dev.members) or "no members"
        return f"md {dev.raid_level} /dev/{dev.name} over {members} ({kinds})"
    if dev.ebs:
        return f"EBS volume /dev/{dev.name}"
    if dev.nvme_instance_store:
        return f"a single instance-store NVMe disk /dev/{dev.name} (no RAID0)"
    model = dev.models[0] if dev.models else "unknown model"
    return f"/dev/{dev.name} ({fs}, {model})"


def raid0_failure(loc: Location) -> str | None:
    """Why the directory is not on an md RAID0 of instance-store NVMe, or None when it is."""
    dev = loc.device
    if dev.raid0 and dev.nvme_instance_store and not dev.ebs:
        return None
    where = describe_location(loc)
    hint = (
        "expected an md RAID0 of NVMe instance-store disks (EC2NodeClass "
        "instanceStorePolicy: RAID0 on an instance type with NVMe instance store)"
    )
    if loc.mount is not None and loc.mount.fs_type == "overlay":
        hint += "; the container's writable layer hides its device, probe an emptyDir volume"
    return f"{loc.dir} is on {where}; {hint}"


def assemble_result(
    loc: Location,
    meas: Measurements,
    size_mib: int,
    expect_raid0: bool,
    error: str | None,
) -> dict[str, Any]:
    """The probe's JSON object. ok: the measurements ran (and, with --expect-raid0, the
    directory is on an md RAID0 of instance-store NVMe)."""
    reason = error
    if reason is None and expect_raid0:
        reason = raid0_failure(loc)
    dev = loc.device
    return {
        "probe": PROBE,
        "ok": reason is None,
        "dir": loc.dir,
        "mount": loc.mount.mount_point if loc.mount else None,
        "device": f"/dev/{dev.name}" if dev.name else (loc.mount.source if loc.mount else None),
        "fs": loc.mount.fs_type if loc.mount else None,
        "raid0": dev.raid0,
        "nvme_instance_store": dev.nvme_instance_store,
        "ebs": dev.ebs,
        "members": list(dev.members),
        "capacity_bytes": loc.capacity_bytes,
        "free_bytes": loc.free_bytes,
        "write_mb_s": meas.write_mb_s,
        "read_mb_s": meas.read_mb_s,
        "rand_read_iops": meas.rand_read_iops,
        "direct_io": meas.direct_io,
        "size_mib": size_mib,
        "bytes_tested": meas.bytes_tested,
        "notes": meas.notes,
        "reason": reason,
    }


# ---------------------------------------------------------------- I/O: location


def locate(
    directory: str, proc_mountinfo: str = "/proc/self/mountinfo", sys_root: str = "/sys"
) -> Location:
    """Find the mount, device and free space of a directory on this machine."""
    path = os.path.realpath(directory)
    try:
        mounts = parse_mountinfo(Path(proc_mountinfo).read_text())
    except OSError:
        mounts = []
    mount = mount_for_path(mounts, path)
    name = block_name(sys_root, mount.major_minor, mount.source) if mount else None
    st = os.statvfs(path)
    return Location(
        dir=path,
        mount=mount,
        device=classify_device(sys_root, name),
        capacity_bytes=st.f_blocks * st.f_frsize,
        free_bytes=st.f_bavail * st.f_frsize,
    )


# ---------------------------------------------------------------- I/O: measurements


def _aligned_buffer(size: int, random_fill: bool) -> mmap.mmap:
    """An anonymous mmap is page-aligned, as O_DIRECT needs; random bytes defeat compression."""
    buf = mmap.mmap(-1, size)
    if random_fill:
        chunk = os.urandom(min(size, MIB))
        for offset in range(0, size, len(chunk)):
            buf[offset : offset + len(chunk)] = chunk[: size - offset]
    return buf


def _open_direct(path: str, flags: int) -> tuple[int, bool]:
    """Open with O_DIRECT when the filesystem accepts it (tmpfs and some others refuse
    with EINVAL), else without; returns (fd, direct)."""
    direct_flag = getattr(os, "O_DIRECT", 0)
    if direct_flag:
        try:
            return os.open(path, flags | direct_flag, 0o600), True
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                raise
    return os.open(path, flags, 0o600), False


def _stamp(buf: mmap.mmap, offset: int) -> None:
    """Put the file offset in the first 8 bytes of every 4 KiB of the block, so no two 4 KiB
    blocks of the file are equal and deduplicating storage cannot skip writes (fio's
    scramble_buffers does the same); 8 strided copies, cheap next to the write."""
    stamps = array.array("Q", range(offset, offset + len(buf), ALIGN)).tobytes()
    for k in range(8):
        buf[k::ALIGN] = stamps[k::8]


def write_file(
    path: str, size: int, block: int, deadline: float, direct: bool
) -> tuple[int, float]:
    """Sequentially write up to ``size`` bytes (stops at the deadline), fsync, return
    (bytes, seconds); the time includes the fsync, so buffered writes are not flattered."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = (
        os.open(path, flags | getattr(os, "O_DIRECT", 0), 0o600)
        if direct
        else os.open(path, flags, 0o600)
    )
    buf = _aligned_buffer(block, random_fill=True)
    written = 0
    try:
        start = time.perf_counter()
        while written < size and (written == 0 or time.perf_counter() < deadline):
            _stamp(buf, written)
            written += os.write(fd, buf)
        os.fsync(fd)
        return written, time.perf_counter() - start
    finally:
        os.close(fd)
        buf.close()


def read_file(path: str, size: int, block: int, deadline: float, direct: bool) -> tuple[int, float]:
    """Sequentially read the file; without O_DIRECT its cached pages are dropped first
    (posix_fadvise DONTNEED, effective after the fsync) so the disk is what is timed."""
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECT", 0) if direct else 0))
    buf = _aligned_buffer(block, random_fill=False)
    done = 0
    try:
        if not direct:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        start = time.perf_counter()
        while done < size and (done == 0 or time.perf_counter() < deadline):
            got = os.readv(fd, [buf])
            if got <= 0:
                break
            done += got
        return done, time.perf_counter() - start
    finally:
        os.close(fd)
        buf.close()


def random_reads(path: str, size: int, seconds: float, direct: bool) -> float:
    """4 KiB reads at random 4 KiB-aligned offsets for ``seconds``; returns IOPS. Offsets
    are drawn and the clock read once per batch of RAND_BATCH reads, so Python's own cost
    per read stays small next to a ~50 us NVMe read."""
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECT", 0) if direct else 0))
    buf = _aligned_buffer(RAND_BLOCK, random_fill=False)
    blocks = max(1, size // RAND_BLOCK)
    rng = random.Random(0x5EED)
    bufs = [buf]
    pread = os.preadv
    ops = 0
    try:
        if not direct:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        start = time.perf_counter()
        end = start + seconds
        now = start
        while now < end or ops == 0:
            for block_no in rng.sample(range(blocks), min(RAND_BATCH, blocks)):
                pread(fd, bufs, block_no * RAND_BLOCK)
            ops += min(RAND_BATCH, blocks)
            now = time.perf_counter()
        return round(ops / (now - start), 1)
    finally:
        os.close(fd)
        buf.close()


def _probe_direct(path: str) -> bool:
    """Whether this filesystem takes O_DIRECT: open and write one aligned block."""
    fd, direct = _open_direct(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        if direct:
            buf = _aligned_buffer(ALIGN, random_fill=False)
            try:
                os.write(fd, buf)
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                direct = False
            finally:
                buf.close()
        return direct
    finally:
        os.close(fd)


def measure(path: str, size: int, block: int, seconds: float) -> Measurements:
    """Run write, read and random-read phases within ``seconds`` overall on ``path``."""
    meas = Measurements()
    start = time.perf_counter()
    direct = _probe_direct(path)
    meas.direct_io = direct
    if not direct:
        meas.notes.append(
            "O_DIRECT unsupported here: buffered I/O, fsync after write, "
            "page cache dropped with posix_fadvise(DONTNEED) before reads"
        )
    rand_s = min(RAND_READ_SECONDS, seconds * 0.1)
    phase = (seconds - rand_s) / 2
    written, w_s = write_file(path, size, block, start + phase, direct)
    meas.write_mb_s = mb_per_s(written, w_s)
    meas.bytes_tested = written
    if written < size:
        meas.notes.append(f"write stopped at the time limit after {written // MIB} MiB")
    done, r_s = read_file(path, written, block, time.perf_counter() + phase, direct)
    meas.read_mb_s = mb_per_s(done, r_s)
    if done < written:
        meas.notes.append(f"read stopped at the time limit after {done // MIB} MiB")
    meas.rand_read_iops = random_reads(path, written, rand_s, direct)
    return meas


# ---------------------------------------------------------------- CLI


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _bounded(kind: type, low: float, high: float) -> Any:
    def check(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low}..{high}")
        return value

    return check


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse and bound the arguments; raises UsageError naming the flag and the fix."""
    parser = _Parser(prog="storage.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--dir", default=".", help="directory to test (default: current)")
    parser.add_argument(
        "--size-mib",
        type=_bounded(int, MIN_SIZE_MIB, MAX_SIZE_MIB),
        default=DEFAULT_SIZE_MIB,
        help=f"test file size, {MIN_SIZE_MIB}..{MAX_SIZE_MIB} MiB (default {DEFAULT_SIZE_MIB})",
    )
    parser.add_argument(
        "--block-kib",
        type=_bounded(int, MIN_BLOCK_KIB, MAX_BLOCK_KIB),
        default=DEFAULT_BLOCK_KIB,
        help=f"sequential I/O block in KiB, a multiple of 4 (default {DEFAULT_BLOCK_KIB})",
    )
    parser.add_argument(
        "--expect-raid0",
        action="store_true",
        help="fail unless DIR is on an md RAID0 of NVMe instance store",
    )
    parser.add_argument(
        "--seconds",
        type=_bounded(float, MIN_SECONDS, MAX_SECONDS),
        default=DEFAULT_SECONDS,
        help=f"overall time limit for the I/O phases (default {DEFAULT_SECONDS:g})",
    )
    args = parser.parse_args(argv)
    if args.block_kib % 4:
        raise UsageError(f"--block-kib {args.block_kib}: use a multiple of 4 (O_DIRECT alignment)")
    if args.block_kib > args.size_mib * 1024:
        raise UsageError(f"--block-kib {args.block_kib} is larger than --size-mib {args.size_mib}")
    if not Path(args.dir).is_dir():
        raise UsageError(f"--dir {args.dir}: not a directory; pass an existing directory")
    return args


def _emit(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    sys.stdout.flush()


def _human(result: dict[str, Any], where: str) -> str:
    head = f"storage: {result['dir']} is on {where}"
    if result["write_mb_s"] is None:
        return head
    mode = "O_DIRECT" if result["direct_io"] else "buffered"
    return (
        f"{head}; write {result['write_mb_s']} MB/s, read {result['read_mb_s']} MB/s, "
        f"4 KiB random read {result['rand_read_iops']} IOPS ({mode})"
    )


def run(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Locate the directory, measure it, always remove the test file; returns the result
    and a phrase naming what the directory is on."""
    loc = locate(args.dir)
    size = args.size_mib * MIB
    meas = Measurements()
    error: str | None = None
    if loc.free_bytes < size + 64 * MIB:
        free = loc.free_bytes // MIB
        error = f"only {free} MiB free in {loc.dir}; lower --size-mib (asked {args.size_mib})"
    else:
        path = str(Path(loc.dir, f".eks-gpu-storage-probe-{os.getpid()}.tmp"))
        try:
            meas = measure(path, size, args.block_kib * 1024, args.seconds)
        except KeyboardInterrupt:
            error = "interrupted"
        except OSError as exc:
            error = f"I/O failed in {loc.dir}: {exc}"
        finally:
            with contextlib.suppress(FileNotFoundError):
                Path(path).unlink()
    result = assemble_result(loc, meas, args.size_mib, args.expect_raid0, error)
    return result, describe_location(loc)


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit 0 ok, 1 check failed, 2 bad arguments."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        sys.stderr.write(f"storage.py: {exc}\n")
        _emit({"probe": PROBE, "ok": False, "reason": f"bad arguments: {exc}"})
        return 2
    result, where = run(args)
    sys.stdout.write(_human(result, where) + "\n")
    for note in result["notes"]:
        sys.stdout.write(f"  note: {note}\n")
    _emit(result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
