"""Karpenter's capacity and allocatable: the whole catalog, kubelet fields, storage settings.

Upstream: aws/karpenter-provider-aws v1.14.1 ``pkg/providers/instancetype/types.go``
(``NewInstanceType``, ``computeCapacity``, ``memory``, ``ephemeralStorage``, ``pods``,
``kubeReservedResources``, ``evictionThreshold``, ``computeEvictionSignal``) and
sigs.k8s.io/karpenter v1.14.1 ``cloudprovider.InstanceType.computeAllocatable``.

The catalog carries Karpenter's own allocatable for every listed type (its generated docs:
AL2023, default kubelet, 20Gi root volume); :func:`estimate` must reproduce it exactly from the
EC2 facts alone. ``tests/test_allocatable_oracle.py`` then runs Karpenter's code itself under
other node classes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from builders import make_nodeclass
from eks_gpu.catalog.instance_types import InstanceType, all_instance_types
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.config.parse import config_from_data
from eks_gpu.manifests import ManifestError
from eks_gpu.render.bundle import render_all
from eks_gpu.scheduling.allocatable import (
    InstanceFacts,
    KubeletSettings,
    Storage,
    Threshold,
    estimate,
    max_pods,
    reserved_cpu_millis,
)
from eks_gpu.scheduling.instance_model import build_instance_types, instance_facts
from eks_gpu.scheduling.pools import kubelet_settings, storage_settings
from eks_gpu.scheduling.resources import parse_quantity

D = Decimal
Mi, Gi = 1024**2, 1024**3
CATALOG = all_instance_types()
LISTED = {name: spec for name, spec in CATALOG.items() if not spec.derived}
LISTED_SIZE = 1363
MODELLED = ("cpu", "memory", "pods", "ephemeral-storage")


def catalog_estimate(spec: InstanceType, **settings: Any) -> dict[str, D]:
    """:func:`estimate` fed the way the instance model feeds it."""
    kubelet, storage = settings.get("kubelet"), settings.get("storage")
    return estimate(instance_facts(spec), kubelet, storage).allocatable


def mismatches(resource: str) -> list[str]:
    """``name: ours != Karpenter's`` for every listed type whose estimate differs."""
    out = []
    for name, spec in sorted(LISTED.items()):
        ours, theirs = catalog_estimate(spec)[resource], parse_quantity(spec.resources[resource])
        if ours != theirs:
            out.append(f"{name}: {ours} != {theirs} ({spec.resources[resource]})")
    return out


# --- the whole catalog ---------------------------------------------------------------------


def test_catalog_holds_every_karpenter_instance_type_and_the_derived_p3() -> None:
    assert len(LISTED) == LISTED_SIZE
    assert sorted(set(CATALOG) - set(LISTED)) == ["p3.16xlarge", "p3.2xlarge", "p3.8xlarge"]
    assert all(set(MODELLED) <= set(spec.resources) for spec in CATALOG.values())


@pytest.mark.parametrize("resource", MODELLED)
def test_estimate_reproduces_karpenter_for_every_listed_type(resource: str) -> None:
    wrong = mismatches(resource)
    assert not wrong, f"{len(wrong)} of {LISTED_SIZE} types differ: " + "; ".join(wrong[:10])


def test_catalog_covers_both_architectures_gpus_and_instance_stores() -> None:
    """The exhaustive check above is only as good as the variety it runs over."""
    arches = {spec.labels["kubernetes.io/arch"] for spec in CATALOG.values()}
    gpus = [s for s in CATALOG.values() if "nvidia.com/gpu" in s.resources]
    stores = [s for s in CATALOG.values() if s.instance_store_gb]
    non_nvme = [s for s in stores if "karpenter.k8s.aws/instance-local-nvme" not in s.labels]
    assert arches == {"amd64", "arm64"}
    assert len(gpus) > 50
    assert len(stores) > 300
    assert non_nvme, "old HDD/SSD instance stores (d2, h1, i2) count for RAID0 too"


def test_instance_model_uses_the_estimate_for_every_type() -> None:
    """``build_instance_types`` (what the solver sees) carries the same figures."""
    book = PriceBook("us-east-1", "bundled", "2026-01-01", on_demand={})
    types = build_instance_types(book, zones=("us-east-1a",))
    assert len(types) == len(CATALOG)
    for instance_type in types:
        spec = CATALOG[instance_type.name]
        for resource in MODELLED:
            expected = parse_quantity(spec.resources[resource])
            assert instance_type.allocatable[resource] == expected, (instance_type.name, resource)


