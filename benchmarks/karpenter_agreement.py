"""Agreement of `eks-gpu simulate` with real Karpenter on GPU workloads (issue 6, Tier 3).

Brings up the local control plane (scripts/controlplane.sh build first), starts Karpenter
v1.14.1 with its kwok provider fed our catalog, runs every workload of
tests/controlplane/agreement.py through both, and prints a Markdown table and the agreement
rate (same instance types launched and same pods left unschedulable). Needs root (Karpenter
runs in a network namespace of its own).

    . .venv/bin/activate && python benchmarks/karpenter_agreement.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from controlplane.agreement import WORKLOADS, compare, rendered
from controlplane.build import binaries
from controlplane.karpenter import kwok_nodeclass, start_karpenter
from controlplane.kube import Kube
from controlplane.plane import down, karpenter_crds, up


def main() -> int:
    bins = binaries()
    if bins is None:
        print("not built: run scripts/controlplane.sh build", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        plane = up(Path(tmp) / "plane", bins, karpenter_crds(), tie_to_parent=True)
        try:
            start_karpenter(plane, bins, tie_to_parent=True)
            kube = Kube.from_kubeconfig(plane.kubeconfig, "admin")
            kwok_nodeclass(kube)
            start = time.monotonic()
            results = compare(kube, rendered(), WORKLOADS, Path(tmp))
            elapsed = time.monotonic() - start
        finally:
            down(plane.dir)
    print("| workload | Karpenter v1.14.1 | eks-gpu simulate | agree |")
    print("|---|---|---|:-:|")
    for workload, real, simulated in results:
        mark = "yes" if real == simulated else "**no**"
        print(f"| {workload.name} | {real} | {simulated} | {mark} |")
    agreed = sum(real == simulated for _, real, simulated in results)
    print(f"\nagreement: {agreed}/{len(results)} workloads ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
