#!/usr/bin/env python3
"""Regenerate the bundled instance catalog in ``src/eks_gpu/catalog/data/`` from public facts.

Inputs (``shared/reference``; see the SOURCE.md files there):
- ``aws/gpu-instance-types.csv``: EC2 DescribeInstanceTypes facts for every GPU type (via
  moto's bundled copy), with compute capability and the EKS AMI listing;
- ``karpenter/instance-types-v1.14.json``: every instance type with the exact labels
  Karpenter v1.14 puts on nodes and the allocatable it models (AL2023, ENI-limited pods);
- ``karpenter/ondemand-prices-us-east-1-all.csv``: Karpenter's generated on-demand price
  table for us-east-1 (AWS Pricing API, generated 2026-07-20);
- ``scripts/data/ec2_instance_types.json.gz`` (in this repository): EC2 DescribeInstanceTypes
  facts for every type above, trimmed to the fields Karpenter's instance-type code reads, plus
  Karpenter's bandwidth and VPC-limit table entries for the types its listing lacks. Written by
  ``--refresh-ec2-facts`` from moto's bundled DescribeInstanceTypes copies and the
  aws/karpenter-provider-aws Go module (see :func:`refresh_ec2_facts`).

Outputs:
- ``gpu_instance_types.json``: one row per GPU instance type (NVIDIA, plus AMD g4ad);
- ``instance_types.json``: every instance type, compact (labels, resources, price), for the
  simulator to place CPU pods too, with each type's instance-store size (RAID0 capacity).
  GPU types that Karpenter's listing lacks (p3.2xlarge/8xlarge/16xlarge: the listing shows
  what one account's subnets offered, not what Karpenter can launch) are **derived**: labels
  and resources computed from their EC2 facts with Karpenter v1.14.1's formulas
  (``pkg/providers/instancetype/types.go``), and named in the document's ``derived`` map.

The output is deterministic: rerunning on the same inputs rewrites the same bytes.
Usage: python scripts/gen_catalog.py [--reference ../shared/reference]
       python scripts/gen_catalog.py --refresh-ec2-facts MOTO_JSON_GZ... --karpenter-module DIR
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from eks_gpu.scheduling.allocatable import InstanceFacts, eni_limited_pods, estimate
from eks_gpu.scheduling.resources import format_quantity

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "eks_gpu" / "catalog" / "data"
EC2_FACTS = ROOT / "scripts" / "data" / "ec2_instance_types.json.gz"
ARCH = {"x86_64": "amd64", "arm64": "arm64"}
PRICE_DATE = "2026-07-20"
FACTS_DATE = "2026-11-28"
KARPENTER_MODULE = "github.com/aws/karpenter-provider-aws@v1.14.1"
SOURCES = {
    "gpu_facts": "shared/reference/aws/gpu-instance-types.csv (EC2 DescribeInstanceTypes via "
    "moto 5.2.5 and 5.1.18, compiled 2026-11-28)",
    "karpenter": "shared/reference/karpenter/instance-types-v1.14.json (Karpenter v1.14 "
    "generated instance-type docs, aws/karpenter-provider-aws 1d927085)",
    "prices": "shared/reference/karpenter/ondemand-prices-us-east-1-all.csv (Karpenter "
    "zz_generated.pricing_aws.go, generated 2026-07-20, us-east-1, Linux on-demand)",
    "ec2_facts": "scripts/data/ec2_instance_types.json.gz (EC2 DescribeInstanceTypes via moto "
    f"5.2.5, 5.1.18 where 5.2.5 lacks the type; Karpenter tables from {KARPENTER_MODULE})",
}
DERIVED_NOTE = (
    "not in Karpenter's generated listing (it shows what the generating account's subnets "
    "offered); labels and resources computed from EC2 DescribeInstanceTypes facts with "
    f"Karpenter's formulas ({KARPENTER_MODULE} pkg/providers/instancetype/types.go)"
)
# The DescribeInstanceTypes fields Karpenter's NewInstanceType reads (types.go); True = all.
TRIM: dict[str, Any] = {
    "InstanceType": True,
    "Hypervisor": True,
    "SupportedUsageClasses": True,
    "VCpuInfo": {"DefaultVCpus": True},
    "MemoryInfo": {"SizeInMiB": True},
    "ProcessorInfo": {
        "Manufacturer": True,
        "SupportedArchitectures": True,
        "SustainedClockSpeedInGhz": True,
    },
    "NetworkInfo": {
        "EncryptionInTransitSupported": True,
        "DefaultNetworkCardIndex": True,
        "Ipv4AddressesPerInterface": True,
        "EfaInfo": True,
        "NetworkCards": {"NetworkCardIndex": True, "MaximumNetworkInterfaces": True},
    },
    "InstanceStorageInfo": {"NvmeSupport": True, "TotalSizeInGB": True},
    "GpuInfo": {"Gpus": {"Name": True, "Manufacturer": True, "Count": True, "MemoryInfo": True}},
    "InferenceAcceleratorInfo": True,
    "NeuronInfo": True,
    "EbsInfo": {"EbsOptimizedSupport": True, "EbsOptimizedInfo": {"MaximumBandwidthInMbps": True}},
}
# resource name -> GpuInfo manufacturer (types.go: nvidiaGPUs, amdGPUs, habanaGaudis)
GPU_RESOURCES = {"nvidia.com/gpu": "NVIDIA", "amd.com/gpu": "AMD", "habana.ai/gaudi": "Habana"}
INSTANCE_TYPE_SCHEME = re.compile(r"(^[a-z]+)(\-[0-9]+tb)?([0-9]+).*\.")
L = "karpenter.k8s.aws/instance-"
ALLOCATABLE_KEYS = ("cpu", "memory", "ephemeral-storage")


# --- EC2 facts -----------------------------------------------------------------------------


def _trim(value: Any, spec: Any) -> Any:
    """``value`` with only the fields ``spec`` names (see :data:`TRIM`)."""
    if spec is True:
        return value
    if isinstance(value, list):
        return [_trim(item, spec) for item in value]
    return {key: _trim(value[key], sub) for key, sub in spec.items() if key in value}


def _karpenter_tables(module: Path, names: set[str]) -> dict[str, dict[str, int | None]]:
    """Bandwidth (Mbps) and pod-ENI count for ``names`` from the provider's generated tables
    (``zz_generated.bandwidth.go``: InstanceTypeBandwidthMegabits; ``zz_generated.vpclimits.go``:
    BranchInterface when IsTrunkingCompatible, as ``awsPodENI`` reads them)."""
    folder = module / "pkg" / "providers" / "instancetype"
    bandwidth = (folder / "zz_generated.bandwidth.go").read_text()
    limits = (folder / "zz_generated.vpclimits.go").read_text()
    out: dict[str, dict[str, int | None]] = {}
    for name in sorted(names):
        mbps = re.search(rf'"{re.escape(name)}":\s*(\d+),', bandwidth)
        block = re.search(
            rf'"{re.escape(name)}": \{{[^}}]*?IsTrunkingCompatible:\s*(true|false),'
            r"\s*BranchInterface:\s*(\d+)",
            limits,
        )
        out[name] = {
            "bandwidth_mbps": int(mbps.group(1)) if mbps else None,
            "pod_eni": int(block.group(2)) if block and block.group(1) == "true" else 0,
        }
    return out


def refresh_ec2_facts(reference: Path, moto: list[tuple[str, Path]], module: Path) -> bytes:
    """The gzipped EC2 facts file: every type Karpenter lists or the GPU CSV holds, from the
    first moto copy (``(version, instance_types.json.gz)``, in preference order) that has it."""
    rows, karpenter, _ = read_inputs(reference)
    wanted = set(karpenter) | {row["instance_type"] for row in rows}
    copies = [(version, json.loads(gzip.decompress(path.read_bytes()))) for version, path in moto]
    facts, versions = {}, {}
    for name in sorted(wanted):
        version, info = next(((v, c[name]) for v, c in copies if name in c), (None, None))
        if info is None:
            raise SystemExit(f"no moto copy has {name}: pass an older one with --moto")
        facts[name], versions[name] = _trim(info, TRIM), version
    document = {
        "source": "EC2 DescribeInstanceTypes as bundled by moto (moto/ec2/resources/"
        "instance_types.json.gz), trimmed to the fields Karpenter reads; karpenter_tables "
        f"from {KARPENTER_MODULE} pkg/providers/instancetype/zz_generated.*.go",
        "moto_versions": sorted({v for v, _ in moto}),
        "moto_version_of": versions,
        "instance_types": facts,
        "karpenter_tables": _karpenter_tables(module, wanted - set(karpenter)),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"
    return gzip.compress(text.encode(), mtime=0)


def read_ec2_facts(path: Path = EC2_FACTS) -> dict[str, Any]:
    """The committed EC2 facts document (see :func:`refresh_ec2_facts`)."""
    document: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    return document


# --- Karpenter's view, derived from EC2 facts (types.go) -------------------------------------


def _kebab(text: str) -> str:
    """``lowerKabobCase``."""
    return text.replace(" ", "-").lower()


def _arch(info: dict[str, Any]) -> str:
    """``getArchitecture``: the first supported architecture Kubernetes names."""
    for arch in info["ProcessorInfo"]["SupportedArchitectures"]:
        if arch in ARCH:
            return ARCH[arch]
    raise ValueError(f"{info['InstanceType']}: no known architecture")


def derive_labels(info: dict[str, Any], bandwidth_mbps: int | None) -> dict[str, str]:
    """``computeRequirements``' single-valued labels (no zone, region, capacity type, tenancy)."""
    name = info["InstanceType"]
    family, size = name.split(".")
    labels = {
        "node.kubernetes.io/instance-type": name,
        "kubernetes.io/arch": _arch(info),
        "kubernetes.io/os": "linux",
        f"{L}cpu": str(info["VCpuInfo"]["DefaultVCpus"]),
        f"{L}memory": str(info["MemoryInfo"]["SizeInMiB"]),
        f"{L}encryption-in-transit-supported": str(
            bool(info["NetworkInfo"].get("EncryptionInTransitSupported"))
        ).lower(),
        f"{L}family": family,
        f"{L}size": size,
        f"{L}capability-flex": str("-flex" in family).lower(),
    }
    if info.get("Hypervisor"):
        labels[f"{L}hypervisor"] = info["Hypervisor"]
    if match := INSTANCE_TYPE_SCHEME.match(name):
        labels[f"{L}category"], labels[f"{L}generation"] = match.group(1), match.group(3)
    store = info.get("InstanceStorageInfo")
    if store and store.get("NvmeSupport") != "unsupported" and "TotalSizeInGB" in store:
        labels[f"{L}local-nvme"] = str(store["TotalSizeInGB"])
    if bandwidth_mbps is not None:
        labels[f"{L}network-bandwidth"] = str(bandwidth_mbps)
    gpus = (info.get("GpuInfo") or {}).get("Gpus") or []
    if len(gpus) == 1:
        labels[f"{L}gpu-name"] = _kebab(gpus[0]["Name"])
        labels[f"{L}gpu-manufacturer"] = _kebab(gpus[0]["Manufacturer"])
        labels[f"{L}gpu-count"] = str(gpus[0]["Count"])
        labels[f"{L}gpu-memory"] = str(gpus[0]["MemoryInfo"]["SizeInMiB"])
    labels.update(_accelerator_labels(info))
    processor = info["ProcessorInfo"]
    labels[f"{L}cpu-manufacturer"] = _kebab(processor.get("Manufacturer", ""))
    ghz = processor.get("SustainedClockSpeedInGhz") or 0.0
    labels[f"{L}cpu-sustained-clock-speed-mhz"] = str(math.floor(ghz * 1000 + 0.5))  # math.Round
    ebs = info.get("EbsInfo") or {}
    if ebs.get("EbsOptimizedSupport") == "default" and "EbsOptimizedInfo" in ebs:
        labels[f"{L}ebs-bandwidth"] = str(ebs["EbsOptimizedInfo"]["MaximumBandwidthInMbps"])
    return labels