@pytest.mark.parametrize(
    ("name", "cpu", "memory", "pods", "storage"),
    [
        ("g4dn.xlarge", "3920m", "14481Mi", "29", "17Gi"),
        ("m6g.medium", "940m", "3286Mi", "8", "17Gi"),  # arm64: 64 MiB less before the overhead
        ("p4d.24xlarge", "95690m", "1082712Mi", "737", "17Gi"),  # 1179648 - 88474 - 8362 - 100
        # derived: 8 vCPU, 62464 MiB, 4 ENIs x 15 IPv4 -> 58 pods; 62464 - 4685 - 893 - 100
        ("p3.2xlarge", "7910m", "56786Mi", "58", "17Gi"),
    ],
)
def test_known_figures(name: str, cpu: str, memory: str, pods: str, storage: str) -> None:
    got = catalog_estimate(CATALOG[name])
    expected = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": storage}
    assert {k: got[k] for k in expected} == {k: parse_quantity(v) for k, v in expected.items()}


# --- kube-reserved CPU tiers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("vcpu", "millis"),
    [
        (1, 60),  # 6% of the first core
        (2, 70),  # + 1% of the second
        (3, 75),  # + 0.5% of the third
        (4, 80),  # + 0.5% of the fourth
        (5, 82),  # + int64(1000 x 0.25%) = 2: each range is truncated to whole millicores
        (6, 85),
        (8, 90),
        (96, 310),
        (192, 550),
    ],
)
def test_reserved_cpu_millis_tiers(vcpu: int, millis: int) -> None:
    assert reserved_cpu_millis(vcpu) == millis


# --- kubelet fields (finding 4) ------------------------------------------------------------

# g4dn.xlarge: 4 vCPU, 16384 MiB, 29 ENI pods; VM overhead ceil(7.5% of 16384) = 1229 MiB.
G4DN = InstanceFacts(vcpu=4, memory_mib=16384, arch="amd64", eni_pods=29)
MEMORY = 16384 - 1229  # capacity, MiB
KUBE = 11 * 29 + 255  # kube-reserved memory from the ENI-limited pods, whatever maxPods says


@pytest.mark.parametrize(
    ("kubelet", "cpu", "memory_mib", "pods"),
    [
        pytest.param(KubeletSettings(), "3.92", MEMORY - KUBE - 100, 29, id="defaults"),
        # UsesENILimitedMemoryOverhead: kube-reserved memory keeps the ENI count (29)
        pytest.param(KubeletSettings(max_pods=110), "3.92", MEMORY - KUBE - 100, 110,
                     id="maxPods-raises-pods-not-kube-reserved"),
        pytest.param(KubeletSettings(max_pods=10), "3.92", MEMORY - KUBE - 100, 10,
                     id="maxPods-lowers-pods-not-kube-reserved"),
        pytest.param(KubeletSettings(pods_per_core=4), "3.92", MEMORY - KUBE - 100, 16,
                     id="podsPerCore-caps"),
        pytest.param(KubeletSettings(pods_per_core=10), "3.92", MEMORY - KUBE - 100, 29,
                     id="podsPerCore-above-eni"),
        pytest.param(KubeletSettings(pods_per_core=0), "3.92", MEMORY - KUBE - 100, 29,
                     id="podsPerCore-0-off"),
        pytest.param(KubeletSettings(max_pods=110, pods_per_core=5), "3.92",
                     MEMORY - KUBE - 100, 20, id="maxPods-and-podsPerCore"),
        pytest.param(KubeletSettings(kube_reserved={"cpu": D("0.2"), "memory": D(1024 * Mi)}),
                     "3.8", MEMORY - 1024 - 100, 29, id="kubeReserved-replaces"),
        pytest.param(KubeletSettings(kube_reserved={"memory": D(512 * Mi)}), "3.92",
                     MEMORY - 512 - 100, 29, id="kubeReserved-memory-only"),
        pytest.param(KubeletSettings(system_reserved={"cpu": D("0.1"), "memory": D(500 * Mi)}),
                     "3.82", MEMORY - KUBE - 500 - 100, 29, id="systemReserved-subtracts"),
        pytest.param(KubeletSettings(eviction_hard={"memory.available": Threshold(D(500 * Mi))}),
                     "3.92", MEMORY - KUBE - 500, 29, id="evictionHard-replaces-100Mi"),
        pytest.param(KubeletSettings(eviction_hard={"memory.available": Threshold(D(0))}),
                     "3.92", MEMORY - KUBE, 29, id="evictionHard-zero"),
        # 100% disables the signal (mustParsePercentage)
        pytest.param(KubeletSettings(eviction_hard={"memory.available": Threshold(percent=100)}),
                     "3.92", MEMORY - KUBE, 29, id="evictionHard-100-percent-is-0"),
        # evictionSoft is only a warning threshold: it does not change allocatable upstream
        pytest.param(KubeletSettings(eviction_soft={"memory.available": Threshold(D(Gi))}),
                     "3.92", MEMORY - KUBE - 100, 29, id="evictionSoft-ignored"),
    ],
)  # fmt: skip
def test_kubelet_fields(kubelet: KubeletSettings, cpu: str, memory_mib: int, pods: int) -> None:
    got = estimate(G4DN, kubelet).allocatable
    assert (got["cpu"], got["memory"], got["pods"]) == (D(cpu), D(memory_mib * Mi), D(pods))


