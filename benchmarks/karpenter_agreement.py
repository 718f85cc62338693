"""Agreement of `eks-gpu simulate` with real Karpenter on GPU workloads (issue 10, Oracles).

Brings up the local control plane (scripts/controlplane.sh build first; kube-apiserver runs
ExtendedResourceToleration as EKS does), starts Karpenter v1.14.1 with its kwok provider fed
our catalog (spot offerings with prices, NodeOverlay gate on), runs the 13 hand-made workloads
of tests/controlplane/agreement.py and ``--count`` generated ones (tests/controlplane/
workloads.py, ``--seed``) through both, ``--concurrency`` workloads at a time, and prints a
Markdown table, the agreement rate, the races and the wall time. Disagreements (and races)
go to ``--json`` for triage. Needs root (Karpenter runs in a network namespace of its own).

    . .venv/bin/activate && python benchmarks/karpenter_agreement.py --count 200 \\
        --json /tmp/agreement.json

A race is a NodeClaim whose node kube-scheduler filled with other pods than Karpenter planned
(agreement.races): no offline model can predict it, so raced workloads are reported apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from controlplane.agreement import (
    WORKLOADS,
    Observed,
    Outcome,
    Workload,
    karpenter_batch,
    rendered,
    simulate,
)
from controlplane.build import binaries
from controlplane.karpenter import ZONES, kwok_nodeclass, price_book, start_karpenter
from controlplane.kube import Kube
from controlplane.plane import down, karpenter_crds, up
from controlplane.workloads import generate

Row = tuple[Workload, Observed | None, Outcome, str]  # Karpenter's, simulate's, error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--count", type=int, default=200, help="generated workloads")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--no-hand", action="store_true", help="skip the 13 hand-made ones")
    parser.add_argument("--json", type=Path, help="write disagreements and races here")
    args = parser.parse_args()
    bins = binaries()
    if bins is None:
        print("not built: run scripts/controlplane.sh build", file=sys.stderr)
        return 2
    workloads = ([] if args.no_hand else list(WORKLOADS)) + generate(args.seed, args.count)
    start = time.monotonic()
    rows = run(bins, workloads, args.concurrency)
    elapsed = time.monotonic() - start
    report(rows, elapsed, args)
    return 0


def run(bins: dict[str, Path], workloads: list[Workload], concurrency: int) -> list[Row]:
    objects, prices = rendered(), price_book()
    nodeclass = next(o for o in objects if o["kind"] == "EC2NodeClass")
    nonce = secrets.token_hex(2)
    tags = {f"w{nonce}-{i:03d}": w for i, w in enumerate(workloads)}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        plane = up(Path(tmp) / "plane", bins, karpenter_crds(), tie_to_parent=True)
        try:
            start_karpenter(plane, bins, nodeclass, prices, tie_to_parent=True)
            kube = Kube.from_kubeconfig(plane.kubeconfig, "admin")
            kwok_nodeclass(kube)
            items = list(tags.items())
            for n in range(0, len(items), concurrency):
                batch = dict(items[n : n + concurrency])
                began = time.monotonic()
                try:
                    seen: dict[str, Observed | None] = dict(
                        karpenter_batch(kube, objects, batch, f"b{nonce}-{n}")
                    )
                    error = ""
                except AssertionError as err:  # not settled: reported per workload
                    seen, error = dict.fromkeys(batch), str(err)[:300]
                for tag, workload in batch.items():
                    sim = simulate(objects, tag, workload, prices, ZONES)
                    rows.append((workload, seen[tag], sim, error))
                print(
                    f"batch {n // concurrency + 1}: {len(batch)} workloads in "
                    f"{time.monotonic() - began:.0f} s",
                    file=sys.stderr,
                )
        finally:
            down(plane.dir)
    return rows


def report(rows: list[Row], elapsed: float, args: argparse.Namespace) -> None:
    print("| workload | Karpenter v1.14.1 | eks-gpu simulate | agree |")
    print("|---|---|---|:-:|")
    for workload, seen, sim, error in rows:
        real = f"error: {error}" if seen is None else str(seen.outcome)
        mark = _mark(seen, sim)
        print(f"| {workload.name} | {real} | {sim} | {mark} |")
    clean = [(s, sim) for _, s, sim, _ in rows if s is not None and not s.races]
    raced = [s for _, s, _, _ in rows if s is not None and s.races]
    errors = sum(s is None for _, s, _, _ in rows)
    agreed = sum(s.outcome == sim for s, sim in clean)
    print(
        f"\nagreement: {agreed}/{len(clean)} workloads without a race "
        f"({100 * agreed / max(len(clean), 1):.1f}%); races: {len(raced)} workloads "
        f"({sum(len(s.races) for s in raced)} NodeClaims); not settled: {errors}; "
        f"wall time {elapsed:.0f} s for {len(rows)} workloads, {args.concurrency} at a time"
    )
    if args.json:
        triage = [_triage(*row) for row in rows if _mark(row[1], row[2]) != "yes"]
        args.json.write_text(json.dumps(triage, indent=1))
        print(f"{len(triage)} disagreements, races and errors: {args.json}")


def _mark(seen: Observed | None, sim: Outcome) -> str:
    if seen is None:
        return "**error**"
    if seen.races:
        return "race" + ("" if seen.outcome == sim else " (differs)")
    return "yes" if seen.outcome == sim else "**no**"


def _triage(workload: Workload, seen: Observed | None, sim: Outcome, error: str) -> Any:
    return {
        "workload": dataclasses.asdict(workload),
        "karpenter": None if seen is None else dataclasses.asdict(seen.outcome),
        "simulate": dataclasses.asdict(sim),
        "races": [] if seen is None else list(seen.races),
        "error": error,
        "nodeclaims": []
        if seen is None
        else [
            {
                "name": c["metadata"]["name"],
                "labels": {
                    k: v
                    for k, v in c["metadata"]["labels"].items()
                    if k.startswith(("karpenter.sh/", "node.kubernetes.io/"))
                },
                "requests": c["spec"].get("resources", {}).get("requests", {}),
                "created": c["metadata"].get("creationTimestamp"),
                "node": c.get("status", {}).get("nodeName"),
                "instance_types": next(
                    (
                        r.get("values", [])
                        for r in c["spec"].get("requirements", [])
                        if r["key"] == "node.kubernetes.io/instance-type"
                    ),
                    [],
                ),
            }
            for c in seen.claims
        ],
    }


if __name__ == "__main__":
    sys.exit(main())
