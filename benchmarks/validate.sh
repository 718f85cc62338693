#!/usr/bin/env bash
# Wall time of validating the full rendered set (6 objects) in a fresh process: CRD loading,
# schema conversion, CEL compilation of all 84 rules, core schemas and lint rules included.
# Usage (repo root, venv active): bash benchmarks/validate.sh [path/to/karpenter/crds]
set -euo pipefail
crds="${1:-../shared/reference/karpenter}"
out=$(mktemp --suffix=.json)
hyperfine -N --warmup 2 --runs "${RUNS:-10}" --style basic --export-json "$out" \
  "eks-gpu render --cluster-name demo" \
  "eks-gpu validate --crds $crds -o json" \
  "eks-gpu validate --profile training --crds $crds -o json" >/dev/null
python3 - "$out" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']:70} median {r['median'] * 1000:7.1f} ms")
PY
rm -f "$out"