def test_eviction_percentage_is_of_memory_capacity_rounded_up() -> None:
    """``computeEvictionSignal``: ceil(capacity / 100 x percent), capacity after VM overhead."""
    kubelet = KubeletSettings(eviction_hard={"memory.available": Threshold(percent=5)})
    capacity = MEMORY * Mi  # 15155 MiB = 15891169280 bytes; 5% = 794558464 exactly
    got = estimate(G4DN, kubelet).allocatable["memory"]
    assert got == capacity - KUBE * Mi - 794558464


def test_max_pods_and_capacity_follow_the_node_class() -> None:
    result = estimate(G4DN, KubeletSettings(max_pods=110))
    assert result.capacity["pods"] == result.allocatable["pods"] == 110
    assert result.capacity["memory"] == MEMORY * Mi  # capacity is after the VM overhead
    assert max_pods(737, 96, KubeletSettings(max_pods=110, pods_per_core=1)) == 96


def test_arm64_loses_64_mib_before_the_overhead() -> None:
    amd = estimate(InstanceFacts(1, 4096, "amd64", 8)).allocatable["memory"]
    arm = estimate(InstanceFacts(1, 4096, "arm64", 8)).allocatable["memory"]
    # 4096 - ceil(307.2) = 3788 vs 4032 - ceil(302.4) = 3729: 59 MiB apart, not 64
    assert (amd - arm) / Mi == 59


# --- ephemeral storage (finding 3) ---------------------------------------------------------

G4DN_NVME = InstanceFacts(
    vcpu=4, memory_mib=16384, arch="amd64", eni_pods=29, instance_store_gb=125
)


@pytest.mark.parametrize(
    ("facts", "storage", "kubelet", "capacity", "allocatable"),
    [
        # no blockDeviceMappings: AL2023's 20Gi; minus 1Gi kube-reserved, minus 10% (2Gi)
        pytest.param(G4DN_NVME, Storage(), KubeletSettings(), 20 * Gi, 17 * Gi, id="default"),
        # the root volume we render: 100Gi - 1Gi - 10Gi
        pytest.param(G4DN_NVME, Storage(root_volume=D(100 * Gi)), KubeletSettings(),
                     100 * Gi, 89 * Gi, id="root-volume"),
        # RAID0: TotalSizeInGB in decimal GB, not the root volume: 125G - 1Gi - 12.5G
        pytest.param(G4DN_NVME, Storage(raid0=True, root_volume=D(100 * Gi)), KubeletSettings(),
                     125 * 10**9, 125 * 10**9 - Gi - 12_500_000_000, id="raid0"),
        # RAID0 on a type without an instance store falls back to the root volume
        pytest.param(G4DN, Storage(raid0=True, root_volume=D(100 * Gi)), KubeletSettings(),
                     100 * Gi, 89 * Gi, id="raid0-without-store"),
        pytest.param(G4DN_NVME, Storage(root_volume=D(100 * Gi)),
                     KubeletSettings(eviction_hard={"nodefs.available": Threshold(D(5 * Gi))}),
                     100 * Gi, 94 * Gi, id="evictionHard-nodefs-quantity"),
        pytest.param(G4DN_NVME, Storage(root_volume=D(100 * Gi)),
                     KubeletSettings(eviction_hard={"nodefs.available": Threshold(percent=15)}),
                     100 * Gi, 100 * Gi - Gi - 16106127360, id="evictionHard-nodefs-percent"),
        pytest.param(G4DN_NVME, Storage(root_volume=D(100 * Gi)),
                     KubeletSettings(kube_reserved={"ephemeral-storage": D(3 * Gi)}),
                     100 * Gi, 87 * Gi, id="kubeReserved-ephemeral-storage"),
    ],
)  # fmt: skip
def test_ephemeral_storage(
    facts: InstanceFacts,
    storage: Storage,
    kubelet: KubeletSettings,
    capacity: int,
    allocatable: int,
) -> None:
    result = estimate(facts, kubelet, storage)
    assert result.capacity["ephemeral-storage"] == capacity
    assert result.allocatable["ephemeral-storage"] == allocatable


# --- from an EC2NodeClass ------------------------------------------------------------------


def rendered_nodeclass(**node_class: Any) -> dict[str, Any]:
    config = config_from_data({"nodeClasses": [node_class]})
    return next(r.obj for r in render_all(config, "demo") if r.obj["kind"] == "EC2NodeClass")