def _accelerator_labels(info: dict[str, Any]) -> dict[str, str]:
    """Inference accelerators (not Neuron), then Neuron devices, as types.go labels them."""
    inference = (info.get("InferenceAcceleratorInfo") or {}).get("Accelerators") or []
    neuron = info.get("NeuronInfo")
    if len(inference) == 1 and neuron is None:
        one = inference[0]
        name, maker, count = one["Name"], one["Manufacturer"], one["Count"]
    elif neuron is not None and len(neuron.get("NeuronDevices") or []) == 1:
        one = neuron["NeuronDevices"][0]
        name, maker, count = one["Name"], "aws", one["Count"]
    else:
        return {}
    return {
        f"{L}accelerator-name": _kebab(name),
        f"{L}accelerator-manufacturer": _kebab(maker),
        f"{L}accelerator-count": str(count),
    }


def instance_facts(info: dict[str, Any], pod_eni: int) -> InstanceFacts:
    """The facts the allocatable model needs (``computeCapacity``'s inputs)."""
    network = info["NetworkInfo"]
    card = network["NetworkCards"][network["DefaultNetworkCardIndex"]]
    gpus = (info.get("GpuInfo") or {}).get("Gpus") or []
    extended = {
        resource: sum(Decimal(g["Count"]) for g in gpus if g["Manufacturer"] == maker)
        for resource, maker in GPU_RESOURCES.items()
    }
    devices = (info.get("NeuronInfo") or {}).get("NeuronDevices") or []
    extended["aws.amazon.com/neuron"] = sum((Decimal(d["Count"]) for d in devices), Decimal(0))
    if devices:
        cores = devices[0]["Count"] * devices[0]["CoreInfo"]["Count"]
        extended["aws.amazon.com/neuroncore"] = Decimal(cores)
    extended["vpc.amazonaws.com/efa"] = Decimal(
        (network.get("EfaInfo") or {}).get("MaximumEfaInterfaces", 0)
    )
    extended["vpc.amazonaws.com/pod-eni"] = Decimal(pod_eni)
    store = info.get("InstanceStorageInfo") or {}
    return InstanceFacts(
        vcpu=info["VCpuInfo"]["DefaultVCpus"],
        memory_mib=info["MemoryInfo"]["SizeInMiB"],
        arch=_arch(info),
        eni_pods=eni_limited_pods(
            card["MaximumNetworkInterfaces"], network["Ipv4AddressesPerInterface"]
        ),
        instance_store_gb=store.get("TotalSizeInGB"),
        extended={k: v for k, v in extended.items() if v},
    )


