#!/usr/bin/env python3
"""Regenerate ``src/eks_gpu/catalog/data/gpu_families.json`` from public facts.

Source: ``shared/reference/aws/gpu-instance-types.csv`` (EC2 DescribeInstanceTypes output as
bundled by moto, joined with Karpenter's label names; see that folder's SOURCE.md). The output
keeps one row per GPU instance family: what the config and the renderer need to know about a
family without loading the whole instance catalog.

Usage: python scripts/gen_gpu_families.py [--reference ../shared/reference]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "eks_gpu" / "catalog" / "data" / "gpu_families.json"
ARCH = {"x86_64": "amd64", "arm64": "arm64"}


def _store_coverage(flags: set[bool]) -> str:
    if flags == {True}:
        return "all"
    if flags == {False}:
        return "none"
    return "some"


def _family(rows: list[dict[str, str]]) -> dict[str, object]:
    """The entry for one family, from its rows (all sizes of that family)."""
    first = rows[0]
    architectures = sorted({ARCH[row["architecture"]] for row in rows})
    return {
        "gpu_manufacturer": first["gpu_manufacturer"].lower(),
        "gpu_name": first["karpenter_gpu_name_label"],
        "architectures": architectures,
        "instance_types": [row["instance_type"] for row in rows],
        "fractional_gpu": any(row["gpu_count"] == "0" for row in rows),
        "local_nvme": _store_coverage({int(row["instance_store_count"]) > 0 for row in rows}),
    }


def build(rows: list[dict[str, str]]) -> dict[str, object]:
    """One entry per family, sorted by name; values are exactly what the CSV says."""
    by_family: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_family.setdefault(row["family"], []).append(row)
    return {
        "source": "shared/reference/aws/gpu-instance-types.csv (compiled 2026-11-28; "
        "EC2 DescribeInstanceTypes via moto 5.2.5/5.1.18, Karpenter v1.14 label names)",
        "generator": "scripts/gen_gpu_families.py",
        "families": {name: _family(by_family[name]) for name in sorted(by_family)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    args = parser.parse_args()
    with (args.reference / "aws" / "gpu-instance-types.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    OUT.write_text(json.dumps(build(rows), indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