@pytest.mark.parametrize(
    ("kubelet", "expected"),
    [
        ({}, KubeletSettings()),
        ({"maxPods": 110}, KubeletSettings(max_pods=110)),
        ({"podsPerCore": 4}, KubeletSettings(pods_per_core=4)),
        (
            {"kubeReserved": {"cpu": "200m", "memory": "1Gi"}},
            KubeletSettings(kube_reserved={"cpu": D("0.2"), "memory": D(1024 * Mi)}),
        ),
        (
            {"systemReserved": {"cpu": "100m", "memory": "500Mi"}},
            KubeletSettings(system_reserved={"cpu": D("0.1"), "memory": D(500 * Mi)}),
        ),
        (
            {"evictionHard": {"memory.available": "500Mi", "nodefs.available": "15%"}},
            KubeletSettings(
                eviction_hard={
                    "memory.available": Threshold(D(500 * Mi)),
                    "nodefs.available": Threshold(percent=15.0),
                }
            ),
        ),
    ],
)
def test_kubelet_settings_from_rendered_nodeclass(
    kubelet: dict[str, Any], expected: KubeletSettings
) -> None:
    assert kubelet_settings(rendered_nodeclass(kubelet=kubelet)) == expected


def test_eviction_soft_is_read_with_its_grace_period_sibling() -> None:
    node_class = make_nodeclass(
        kubelet={
            "evictionSoft": {"memory.available": "1Gi"},
            "evictionSoftGracePeriod": {"memory.available": "1m"},
        }
    )
    assert kubelet_settings(node_class).eviction_soft == {"memory.available": Threshold(D(Gi))}


def test_nodeclass_without_kubelet_uses_defaults() -> None:
    assert kubelet_settings(None) == KubeletSettings()
    assert kubelet_settings({"spec": {}}) == KubeletSettings()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("evictionHard", {"memory.available": "lots"}),
        ("kubeReserved", {"memory": "1 GiB"}),
        ("evictionSoft", {"nodefs.available": "x%"}),
    ],
)
def test_bad_kubelet_value_is_a_typed_error_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ManifestError, match=rf"EC2NodeClass/default: spec\.kubelet\.{field}"):
        kubelet_settings(make_nodeclass(kubelet={field: value}))


def test_storage_settings_of_the_rendered_nodeclass() -> None:
    """We render RAID0 and a 100Gi root volume (rootVolume: true on /dev/xvda)."""
    assert storage_settings(rendered_nodeclass()) == Storage(raid0=True, root_volume=D(100 * Gi))


@pytest.mark.parametrize(
    ("mappings", "root_volume"),
    [
        ([], None),
        # rootVolume: true wins over the AMI family's device
        (
            [
                {"deviceName": "/dev/xvda", "ebs": {"volumeSize": "50Gi"}},
                {"deviceName": "/dev/xvdb", "ebs": {"volumeSize": "200Gi"}, "rootVolume": True},
            ],
            200 * Gi,
        ),
        # no rootVolume: AL2023's /dev/xvda
        ([{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "80Gi"}}], 80 * Gi),
        # another device only: the AMI default (20Gi) stays
        ([{"deviceName": "/dev/xvdb", "ebs": {"volumeSize": "80Gi"}}], None),
        # a root volume from a snapshot (no size): the AMI default
        ([{"deviceName": "/dev/xvda", "ebs": {"snapshotID": "snap-1"}, "rootVolume": True}], None),
    ],
)
def test_root_volume_from_block_device_mappings(
    mappings: list[dict[str, Any]], root_volume: int | None
) -> None:
    storage = storage_settings(make_nodeclass(blockDeviceMappings=mappings))
    assert storage.root_volume == (None if root_volume is None else D(root_volume))
    assert not storage.raid0


def test_node_class_settings_reach_the_instance_model() -> None:
    book = PriceBook("us-east-1", "bundled", "2026-01-01", on_demand={"g4dn.xlarge": 0.526})
    node_class = rendered_nodeclass(kubelet={"maxPods": 110})
    storage = storage_settings(node_class)
    types = build_instance_types(
        book,
        kubelet=kubelet_settings(node_class),
        raid0=storage.raid0,
        root_volume=storage.root_volume,
    )
    by_name = {t.name: t for t in types}
    g4dn, p3 = by_name["g4dn.xlarge"], by_name["p3.2xlarge"]
    assert g4dn.allocatable["pods"] == 110
    assert g4dn.allocatable["memory"] == D((MEMORY - KUBE - 100) * Mi)
    assert g4dn.allocatable["nvidia.com/gpu"] == 1
    assert g4dn.capacity["ephemeral-storage"] == 125 * 10**9  # RAID0 over the 125 GB NVMe
    assert p3.capacity["ephemeral-storage"] == 100 * Gi  # no instance store: the root volume
    assert p3.allocatable["nvidia.com/gpu"] == 1
