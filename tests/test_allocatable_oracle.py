"""Our capacity/allocatable model against Karpenter's own code, for every catalog type.

The oracle is ``hack/allocatable-oracle``: aws/karpenter-provider-aws v1.14.1's
``instancetype.DefaultResolver.Resolve`` (``NewInstanceType`` in
``pkg/providers/instancetype/types.go``) and core Karpenter's ``InstanceType.Allocatable``,
fed EC2 DescribeInstanceTypes facts (``scripts/data/ec2_instance_types.json.gz``, from moto)
and an EC2NodeClass. One oracle run per node class, every type in one batch.

Two comparisons per node class:

- **formulas**: :func:`allocatable.estimate` on the same EC2 facts must agree on every type,
  every resource, to the byte;
- **model**: what ``build_instance_types`` hands the solver (facts from the bundled catalog,
  i.e. Karpenter's generated listing) must agree too, except where the listing and moto's
  facts disagree about a type's network interfaces (:data:`ENI_DRIFT`, checked exactly).

Built by ``scripts/controlplane.sh build`` (cached by go.mod/go.sum). Without Go or the
binary the tests skip loudly; with ``EKS_GPU_REQUIRE_CONTROLPLANE=1`` (CI) they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from builders import make_nodeclass
from eks_gpu.catalog.instance_types import all_instance_types
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.scheduling.allocatable import estimate
from eks_gpu.scheduling.instance_model import build_instance_types
from eks_gpu.scheduling.pools import kubelet_settings, storage_settings

ROOT = Path(__file__).resolve().parents[1]
ROOT_100GI = {"deviceName": "/dev/xvda", "rootVolume": True, "ebs": {"volumeSize": "100Gi"}}
NODE_CLASSES: dict[str, dict[str, Any]] = {
    "default": {},
    "raid0": {"instanceStorePolicy": "RAID0"},
    "root-volume-100Gi": {"blockDeviceMappings": [ROOT_100GI]},
    "rendered-raid0-and-100Gi": {
        "instanceStorePolicy": "RAID0",
        "blockDeviceMappings": [ROOT_100GI],
    },
    "xvda-without-rootVolume": {
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "60Gi"}}]
    },
    "maxPods-110": {"kubelet": {"maxPods": 110}},
    "kubeReserved-evictionHard-percent": {
        "kubelet": {
            "kubeReserved": {"cpu": "250m", "memory": "1Gi", "ephemeral-storage": "2Gi"},
            "evictionHard": {"memory.available": "5%", "nodefs.available": "15%"},
        }
    },
    "evictionHard-absolute": {
        "kubelet": {"evictionHard": {"memory.available": "750Mi", "nodefs.available": "8Gi"}},
        "blockDeviceMappings": [ROOT_100GI],
    },
    "podsPerCore-systemReserved-evictionSoft": {
        "kubelet": {
            "maxPods": 200,
            "podsPerCore": 4,
            "systemReserved": {"cpu": "100m", "memory": "300Mi", "ephemeral-storage": "1Gi"},
            "evictionSoft": {"memory.available": "1Gi", "nodefs.available": "20%"},
            "evictionSoftGracePeriod": {"memory.available": "1m", "nodefs.available": "1m"},
        }
    },
}
# moto 5.2.5's DescribeInstanceTypes gives these a different default network card than the
# EC2 data behind Karpenter's generated listing (737 vs 394 pods on i7ie.48xlarge): ENI-limited
# pods and the kube-reserved memory that follows them differ; nothing else may.
# requirement keys our model keeps on the offerings (zone, capacity type) or leaves out (region)
OFFERING_KEYS = ("topology.kubernetes.io/region", "karpenter.sh/capacity-type")
ENI_DRIFT = {"i7ie.48xlarge", "i7ie.metal-48xl", "i8ge.48xlarge", "i8ge.metal-48xl"}
HOW_TO_ENABLE = "build it with scripts/controlplane.sh build (needs Go >= 1.26)"


def _unavailable(reason: str) -> None:
    if os.environ.get("EKS_GPU_REQUIRE_CONTROLPLANE") == "1":
        pytest.fail(f"EKS_GPU_REQUIRE_CONTROLPLANE=1 but {reason}", pytrace=False)
    pytest.skip(f"ALLOCATABLE ORACLE UNAVAILABLE, Karpenter comparison skipped: {reason}; "
                f"{HOW_TO_ENABLE}")  # fmt: skip


@pytest.fixture(scope="module")
def oracle() -> Path:
    """The built oracle binary, or a loud skip (a failure under EKS_GPU_REQUIRE_CONTROLPLANE)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from controlplane.build import BuildError, oracle_binary

    try:
        binary = oracle_binary()
    except BuildError as error:
        _unavailable(str(error))
    if binary is None:
        _unavailable("hack/allocatable-oracle is not built for its current go.mod")
    assert binary is not None
    return binary


@pytest.fixture(scope="module")
def facts(generator: ModuleType) -> dict[str, Any]:
    """DescribeInstanceTypes facts for every catalog type."""
    document: dict[str, Any] = generator.read_ec2_facts()
    infos = document["instance_types"]
    assert set(all_instance_types()) <= set(infos)
    return {name: infos[name] for name in sorted(all_instance_types())}


