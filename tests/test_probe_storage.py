"""The storage probe: pure parsing/classification over fake /proc and /sys, and real runs.

The fake /sys trees copy the layout the kernel exposes (sysfs-block(5) ABI:
/sys/dev/block/MAJ:MIN links, /sys/block/mdX/md/level, /sys/block/mdX/slaves/, NVMe model on
/sys/block/nvmeXnY/device/model) with the model strings EC2 Nitro NVMe devices report
("Amazon Elastic Block Store", "Amazon EC2 NVMe Instance Storage").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from eks_gpu.probes import storage
from probe_run import run_probe

PROBE = Path(storage.__file__)

# proc(5) mountinfo shape; the md line is what a pod sees for an emptyDir when the kubelet dir
# sits on the RAID0 array (/mnt/k8s-disks/0 on AL2023, research/aws-gpu.md section 5).
MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 259:1 / / rw,relatime shared:1 - xfs /dev/nvme0n1p1 rw,attr2
40 27 9:127 / /mnt/k8s-disks/0 rw,relatime shared:7 master:2 - xfs /dev/md127 rw,attr2
41 27 9:127 /kubelet /var/lib/kubelet rw,relatime - xfs /dev/md127 rw,attr2
50 27 0:55 / /var/lib/containers/overlay rw - overlay overlay rw,upperdir=/a\\040b
60 27 0:60 / /my\\040dir rw - tmpfs tmpfs rw
61 27 0:61 / /my\\040dir rw - tmpfs tmpfs2 rw,size=1k
"""


