"""The derived catalog rows (issue 10 finding 7): types Karpenter's generated listing lacks.

Karpenter's listing (``instance-types-v1.14.json``, from its docs generator) shows what the
generating account's subnets offered; p3 is missing from it, not from Karpenter.
``scripts/gen_catalog.py`` derives such types from EC2 DescribeInstanceTypes facts with
Karpenter's formulas (aws/karpenter-provider-aws v1.14.1 ``types.go``: ``computeRequirements``,
``computeCapacity``, ``ENILimitedPods``). The derivation is held here to the listing itself,
for every listed type: the same code that writes p3 must reproduce all 1,363 listed rows.
(``tests/test_allocatable_oracle.py`` holds it to Karpenter's Go code as well.)
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from eks_gpu.catalog.gpu_types import gpu_instance_types
from eks_gpu.catalog.instance_types import all_instance_types
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.scheduling.instance_model import admitted_types, build_instance_types
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import parse_quantity

ROOT = Path(__file__).resolve().parents[1]
CLOCK = "karpenter.k8s.aws/instance-cpu-sustained-clock-speed-mhz"
BANDWIDTH = "karpenter.k8s.aws/instance-network-bandwidth"
# moto 5.2.5 and the EC2 data behind Karpenter's listing disagree on these facts (not on
# formulas): sustained clock speed of some Graviton/AMD families, and the default network card
# of four 48xlarge types (ENI-limited pods). Pinned so that new drift shows up here.
CLOCK_DRIFT_COUNT = 66
ENI_DRIFT = {"i7ie.48xlarge", "i7ie.metal-48xl", "i8ge.48xlarge", "i8ge.metal-48xl"}


@pytest.fixture(scope="module")
def listing(karpenter_listing: dict[str, Any]) -> dict[str, Any]:
    return karpenter_listing


@pytest.fixture(scope="module")
def ec2(generator: ModuleType) -> dict[str, Any]:
    document: dict[str, Any] = generator.read_ec2_facts()
    return document


def test_ec2_facts_say_where_they_came_from(ec2: dict[str, Any]) -> None:
    assert "moto" in ec2["source"] and "karpenter-provider-aws@v1.14.1" in ec2["source"]
    assert ec2["moto_versions"] == ["5.1.18", "5.2.5"]
    older = sorted(n for n, v in ec2["moto_version_of"].items() if v == "5.1.18")
    assert older == sorted([f"g4ad.{s}" for s in ("xlarge", "2xlarge", "4xlarge", "8xlarge",
                                                    "16xlarge")] + ["p3.16xlarge", "p3.2xlarge",
                                                                    "p3.8xlarge"])  # fmt: skip


def test_derivation_reproduces_every_listed_label(
    generator: ModuleType, listing: dict[str, Any], ec2: dict[str, Any]
) -> None:
    clock_drift, wrong = 0, {}
    for name, entry in listing.items():
        bandwidth = entry["labels"].get(BANDWIDTH)
        ours = generator.derive_labels(
            ec2["instance_types"][name], None if bandwidth is None else int(bandwidth)
        )
        diff = {
            k for k in set(ours) | set(entry["labels"]) if ours.get(k) != entry["labels"].get(k)
        }
        clock_drift += diff == {CLOCK}
        if diff - {CLOCK}:
            wrong[name] = diff
    assert not wrong
    assert clock_drift == CLOCK_DRIFT_COUNT


def test_derivation_reproduces_every_listed_resource(
    generator: ModuleType, listing: dict[str, Any], ec2: dict[str, Any]
) -> None:
    wrong = {}
    for name, entry in listing.items():
        tables = {
            "pod_eni": int(entry["resources"].get("vpc.amazonaws.com/pod-eni", 0)),
            "bandwidth_mbps": None,
        }
        ours = generator.derive_entry(ec2["instance_types"][name], tables)["resources"]
        theirs = entry["resources"]
        if {k: parse_quantity(v) for k, v in ours.items()} != {
            k: parse_quantity(v) for k, v in theirs.items()
        }:
            wrong[name] = (ours, theirs)
    assert set(wrong) == ENI_DRIFT


def test_derived_p3_rows() -> None:
    """p3.2xlarge: 8 vCPU, 1 V100, 4 ENIs x 15 IPv4 (58 pods), xen, no instance store."""
    p3 = all_instance_types()["p3.2xlarge"]
    assert p3.derived and p3.instance_store_gb is None
    assert {
        k: p3.labels[f"karpenter.k8s.aws/instance-{k}"]
        for k in (
            "gpu-name",
            "gpu-count",
            "gpu-manufacturer",
            "gpu-memory",
            "family",
            "hypervisor",
            "network-bandwidth",
        )
    } == {
        "gpu-name": "v100",
        "gpu-count": "1",
        "gpu-manufacturer": "nvidia",
        "gpu-memory": "16384",
        "family": "p3",
        "hypervisor": "xen",
        "network-bandwidth": "2500",
    }
    assert p3.resources == {"cpu": "7910m", "ephemeral-storage": "17Gi", "memory": "56786Mi",
                            "nvidia.com/gpu": "1", "pods": "58"}  # fmt: skip


def test_every_gpu_type_the_project_knows_is_in_the_instance_model() -> None:
    """No GPU type of the catalog is silently missing from simulate/validate's model."""
    model = {t.name for t in admitted_types(Requirements())}
    gpu_rows = {row.instance_type for row in gpu_instance_types()}
    assert gpu_rows <= model
    derived = {row.instance_type for row in gpu_instance_types() if row.karpenter_derived}
    assert derived == {"p3.2xlarge", "p3.8xlarge", "p3.16xlarge"}


def test_simulator_prices_and_offers_derived_types() -> None:
    book = PriceBook("us-east-1", "bundled", "2026-01-01", on_demand={"p3.8xlarge": 12.24})
    types = {t.name: t for t in build_instance_types(book, zones=("us-east-1a",))}
    p3 = types["p3.8xlarge"]
    [on_demand] = [o for o in p3.offerings if o.capacity_type == "on-demand"]
    assert on_demand.price == 12.24 and p3.exotic
    assert p3.allocatable["nvidia.com/gpu"] == 4
