#!/usr/bin/env python3
"""Regenerate the bundled instance catalog in ``src/eks_gpu/catalog/data/`` from public facts.

Inputs (``shared/reference``; see the SOURCE.md files there):
- ``aws/gpu-instance-types.csv``: EC2 DescribeInstanceTypes facts for every GPU type (via
  moto's bundled copy), with compute capability and the EKS AMI listing;
- ``karpenter/instance-types-v1.14.json``: every instance type with the exact labels
  Karpenter v1.14 puts on nodes and the allocatable it models (AL2023, ENI-limited pods);
- ``karpenter/ondemand-prices-us-east-1-all.csv``: Karpenter's generated on-demand price
  table for us-east-1 (AWS Pricing API, generated 2026-07-20).

Outputs:
- ``gpu_instance_types.json``: one row per GPU instance type (NVIDIA, plus AMD g4ad);
- ``instance_types.json``: every instance type, compact (labels, resources, price), for the
  simulator to place CPU pods too.

The output is deterministic: rerunning on the same inputs rewrites the same bytes.
Usage: python scripts/gen_catalog.py [--reference ../shared/reference]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "eks_gpu" / "catalog" / "data"
ARCH = {"x86_64": "amd64", "arm64": "arm64"}
PRICE_DATE = "2026-07-20"
FACTS_DATE = "2026-11-28"
SOURCES = {
    "gpu_facts": "shared/reference/aws/gpu-instance-types.csv (EC2 DescribeInstanceTypes via "
    "moto 5.2.5 and 5.1.18, compiled 2026-11-28)",
    "karpenter": "shared/reference/karpenter/instance-types-v1.14.json (Karpenter v1.14 "
    "generated instance-type docs, aws/karpenter-provider-aws 1d927085)",
    "prices": "shared/reference/karpenter/ondemand-prices-us-east-1-all.csv (Karpenter "
    "zz_generated.pricing_aws.go, generated 2026-07-20, us-east-1, Linux on-demand)",
}
ALLOCATABLE_KEYS = ("cpu", "memory", "ephemeral-storage")


def _number(text: str) -> int | float | None:
    """``'4'`` -> 4, ``'0.125'`` -> 0.125, ``''`` -> None."""
    if text == "":
        return None
    value = float(text)
    return int(value) if value.is_integer() else value


def _gpu_row(
    row: dict[str, str], karpenter: dict[str, Any] | None, price: float | None
) -> dict[str, Any]:
    """One GPU instance type: EC2 facts, Karpenter's view of it, and its price."""
    resources = karpenter["resources"] if karpenter else None
    return {
        "instance_type": row["instance_type"],
        "family": row["family"],
        "gpu_manufacturer": row["gpu_manufacturer"].lower(),
        "gpu_name": row["karpenter_gpu_name_label"],
        "gpu_model": row["gpu_name"],
        "gpu_count": int(row["gpu_count"]),
        "gpu_partition": _number(row["gpu_partition_size"]),
        "gpu_memory_mib": int(row["gpu_memory_mib_per_gpu"]),
        "gpu_memory_total_gib": _number(row["gpu_memory_gib_total"]),
        "compute_capability": row["cuda_compute_capability"] or None,
        "vcpu": int(row["vcpu"]),
        "memory_mib": round(float(row["memory_gib"]) * 1024),
        "network": row["network_performance"],
        "network_max_gbps": _number(row["network_max_gbps"]),
        "efa_max_interfaces": int(row["efa_max_interfaces"]),
        "local_nvme_count": int(row["instance_store_count"]),
        "local_nvme_gb": int(row["instance_store_gib_total"]),
        "architecture": ARCH[row["architecture"]],
        "capacity_blocks": "capacity-block" in row["supported_usage_classes"].split(";"),
        "eks_nvidia_ami": row["eks_accelerated_ami_listed"] == "true",
        "karpenter_listed": karpenter is not None,
        "max_pods": int(resources["pods"]) if resources else None,
        "allocatable": {k: resources[k] for k in ALLOCATABLE_KEYS} if resources else None,
        "price_per_hour": price,
    }


def build_gpu_catalog(
    rows: list[dict[str, str]], karpenter: dict[str, Any], prices: dict[str, float]
) -> dict[str, Any]:
    """The GPU catalog document, rows sorted by family then size order of the source."""
    return {
        "facts_date": FACTS_DATE,
        "price_date": PRICE_DATE,
        "price_region": "us-east-1",
        "sources": SOURCES,
        "generator": "scripts/gen_catalog.py",
        "instance_types": [
            _gpu_row(row, karpenter.get(row["instance_type"]), prices.get(row["instance_type"]))
            for row in rows
        ],
    }


def build_all_types(karpenter: dict[str, Any], prices: dict[str, float]) -> dict[str, Any]:
    """Every instance type as ``[label values, resource values]`` over shared key lists,
    plus every on-demand price (the price table also covers types Karpenter no longer lists).
    """
    label_keys = sorted({key for entry in karpenter.values() for key in entry["labels"]})
    resource_keys = sorted({key for entry in karpenter.values() for key in entry["resources"]})
    types = {
        name: [
            [entry["labels"].get(key) for key in label_keys],
            [entry["resources"].get(key) for key in resource_keys],
        ]
        for name, entry in sorted(karpenter.items())
    }
    return {
        "price_date": PRICE_DATE,
        "price_region": "us-east-1",
        "sources": {"karpenter": SOURCES["karpenter"], "prices": SOURCES["prices"]},
        "generator": "scripts/gen_catalog.py",
        "label_keys": label_keys,
        "resource_keys": resource_keys,
        "types": types,
        "on_demand_prices": dict(sorted(prices.items())),
    }


def read_inputs(reference: Path) -> tuple[list[dict[str, str]], dict[str, Any], dict[str, float]]:
    """The three input files, parsed."""
    with (reference / "aws" / "gpu-instance-types.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    karpenter = json.loads((reference / "karpenter" / "instance-types-v1.14.json").read_text())
    with (reference / "karpenter" / "ondemand-prices-us-east-1-all.csv").open(newline="") as f:
        prices = {r["instance_type"]: float(r["price_usd_per_hour"]) for r in csv.DictReader(f)}
    return rows, karpenter, prices


def render_outputs(reference: Path) -> dict[str, str]:
    """File name -> exact text of every generated data file."""
    rows, karpenter, prices = read_inputs(reference)
    gpu = build_gpu_catalog(rows, karpenter, prices)
    everything = build_all_types(karpenter, prices)
    return {
        "gpu_instance_types.json": json.dumps(gpu, indent=1) + "\n",
        "instance_types.json": json.dumps(everything, separators=(",", ":")) + "\n",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    args = parser.parse_args()
    for name, text in render_outputs(args.reference).items():
        (DATA / name).write_text(text)
        print(f"wrote {(DATA / name).relative_to(ROOT)} ({len(text):,} bytes)")


if __name__ == "__main__":
    main()
