"""Regenerate tests/data/verify/: what each ``eks-gpu verify`` test pod printed on a real GPU node.

Run ``python tests/data/verify/make.py`` after the probes' JSON shape changes;
tests/test_verify_data.py fails while the committed files differ from what this builds. The
figures and where they come from are in SOURCE.md next to this file; here they are named
constants, and everything else (field order, rounding, the human line, the verdicts) comes
from the probes' own functions, so the files stay what the probes would print.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from eks_gpu.catalog.baselines import peak_for
from eks_gpu.probes import pytorch, storage

HERE = Path(__file__).resolve().parent
NVIDIA_SMI = HERE.parent / "nvidia-smi"
MIB = 1 << 20

# plain `nvidia-smi` in the CUDA image: recorded outputs, copied (see ../nvidia-smi/SOURCE.md)
SIMPLE = {
    "simple-t4.txt": "t4-g4dn-eks-ami-2002.txt",
    "simple-a10g.txt": "a10g-g5-dcgm-232.txt",
}

# --- torch probe on a g5.xlarge (one A10G); sources in SOURCE.md
TORCH_VERSION = "2.7.0+cu128"  # the build the TFLOP/s below were measured with
TORCH_CUDA_VERSION = "12.8"
A10G_NAME = "NVIDIA A10G"
A10G_CAPABILITY = "8.6"
A10G_MEMORY_BYTES = 22587 * MIB  # torch's total_memory=22587MB (MiB, floored)
A10G_FP16_TFLOPS = 65.67  # FP16 8192x8192, torch 2.7.0 cu128
A10G_BF16_TFLOPS = 66.59  # BF16 8192x8192, same run
A10_COPY_GB_S = 469.0  # torch copy_ of the A10 (same 24 GB GDDR6 at 600 GB/s), 2 x bytes / s
LOW_COPY_FRACTION = 0.25  # the degraded record: a quarter of the datasheet bandwidth
# max |gpu - ref| / max |ref| of a 256 x 256 product against float64, emulated with numpy
# (fp32 accumulation, output rounded to the dtype); SOURCE.md has the script
MAX_REL_ERROR = {"float32": 5.93e-07, "float16": 0.00023, "bfloat16": 0.00354}

# --- storage probe on a g5.xlarge with instanceStorePolicy: RAID0; sources in SOURCE.md
G5_LIST_LINE = "GPU 0: NVIDIA A10G (UUID: GPU-2600e701-8d2f-704c-06bd-ca16a9306dfe)"
INSTANCE_STORE_BYTES = 250 * 10**9  # g5.xlarge: 1 x 250 GB NVMe (decimal GB)
MD_DATA_OFFSET = 264192 * 512  # mdadm v1.2 data offset for a disk this size (estimate)
MD_CHUNK = 512 * 1024  # mdadm's default RAID0 chunk
XFS_LOG_BYTES = 128 * MIB  # internal log, not counted by statfs (estimate)
USED_BYTES = 9_800_000_000  # images and pod dirs on the array (estimate)
WRITE_MB_S = round(20_313 * 4096 / 1e6, 1)  # AWS: 20,313 write IOPS x 4 KiB
READ_MB_S = round(40_625 * 4096 / 1e6, 1)  # AWS: 40,625 random-read IOPS x 4 KiB
RAND_READ_IOPS = 10_000.0  # one read in flight, ~100 us each (assumption)
STORAGE_SIZE_MIB = 256  # storage.py's default; verify passes no --size-mib
STORAGE_DIR = "/scratch"
# /proc/self/mountinfo in the pod: the emptyDir at /scratch lives under the kubelet dir, which
# setup-local-disks bind-mounts from the md array (/mnt/k8s-disks/0/kubelet)
MOUNTINFO = """\
1320 1201 0:330 / / rw,relatime master:421 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
1321 1320 0:333 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1329 1320 9:127 /kubelet/pods/6b1f/volumes/kubernetes.io~empty-dir/scratch /scratch \
rw,noatime - xfs /dev/md127 rw,attr2,inode64,logbufs=8,logbsize=32k,sunit=1024,swidth=1024,noquota
1330 1320 9:127 /kubelet/pods/6b1f/etc-hosts /etc/hosts rw,noatime - xfs /dev/md127 rw,attr2
"""


def a10g_device(copy_gb_s: float) -> dict[str, Any]:
    """One device entry in the order and shape of pytorch.py ``_measure``/``_describe``."""
    entry: dict[str, Any] = {
        "index": 0,
        "name": A10G_NAME,
        "capability": A10G_CAPABILITY,
        "memory_bytes": A10G_MEMORY_BYTES,
    }
    entry["max_rel_error"] = dict(MAX_REL_ERROR)
    entry["matmul_ok"] = all(v <= pytorch.TOLERANCE[k] for k, v in MAX_REL_ERROR.items())
    entry["matmul_size"] = pytorch.choose_matmul_size(A10G_MEMORY_BYTES)
    entry["tflops"] = {"fp16": A10G_FP16_TFLOPS, "bf16": A10G_BF16_TFLOPS}
    entry["copy_bytes"] = pytorch.choose_copy_bytes(A10G_MEMORY_BYTES)
    entry["copy_gb_s"] = round(copy_gb_s, 1)
    return entry


def pytorch_log(copy_gb_s: float) -> str:
    """What ``python3 pytorch.py`` prints: its one JSON line (pytorch.py ``main``/``run``)."""
    result = pytorch.assemble_result(
        TORCH_VERSION,
        True,
        [a10g_device(copy_gb_s)],
        extra={"torch_cuda_version": TORCH_CUDA_VERSION},
    )
    return json.dumps(result, sort_keys=False) + "\n"


def _sys_tree(root: Path) -> None:
    """The /sys entries the probe reads for md127 = RAID0 over nvme1n1 (instance store)."""
    (root / "dev" / "block").mkdir(parents=True)
    (root / "dev" / "block" / "9:127").symlink_to("../../block/md127")
    md = root / "block" / "md127"
    (md / "md").mkdir(parents=True)
    (md / "md" / "level").write_text("raid0\n")
    (md / "slaves").mkdir()
    (md / "slaves" / "nvme1n1").symlink_to("../../nvme1n1")
    (root / "block" / "nvme1n1" / "device").mkdir(parents=True)
    model = storage.INSTANCE_STORE_MODEL.ljust(40) + "\n"
    (root / "block" / "nvme1n1" / "device" / "model").write_text(model)


def g5_location() -> storage.Location:
    """Where /scratch lives, found by the probe's own functions over the pod's mountinfo/sys."""
    mount = storage.mount_for_path(storage.parse_mountinfo(MOUNTINFO), STORAGE_DIR)
    assert mount is not None
    with tempfile.TemporaryDirectory() as sys_root:
        _sys_tree(Path(sys_root))
        name = storage.block_name(sys_root, mount.major_minor, mount.source)
        device = storage.classify_device(sys_root, name)
    md_bytes = (INSTANCE_STORE_BYTES - MD_DATA_OFFSET) // MD_CHUNK * MD_CHUNK
    capacity = md_bytes - XFS_LOG_BYTES
    return storage.Location(STORAGE_DIR, mount, device, capacity, capacity - USED_BYTES)


def storage_log() -> str:
    """``nvidia-smi -L && python3 storage.py --dir /scratch --expect-raid0`` (storage.py main)."""
    loc = g5_location()
    size = STORAGE_SIZE_MIB * MIB
    meas = storage.Measurements(
        write_mb_s=WRITE_MB_S,
        read_mb_s=READ_MB_S,
        rand_read_iops=RAND_READ_IOPS,
        direct_io=True,
        bytes_tested=size,
    )
    result = storage.assemble_result(loc, meas, STORAGE_SIZE_MIB, True, None)
    human = storage._human(result, storage.describe_location(loc))
    return f"{G5_LIST_LINE}\n{human}\n{json.dumps(result, sort_keys=False)}\n"


def render() -> dict[str, str]:
    """File name -> content, for every file this folder holds besides SOURCE.md and make.py."""
    peak = peak_for(A10G_NAME)
    assert peak is not None
    files = {name: (NVIDIA_SMI / source).read_text() for name, source in SIMPLE.items()}
    files["pytorch-a10g.txt"] = pytorch_log(A10_COPY_GB_S)
    files["pytorch-a10g-low-copy.txt"] = pytorch_log(peak.memory_gb_s * LOW_COPY_FRACTION)
    files["storage-g5.txt"] = storage_log()
    return files


def main() -> int:
    """Write the files next to this script."""
    for name, text in render().items():
        (HERE / name).write_text(text)
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
