#!/usr/bin/env bash
# Local control plane figures (benchmarks/controlplane.md): cold build, then start-up.
# Run from the repository root with the venv active. The cold build uses throw-away Go caches
# (module cache, build cache, binary cache), so it measures downloads + compiles from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT

echo "== cold build (empty GOMODCACHE, GOCACHE and binary cache)"
GOMODCACHE="$tmp/mod" GOCACHE="$tmp/build" EKS_GPU_CONTROLPLANE_CACHE="$tmp/bin" \
  /usr/bin/time -f "cold build: %e s wall, %U s user, %S s sys" scripts/controlplane.sh build

echo "== start-up: up = etcd, kube-apiserver /readyz, 3 CRDs Established, kube-scheduler, kwok"
scripts/controlplane.sh build >/dev/null 2>&1  # the real cache, so `up` measures only start-up
hyperfine --runs 10 --prepare 'scripts/controlplane.sh down' --cleanup 'scripts/controlplane.sh down' \
  'scripts/controlplane.sh up' 'scripts/controlplane.sh up --karpenter'
