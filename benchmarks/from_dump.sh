#!/usr/bin/env bash
# `status --from` and `doctor --from` on a 5,000-node / 100,000-pod dump against `json.load`
# of the same file, in one hyperfine run. Budgets: status <= 2x json.load (issue 11),
# doctor <= 3x status (issue 12). From the repository root with the venv active:
#   . .venv/bin/activate && bash benchmarks/from_dump.sh
# DUMP (default /tmp/dump.json) is generated once by benchmarks/gen_dump.py if absent.
set -euo pipefail
command -v hyperfine >/dev/null || { echo "install hyperfine: apt-get install hyperfine" >&2; exit 2; }
dump=${DUMP:-/tmp/dump.json}
[ -f "$dump" ] || python benchmarks/gen_dump.py --nodes 5000 --pods 100000 -o "$dump"
out=$(mktemp --suffix=.json)
cd "$(dirname "$dump")"
name=$(basename "$dump")
# doctor exits 1 when it finds errors; -i keeps hyperfine timing it.
hyperfine -i --warmup 1 -r "${RUNS:-5}" --export-json "$out" \
  "python -c \"import json; json.load(open('$name'))\"" \
  "eks-gpu status --from $name -o json" \
  "eks-gpu doctor --from $name -o json"
python3 - "$out" <<'PY'
import json, sys
load, status, doctor = json.load(open(sys.argv[1]))["results"]
for r in (load, status, doctor):
    print(f"{r['command']:60} median {r['median']:.2f} s  user {r['user']:.2f} s")
print(f"status / json.load: {status['median'] / load['median']:.2f} (medians), "
      f"{status['user'] / load['user']:.2f} (user CPU)")
print(f"doctor / status:    {doctor['median'] / status['median']:.2f} (medians), "
      f"{doctor['user'] / status['user']:.2f} (user CPU)")
PY
rm -f "$out"
