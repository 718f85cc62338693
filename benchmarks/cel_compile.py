#!/usr/bin/env python3
"""CEL rules of Karpenter's three CRDs: compile time, and evaluation time on rendered objects.

Each run starts a fresh interpreter, so the rule cache is empty and the compile is cold; it
times loading the CRD YAML, compiling all rules (84 for v1.14.1), compiling them again (cache
hits only), evaluating them on the rendered NodePool + EC2NodeClass once (first call), and
then the mean of 50 further evaluations. Prints the median (and min) of each over the runs.

Needs ../shared/reference/karpenter (or EKS_GPU_REFERENCE). Usage:
python benchmarks/cel_compile.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("EKS_GPU_REFERENCE", ROOT.parent / "shared" / "reference"))

RUN = """
import json, sys, time
from pathlib import Path
import yaml
from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.render.bundle import render_all
from eks_gpu.validate.cel import compile_validations, evaluate

files = {
    "NodePool": "karpenter.sh_nodepools.yaml",
    "NodeClaim": "karpenter.sh_nodeclaims.yaml",
    "EC2NodeClass": "karpenter.k8s.aws_ec2nodeclasses.yaml",
}
folder = Path(sys.argv[1]) / "karpenter"
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
objects = [r.obj for r in render_all(GpuConfig(), "demo") if r.obj["kind"] in files]
out = {}
t = time.perf_counter()
schemas = {}
for kind, name in files.items():
    crd = yaml.load((folder / name).read_text(), Loader=loader)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schemas[kind] = version["schema"]["openAPIV3Schema"]
out["load 3 CRDs (PyYAML)"] = time.perf_counter() - t
t = time.perf_counter()
compiled = {kind: compile_validations(schema) for kind, schema in schemas.items()}
out["compile all rules (cold)"] = time.perf_counter() - t
out["rules"] = sum(len(c) for c in compiled.values())
t = time.perf_counter()
{kind: compile_validations(schema) for kind, schema in schemas.items()}
out["compile again (cache hits)"] = time.perf_counter() - t
t = time.perf_counter()
for obj in objects:
    assert not [r for r in evaluate(compiled[obj["kind"]], obj) if r.outcome != "skipped"]
out["evaluate NodePool + EC2NodeClass (first)"] = time.perf_counter() - t
t = time.perf_counter()
for _ in range(50):
    for obj in objects:
        evaluate(compiled[obj["kind"]], obj)
out["evaluate NodePool + EC2NodeClass (warm)"] = (time.perf_counter() - t) / 50
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not (REFERENCE / "karpenter").is_dir():
        sys.exit(f"no reference data at {REFERENCE}; set EKS_GPU_REFERENCE")
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", RUN, str(REFERENCE)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(args.runs)
    ]
    rules = runs[0].pop("rules")
    for run in runs[1:]:
        run.pop("rules")
    print(f"{rules} rules, {args.runs} runs (fresh interpreter each)")
    print(f"{'step':44} {'median ms':>10} {'min ms':>8}")
    for label in runs[0]:
        samples = [run[label] for run in runs]
        print(f"{label:44} {statistics.median(samples) * 1e3:10.2f} {min(samples) * 1e3:8.2f}")


if __name__ == "__main__":
    main()
