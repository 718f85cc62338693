#!/usr/bin/env bash
# Compare the storage probe's sequential write/read MB/s with fio's on the same directory.
#
#   bash benchmarks/storage_vs_fio.sh [DIR (default /work/tmp-storage)] [SIZE_MIB (1024)] [RUNS (9)]
#
# Needs fio: `apt-get install -y fio` (Debian/Ubuntu), `dnf install -y fio` (AL2023/Fedora).
# Use a directory on a real disk (check `df -T DIR`: not tmpfs), with SIZE_MIB + 64 MiB free.
#
# Runs alternate who goes first and report medians: on a shared virtual disk single runs vary
# by 20-30%, so 3 runs are not enough to resolve a 15% difference (benchmarks/README.md).
#
# fio is set up to do what the probe does, so the two figures measure the same thing:
#   - one job, ioengine=psync, iodepth=1: the probe is one thread issuing one blocking
#     write()/readv() at a time; a deeper queue or more jobs would measure what the disk can
#     do in parallel, not what the probe's loop does;
#   - bs = the probe's --block-kib (1 MiB), size = SIZE_MIB, the same file for write then read;
#   - direct=1 when the probe reports direct_io true (O_DIRECT), else direct=0 with fio's
#     default invalidate=1, which drops the file's page cache as the probe's
#     posix_fadvise(DONTNEED) does;
#   - random read: bs=4k, 2 s time_based, same file, same engine/depth as the probe's loop;
#   - end_fsync=1 on the write job: the probe times its writes up to and including fsync;
#   - random data (fio's default buffer contents are random, refill_buffers off; the probe
#     writes an os.urandom block over and over), so neither side is flattered by compression.
# MB/s is decimal (10**6 bytes/s) on both sides: fio's JSON bw_bytes / 1e6.
set -euo pipefail

DIR=${1:-/work/tmp-storage}
SIZE_MIB=${2:-1024}
RUNS=${3:-9}
BLOCK_KIB=1024
HERE=$(cd "$(dirname "$0")" && pwd)
PROBE="$HERE/../src/eks_gpu/probes/storage.py"

command -v fio >/dev/null || { echo "fio not found: apt-get install -y fio" >&2; exit 2; }
mkdir -p "$DIR"
df -T "$DIR" | tail -1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; rm -f "$DIR/fio-bench.dat"' EXIT

run_probe() {
  # a long --seconds so the probe covers the whole SIZE_MIB, as fio does
  python3 "$PROBE" --dir "$DIR" --size-mib "$SIZE_MIB" --block-kib "$BLOCK_KIB" --seconds 600 \
    | tail -1 >"$TMP/probe.$1.json"
}
run_fio() {
  local common=(--filename="$DIR/fio-bench.dat" --size="${SIZE_MIB}M" --bs="${BLOCK_KIB}k"
                --ioengine=psync --iodepth=1 --numjobs=1 --direct="$2" --output-format=json)
  fio --name=seqwrite --rw=write --end_fsync=1 "${common[@]}" >"$TMP/fio-w.$1.json"
  fio --name=seqread --rw=read "${common[@]}" >"$TMP/fio-r.$1.json"
  # the probe's random phase: 4 KiB reads at random aligned offsets for 2 s
  fio --name=randread --rw=randread "${common[@]}" --bs=4k --runtime=2 --time_based \
    >"$TMP/fio-rr.$1.json"
  rm -f "$DIR/fio-bench.dat"
}
direct_of() {
  python3 -c 'import json,sys; print(int(bool(json.load(open(sys.argv[1]))["direct_io"])))' "$1"
}

# O_DIRECT or not is the probe's finding; ask it once (16 MiB) so fio can match it.
python3 "$PROBE" --dir "$DIR" --size-mib 16 | tail -1 >"$TMP/first.json"
DIRECT=$(direct_of "$TMP/first.json")
for i in $(seq 1 "$RUNS"); do
  # alternate who goes first, so neither always runs on a disk the other just used
  if (( i % 2 )); then run_probe "$i"; run_fio "$i" "$DIRECT"
  else run_fio "$i" "$DIRECT"; run_probe "$i"; fi
done

python3 - "$TMP" "$RUNS" "$DIR" "$SIZE_MIB" <<'EOF'
import json, statistics, sys
tmp, runs, d, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def fio_mb(path, kind):
    return json.load(open(path))["jobs"][0][kind]["bw_bytes"] / 1e6
def fio_iops(path):
    return json.load(open(path))["jobs"][0]["read"]["iops"]
probe = [json.load(open("%s/probe.%d.json" % (tmp, i))) for i in range(1, runs + 1)]
rows = {
    "write": ([p["write_mb_s"] for p in probe],
              [fio_mb("%s/fio-w.%d.json" % (tmp, i), "write") for i in range(1, runs + 1)]),
    "read": ([p["read_mb_s"] for p in probe],
             [fio_mb("%s/fio-r.%d.json" % (tmp, i), "read") for i in range(1, runs + 1)]),
    "rand 4 KiB IOPS": ([p["rand_read_iops"] for p in probe],
                        [fio_iops("%s/fio-rr.%d.json" % (tmp, i)) for i in range(1, runs + 1)]),
}
print("dir %s, %s MiB, bs 1 MiB, direct_io %s, %d runs (MB/s = 10^6 B/s, medians)"
      % (d, size, [p["direct_io"] for p in probe], runs))
print("| phase | probe | fio | probe/fio | probe runs | fio runs |")
print("|---|---:|---:|---:|---|---|")
for phase, (p, f) in rows.items():
    mp, mf = statistics.median(p), statistics.median(f)
    print("| %s | %.0f | %.0f | %.2f | %s | %s |" % (
        phase, mp, mf, mp / mf, " ".join("%.0f" % x for x in p), " ".join("%.0f" % x for x in f)))
EOF
