#!/usr/bin/env bash
# CLI start-up and render wall time, measured with hyperfine (Debian package `hyperfine`).
# Run from the repository root with the project's venv active:
#   . .venv/bin/activate && bash benchmarks/startup.sh
# `python -c pass` is the floor (the interpreter itself); we report medians and the ratio of
# each command to that floor, measured in the same run.
set -euo pipefail
command -v hyperfine >/dev/null || { echo "install hyperfine: apt-get install hyperfine" >&2; exit 2; }
out=$(mktemp --suffix=.json)
hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json "$out" --style basic \
  'python -c pass' \
  'eks-gpu --version' \
  'eks-gpu --help' \
  'eks-gpu render --cluster-name demo' \
  'eks-gpu instances --gpu l4' \
  'eks-gpu recommend --workload inference --model-params 13B' \
  "$@" >/dev/null
python3 - "$out" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
floor = results[0]["median"]
print(f"{'command':60} {'median ms':>10} {'x python -c pass':>17}")
for r in results:
    print(f"{r['command']:60} {r['median'] * 1000:10.1f} {r['median'] / floor:17.1f}")
PY
rm -f "$out"