def _link(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def _disk(root: Path, name: str, major_minor: str, model: str | None) -> None:
    """A whole disk under /sys/block with its /sys/dev/block link and (NVMe) model."""
    (root / "block" / name).mkdir(parents=True)
    if model is not None:
        (root / "block" / name / "device").mkdir()
        (root / "block" / name / "device" / "model").write_text(model.ljust(40) + "\n")
    _link(root / "dev" / "block" / major_minor, f"../../block/{name}")


def _md(root: Path, name: str, major_minor: str, level: str, members: list[str]) -> None:
    _disk(root, name, major_minor, None)
    (root / "block" / name / "md").mkdir()
    (root / "block" / name / "md" / "level").write_text(level + "\n")
    (root / "block" / name / "slaves").mkdir()
    for member in members:
        _link(root / "block" / name / "slaves" / member, f"../../{storage.whole_disk(member)}")


@pytest.fixture
def raid_sys(tmp_path: Path) -> Path:
    """A p5-like node: EBS root nvme0n1, md127 RAID0 over two instance-store NVMe disks."""
    root = tmp_path / "sys"
    _disk(root, "nvme0n1", "259:0", storage.EBS_MODEL)
    _disk(root, "nvme1n1", "259:2", storage.INSTANCE_STORE_MODEL)
    _disk(root, "nvme2n1", "259:3", storage.INSTANCE_STORE_MODEL)
    _md(root, "md127", "9:127", "raid0", ["nvme1n1", "nvme2n1"])
    # the root partition's link resolves to the partition, whose disk holds the model
    _link(root / "dev" / "block" / "259:1", "../../block/nvme0n1/nvme0n1p1")
    (root / "block" / "nvme0n1" / "nvme0n1p1").mkdir()
    return root


# ---------------------------------------------------------------- mountinfo


def test_parse_mountinfo_reads_fields_after_optional_ones_and_unescapes() -> None:
    mounts = storage.parse_mountinfo(MOUNTINFO)
    assert len(mounts) == 7
    md = mounts[2]
    assert (md.major_minor, md.mount_point, md.fs_type, md.source) == (
        "9:127",
        "/mnt/k8s-disks/0",
        "xfs",
        "/dev/md127",
    )
    assert mounts[3].root == "/kubelet"
    assert mounts[4].super_options == "rw,upperdir=/a\\040b"
    assert mounts[5].mount_point == "/my dir"


def test_parse_mountinfo_skips_malformed_lines() -> None:
    assert storage.parse_mountinfo("garbage\n1 2 3 4 5 6 7\n\n") == []


@pytest.mark.parametrize(
    ("path", "mount_point", "source"),
    [
        ("/mnt/k8s-disks/0/containerd/x", "/mnt/k8s-disks/0", "/dev/md127"),
        ("/mnt/k8s-disks/0", "/mnt/k8s-disks/0", "/dev/md127"),
        ("/mnt/k8s-disks/00", "/", "/dev/nvme0n1p1"),  # a prefix of the name is not a parent
        ("/var/lib/kubelet/pods/u/volumes", "/var/lib/kubelet", "/dev/md127"),
        ("/home", "/", "/dev/nvme0n1p1"),
        ("/my dir/f", "/my dir", "tmpfs2"),  # the later mount on one point hides the earlier
    ],
)
def test_mount_for_path_takes_longest_then_last(path: str, mount_point: str, source: str) -> None:
    mount = storage.mount_for_path(storage.parse_mountinfo(MOUNTINFO), path)
    assert mount is not None
    assert (mount.mount_point, mount.source) == (mount_point, source)


def test_mount_for_path_none_without_mounts() -> None:
    assert storage.mount_for_path([], "/x") is None


# ---------------------------------------------------------------- /sys classification


def test_md_raid0_over_instance_store_nvme(raid_sys: Path) -> None:
    name = storage.block_name(str(raid_sys), "9:127", "/dev/md127")
    dev = storage.classify_device(str(raid_sys), name)
    assert dev.name == "md127"
    assert dev.raid_level == "raid0"
    assert dev.members == ("nvme1n1", "nvme2n1")
    assert (dev.raid0, dev.nvme_instance_store, dev.ebs) == (True, True, False)


def test_ebs_root_partition_resolves_to_its_disk_model(raid_sys: Path) -> None:
    name = storage.block_name(str(raid_sys), "259:1", "/dev/nvme0n1p1")
    assert name == "nvme0n1p1"
    dev = storage.classify_device(str(raid_sys), name)
    assert (dev.raid0, dev.nvme_instance_store, dev.ebs) == (False, False, True)
    assert dev.models == (storage.EBS_MODEL,)


def test_md_raid1_or_raid0_over_ebs_is_not_instance_store(tmp_path: Path) -> None:
    _disk(tmp_path, "nvme1n1", "259:2", storage.EBS_MODEL)
    _disk(tmp_path, "nvme2n1", "259:3", storage.EBS_MODEL)
    _md(tmp_path, "md0", "9:0", "raid0", ["nvme1n1", "nvme2n1"])
    _md(tmp_path, "md1", "9:1", "raid1", ["nvme1n1", "nvme2n1"])
    over_ebs = storage.classify_device(str(tmp_path), "md0")
    assert (over_ebs.raid0, over_ebs.nvme_instance_store, over_ebs.ebs) == (True, False, True)
    mirror = storage.classify_device(str(tmp_path), "md1")
    assert (mirror.raid0, mirror.raid_level) == (False, "raid1")


def test_single_instance_store_disk_is_nvme_but_not_raid0(raid_sys: Path) -> None:
    dev = storage.classify_device(str(raid_sys), "nvme1n1")
    assert (dev.raid0, dev.nvme_instance_store, dev.ebs) == (False, True, False)


def test_overlay_and_tmpfs_have_no_block_device(raid_sys: Path) -> None:
    assert storage.block_name(str(raid_sys), "0:55", "overlay") is None
    assert storage.block_name(str(raid_sys), "0:60", "tmpfs") is None
    assert storage.classify_device(str(raid_sys), None) == storage.Device(name=None)


def test_zero_major_falls_back_to_source_basename(raid_sys: Path) -> None:
    # btrfs reports an anonymous 0:N device; the mount source still names the disk
    assert storage.block_name(str(raid_sys), "0:44", "/dev/nvme1n1") == "nvme1n1"


@pytest.mark.parametrize(
    ("name", "disk"),
    [("nvme0n1p12", "nvme0n1"), ("nvme3n1", "nvme3n1"), ("xvda1", "xvda"), ("md127", "md127")],
)
def test_whole_disk(name: str, disk: str) -> None:
    assert storage.whole_disk(name) == disk


def test_locate_reads_mountinfo_and_sys_from_the_given_roots(
    raid_sys: Path, tmp_path: Path
) -> None:
    target = tmp_path / "work"
    target.mkdir()
    mountinfo = tmp_path / "mountinfo"
    # the whole tmp tree appears mounted from the RAID0 array
    mountinfo.write_text(
        f"1 0 259:1 / / rw - xfs /dev/nvme0n1p1 rw\n2 1 9:127 / {tmp_path} rw - xfs /dev/md127 rw\n"
    )
    loc = storage.locate(str(target), str(mountinfo), str(raid_sys))
    assert loc.mount is not None and loc.mount.mount_point == str(tmp_path)
    assert loc.device.raid0 and loc.device.nvme_instance_store
    assert loc.capacity_bytes >= loc.free_bytes > 0


# ---------------------------------------------------------------- result assembly


def _location(sys_root: Path, name: str | None, fs: str) -> storage.Location:
    mount = storage.Mount("9:127", "/", "/scratch", fs, f"/dev/{name}" if name else fs, "rw")
    return storage.Location(
        dir="/scratch",
        mount=mount,
        device=storage.classify_device(str(sys_root), name),
        capacity_bytes=10,
        free_bytes=5,
    )


MEAS = storage.Measurements(
    write_mb_s=1.0, read_mb_s=2.0, rand_read_iops=3.0, direct_io=True, bytes_tested=1
)


def test_expect_raid0_passes_on_instance_store_array(raid_sys: Path) -> None:
    result = storage.assemble_result(_location(raid_sys, "md127", "xfs"), MEAS, 16, True, None)
    assert result["ok"] is True and result["reason"] is None
    assert result["device"] == "/dev/md127"
    assert result["members"] == ["nvme1n1", "nvme2n1"]


@pytest.mark.parametrize(
    ("name", "fs", "words"),
    [
        ("nvme0n1p1", "xfs", "EBS volume /dev/nvme0n1p1"),
        ("nvme1n1", "xfs", "single instance-store NVMe disk"),
        (None, "overlay", "probe an emptyDir volume"),
        (None, "tmpfs", "tmpfs (no block device visible from here)"),
    ],
)
def test_expect_raid0_fails_with_a_reason(
    raid_sys: Path, name: str | None, fs: str, words: str
) -> None:
    result = storage.assemble_result(_location(raid_sys, name, fs), MEAS, 16, True, None)
    assert result["ok"] is False
    assert words in result["reason"]
    assert "instanceStorePolicy: RAID0" in result["reason"]


def test_without_expect_raid0_ok_means_measured(raid_sys: Path) -> None:
    loc = _location(raid_sys, "nvme0n1p1", "xfs")
    assert storage.assemble_result(loc, MEAS, 16, False, None)["ok"] is True
    failed = storage.assemble_result(loc, storage.Measurements(), 16, False, "I/O failed")
    assert (failed["ok"], failed["reason"], failed["write_mb_s"]) == (False, "I/O failed", None)


def test_mb_per_s_is_decimal() -> None:
    assert storage.mb_per_s(3_000_000, 2.0) == 1.5
    assert storage.mb_per_s(1, 0.0) == 0.0


# ---------------------------------------------------------------- real runs


def _run(*args: str) -> tuple[int, dict[str, object], str]:
    return run_probe(PROBE, args)


def test_probe_measures_a_real_directory_and_removes_its_file(tmp_path: Path) -> None:
    rc, result, stdout = _run("--dir", str(tmp_path), "--size-mib", "16")
    assert rc == 0, stdout
    assert result["probe"] == "storage" and result["ok"] is True
    assert result["dir"] == os.path.realpath(tmp_path)
    for key in ("write_mb_s", "read_mb_s", "rand_read_iops", "capacity_bytes", "free_bytes"):
        value = result[key]
        assert isinstance(value, (int, float)) and value > 0, key
    assert result["bytes_tested"] == 16 * storage.MIB
    assert isinstance(result["direct_io"], bool)
    assert result["fs"] and result["mount"]
    assert list(tmp_path.iterdir()) == []
    assert len(stdout.strip().splitlines()) <= 3


def test_expect_raid0_on_a_temp_dir_fails_with_exit_1(tmp_path: Path) -> None:
    rc, result, _ = _run("--dir", str(tmp_path), "--size-mib", "16", "--expect-raid0")
    assert rc == 1
    assert result["ok"] is False
    assert "expected an md RAID0 of NVMe instance-store disks" in str(result["reason"])
    assert result["write_mb_s"] is not None  # the figures are still measured
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--size-mib", "5"], "--size-mib"),
        (["--size-mib", "9000"], "outside 16..8192"),
        (["--size-mib", "lots"], "not a number"),
        (["--block-kib", "6"], "multiple of 4"),
        (["--block-kib", "65536", "--size-mib", "16"], "larger than --size-mib"),
        (["--seconds", "0"], "--seconds"),
        (["--dir", "/nonexistent/dir"], "not a directory"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2_with_a_json_line(args: list[str], words: str) -> None:
    rc, result, _ = _run(*args)
    assert rc == 2
    assert result["probe"] == "storage" and result["ok"] is False
    assert words in str(result["reason"])


def test_interrupt_still_removes_the_test_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[list[str]] = []

    def interrupted(path: str, size: int, seconds: float, direct: bool) -> float:
        seen.append([p.name for p in tmp_path.iterdir()])
        raise KeyboardInterrupt

    monkeypatch.setattr(storage, "random_reads", interrupted)
    rc = storage.main(["--dir", str(tmp_path), "--size-mib", "16"])
    assert seen and len(seen[0]) == 1  # the file existed when the interrupt came
    assert rc == 1
    assert list(tmp_path.iterdir()) == []
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["reason"] == "interrupted"


def test_not_enough_free_space_is_a_clean_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = storage.locate

    def tiny(directory: str) -> storage.Location:
        loc = real(directory)
        return storage.Location(loc.dir, loc.mount, loc.device, loc.capacity_bytes, storage.MIB)

    monkeypatch.setattr(storage, "locate", tiny)
    assert storage.main(["--dir", str(tmp_path)]) == 1
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "lower --size-mib" in result["reason"]
    assert list(tmp_path.iterdir()) == []


def test_stamp_makes_every_4k_block_of_the_file_unique() -> None:
    # the same random block is written over and over; the offset stamp keeps deduplicating
    # storage from skipping the writes (fio's scramble_buffers)
    buf = storage._aligned_buffer(4 * storage.ALIGN, random_fill=True)
    seen = set()
    for offset in range(0, 8 * len(buf), len(buf)):
        storage._stamp(buf, offset)
        for sector in range(0, len(buf), storage.ALIGN):
            seen.add(bytes(buf[sector : sector + storage.ALIGN]))
    assert len(seen) == 32


def _python38() -> str | None:
    """A working Python 3.8 (a pyenv build, else python3.8 on PATH that really starts)."""
    candidates = [str(p) for p in sorted(Path.home().glob(".pyenv/versions/3.8*/bin/python3"))]
    candidates += [shutil.which("python3.8") or ""]
    for python in filter(None, candidates):
        if subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0:
            return python
    return None


def test_probe_runs_on_python_3_8(tmp_path: Path) -> None:
    # stock images carry old Pythons; the probe promises >= 3.8
    python = _python38()
    if python is None:
        pytest.skip("no Python 3.8 interpreter on this machine")
    proc = subprocess.run(
        [python, str(PROBE), "--dir", str(tmp_path), "--size-mib", "16"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["ok"] is True
    assert list(tmp_path.iterdir()) == []