def derive_entry(info: dict[str, Any], tables: dict[str, int | None]) -> dict[str, Any]:
    """A listing entry (``{"labels", "resources"}``) as Karpenter's docs generator would write
    it: allocatable under AL2023 defaults plus the non-zero extended resources."""
    facts = instance_facts(info, int(tables["pod_eni"] or 0))
    allocatable = estimate(facts).allocatable
    return {
        "labels": derive_labels(info, tables["bandwidth_mbps"]),
        "resources": {k: format_quantity(v, k) for k, v in sorted(allocatable.items())},
    }


def derived_entries(
    rows: list[dict[str, str]], karpenter: dict[str, Any], ec2: dict[str, Any]
) -> dict[str, Any]:
    """Every GPU type of the CSV that Karpenter's listing lacks, derived from EC2 facts."""
    return {
        name: derive_entry(ec2["instance_types"][name], ec2["karpenter_tables"][name])
        for name in sorted({row["instance_type"] for row in rows} - set(karpenter))
    }


def _number(text: str) -> int | float | None:
    """``'4'`` -> 4, ``'0.125'`` -> 0.125, ``''`` -> None."""
    if text == "":
        return None
    value = float(text)
    return int(value) if value.is_integer() else value


def _gpu_row(
    row: dict[str, str], karpenter: dict[str, Any] | None, price: float | None, listed: bool
) -> dict[str, Any]:
    """One GPU instance type: EC2 facts, Karpenter's view of it (listed or derived), price."""
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
        "karpenter_listed": listed,
        "karpenter_derived": karpenter is not None and not listed,
        "max_pods": int(resources["pods"]) if resources else None,
        "allocatable": {k: resources[k] for k in ALLOCATABLE_KEYS} if resources else None,
        "price_per_hour": price,
    }