@pytest.fixture(scope="module")
def karpenter(oracle: Path, facts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Node class name -> the oracle's answer for every catalog type (one run per class)."""
    out = {}
    for name, spec in NODE_CLASSES.items():
        batch = {"nodeClass": make_nodeclass(name, **spec), "instanceTypes": list(facts.values())}
        proc = subprocess.run(
            [str(oracle)], input=json.dumps(batch), capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
        out[name] = json.loads(proc.stdout)
    return out


def _nonzero(resources: dict[str, Any]) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in resources.items() if Decimal(v)}


def _differences(ours: dict[str, Decimal], theirs: dict[str, Any]) -> dict[str, Any]:
    expected = _nonzero(theirs)
    return {
        key: (ours.get(key), expected.get(key))
        for key in set(ours) | set(expected)
        if ours.get(key, Decimal(0)) != expected.get(key, Decimal(0))
    }


@pytest.mark.parametrize("node_class", NODE_CLASSES)
def test_formulas_agree_with_karpenter_on_every_type(
    node_class: str,
    karpenter: dict[str, dict[str, Any]],
    facts: dict[str, Any],
    generator: ModuleType,
) -> None:
    """Same EC2 facts in, same capacity and allocatable out, for every resource."""
    obj = make_nodeclass(node_class, **NODE_CLASSES[node_class])
    kubelet, storage = kubelet_settings(obj), storage_settings(obj)
    wrong = {}
    for name, info in facts.items():
        theirs = karpenter[node_class][name]
        pod_eni = int(Decimal(theirs["capacity"].get("vpc.amazonaws.com/pod-eni", "0")))
        ours = estimate(generator.instance_facts(info, pod_eni), kubelet, storage)
        diff = {
            **_differences(ours.capacity, theirs["capacity"]),
            **_differences(ours.allocatable, theirs["allocatable"]),
        }
        if diff:
            wrong[name] = diff
    assert not wrong, f"{len(wrong)} of {len(facts)} types differ: {dict(list(wrong.items())[:5])}"


@pytest.mark.parametrize("node_class", NODE_CLASSES)
def test_instance_model_agrees_with_karpenter_on_every_catalog_type(
    node_class: str, karpenter: dict[str, dict[str, Any]]
) -> None:
    """What the solver sees (catalog facts) against Karpenter fed moto's facts."""
    obj = make_nodeclass(node_class, **NODE_CLASSES[node_class])
    storage = storage_settings(obj)
    book = PriceBook("us-east-1", "bundled", "2026-01-01", on_demand={})
    types = build_instance_types(
        book,
        zones=("us-east-1a",),
        kubelet=kubelet_settings(obj),
        raid0=storage.raid0,
        root_volume=storage.root_volume,
    )
    assert len(types) == len(all_instance_types())
    wrong = {}
    for t in types:
        theirs = karpenter[node_class][t.name]
        diff = {
            **_differences(dict(t.capacity), theirs["capacity"]),
            **_differences(dict(t.allocatable), theirs["allocatable"]),
        }
        if diff:
            wrong[t.name] = diff
    assert set(wrong) <= ENI_DRIFT, {k: v for k, v in wrong.items() if k not in ENI_DRIFT}
    assert all(set(diff) <= {"pods", "memory"} for diff in wrong.values()), wrong


def test_derived_types_carry_karpenters_labels(
    karpenter: dict[str, dict[str, Any]], generator: ModuleType, facts: dict[str, Any]
) -> None:
    """p3 (missing from Karpenter's listing): the catalog's labels are computeRequirements'."""
    derived = {name: spec for name, spec in all_instance_types().items() if spec.derived}
    assert sorted(derived) == ["p3.16xlarge", "p3.2xlarge", "p3.8xlarge"]
    for name, spec in derived.items():
        theirs = dict(karpenter["default"][name]["labels"])
        for key in OFFERING_KEYS:
            theirs.pop(key, None)
        assert dict(spec.labels) == theirs, name


def test_label_derivation_agrees_with_karpenter_on_every_type(
    karpenter: dict[str, dict[str, Any]], generator: ModuleType, facts: dict[str, Any]
) -> None:
    """``gen_catalog.derive_labels`` is ``computeRequirements`` for every type's facts.

    Metal types have an empty EC2 hypervisor: Karpenter's requirement is ``In [""]``, its
    generated listing (our catalog) writes no label, and so does the derivation."""
    wrong = {}
    for name, info in facts.items():
        labels = karpenter["default"][name]["labels"]
        theirs = {k: v for k, v in labels.items() if v != "" and k not in OFFERING_KEYS}
        bandwidth = theirs.get("karpenter.k8s.aws/instance-network-bandwidth")
        ours = generator.derive_labels(info, None if bandwidth is None else int(bandwidth))
        if ours != theirs:
            keys = set(ours) | set(theirs)
            wrong[name] = {
                k: (ours.get(k), theirs.get(k)) for k in keys if ours.get(k) != theirs.get(k)
            }
    assert not wrong, dict(list(wrong.items())[:5])