def build_gpu_catalog(
    rows: list[dict[str, str]],
    karpenter: dict[str, Any],
    prices: dict[str, float],
    derived: dict[str, Any],
) -> dict[str, Any]:
    """The GPU catalog document, rows sorted by family then size order of the source."""
    return {
        "facts_date": FACTS_DATE,
        "price_date": PRICE_DATE,
        "price_region": "us-east-1",
        "sources": SOURCES,
        "generator": "scripts/gen_catalog.py",
        "instance_types": [
            _gpu_row(
                row,
                karpenter.get(row["instance_type"]) or derived.get(row["instance_type"]),
                prices.get(row["instance_type"]),
                row["instance_type"] in karpenter,
            )
            for row in rows
        ],
    }


def build_all_types(
    karpenter: dict[str, Any],
    prices: dict[str, float],
    ec2: dict[str, Any],
    derived: dict[str, Any],
) -> dict[str, Any]:
    """Every instance type as ``[label values, resource values]`` over shared key lists (the
    listed ones and the ``derived`` ones), each type's instance-store size, and every on-demand
    price (the price table also covers types Karpenter no longer lists).
    """
    karpenter = {**karpenter, **derived}
    stores = {
        name: ec2["instance_types"][name]["InstanceStorageInfo"]["TotalSizeInGB"]
        for name in sorted(karpenter)
        if "TotalSizeInGB" in (ec2["instance_types"][name].get("InstanceStorageInfo") or {})
    }
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
        "sources": {k: SOURCES[k] for k in ("karpenter", "prices", "ec2_facts")},
        "generator": "scripts/gen_catalog.py",
        "label_keys": label_keys,
        "resource_keys": resource_keys,
        "types": types,
        "derived": {name: DERIVED_NOTE for name in sorted(derived)},
        "instance_store_gb": stores,
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
    ec2 = read_ec2_facts()
    derived = derived_entries(rows, karpenter, ec2)
    gpu = build_gpu_catalog(rows, karpenter, prices, derived)
    everything = build_all_types(karpenter, prices, ec2, derived)
    return {
        "gpu_instance_types.json": json.dumps(gpu, indent=1) + "\n",
        "instance_types.json": json.dumps(everything, separators=(",", ":")) + "\n",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    parser.add_argument(
        "--refresh-ec2-facts",
        nargs="+",
        metavar="VERSION=PATH",
        help="rewrite scripts/data/ec2_instance_types.json.gz from moto copies of "
        "instance_types.json.gz, preferred first (e.g. 5.2.5=... 5.1.18=...)",
    )
    parser.add_argument(
        "--karpenter-module",
        type=Path,
        help=f"the {KARPENTER_MODULE} module folder (go mod download -json)",
    )
    args = parser.parse_args()
    if args.refresh_ec2_facts:
        if args.karpenter_module is None:
            parser.error("--refresh-ec2-facts needs --karpenter-module")
        moto = [(v, Path(p)) for v, _, p in (a.partition("=") for a in args.refresh_ec2_facts)]
        EC2_FACTS.parent.mkdir(parents=True, exist_ok=True)
        EC2_FACTS.write_bytes(refresh_ec2_facts(args.reference, moto, args.karpenter_module))
        print(f"wrote {EC2_FACTS.relative_to(ROOT)}")
    for name, text in render_outputs(args.reference).items():
        (DATA / name).write_text(text)
        print(f"wrote {(DATA / name).relative_to(ROOT)} ({len(text):,} bytes)")


if __name__ == "__main__":
    main()
