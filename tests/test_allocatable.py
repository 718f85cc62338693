"""Karpenter's allocatable estimate: the whole catalog, kubelet overrides, CPU tiers.

The catalog (``all_instance_types()``) carries Karpenter's own modelled allocatable for every
instance type in ``.resources``; :func:`estimate` must reproduce it exactly, from vCPUs,
memory, architecture and the ENI-limited pod count alone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from eks_gpu.catalog.instance_types import InstanceType, all_instance_types
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.config.parse import config_from_data
from eks_gpu.render.bundle import render_all
from eks_gpu.scheduling.allocatable import (
    KubeletSettings,
    estimate,
    max_pods,
    reserved_cpu_millis,
)
from eks_gpu.scheduling.instance_model import build_instance_types
from eks_gpu.scheduling.pools import kubelet_settings
from eks_gpu.scheduling.resources import parse_quantity

D = Decimal
Mi = 1024**2
CATALOG = all_instance_types()
CATALOG_SIZE = 1363
MODELLED = ("cpu", "memory", "pods")


def catalog_estimate(spec: InstanceType, kubelet: KubeletSettings | None = None) -> dict[str, D]:
    """:func:`estimate` fed the way the instance model feeds it."""
    labels = spec.labels
    return estimate(
        int(labels["karpenter.k8s.aws/instance-cpu"]),
        int(labels["karpenter.k8s.aws/instance-memory"]),
        labels["kubernetes.io/arch"],
        int(spec.resources["pods"]),
        kubelet,
    )


def mismatches(resource: str) -> list[str]:
    """``name: ours != Karpenter's`` for every catalog type whose estimate differs."""
    out = []
    for name, spec in sorted(CATALOG.items()):
        ours, theirs = catalog_estimate(spec)[resource], parse_quantity(spec.resources[resource])
        if ours != theirs:
            out.append(f"{name}: {ours} != {theirs} ({spec.resources[resource]})")
    return out


# --- the whole catalog ---------------------------------------------------------------------


def test_catalog_holds_every_karpenter_instance_type() -> None:
    assert len(CATALOG) == CATALOG_SIZE
    assert all(set(MODELLED) <= set(spec.resources) for spec in CATALOG.values())


@pytest.mark.parametrize("resource", MODELLED)
def test_estimate_reproduces_karpenter_for_every_catalog_type(resource: str) -> None:
    wrong = mismatches(resource)
    assert not wrong, f"{len(wrong)} of {CATALOG_SIZE} types differ: " + "; ".join(wrong[:10])


def test_catalog_covers_both_architectures_and_gpu_types() -> None:
    """The exhaustive check above is only as good as the variety it runs over."""
    arches = {spec.labels["kubernetes.io/arch"] for spec in CATALOG.values()}
    gpus = [s for s in CATALOG.values() if "nvidia.com/gpu" in s.resources]
    assert arches == {"amd64", "arm64"}
    assert len(gpus) > 50


def test_instance_model_uses_the_estimate_for_every_type() -> None:
    """``build_instance_types`` (what the solver sees) carries the same figures."""
    book = PriceBook("us-east-1", "bundled", "2026-01-01", on_demand={})
    types = build_instance_types(book, zones=("us-east-1a",))
    assert len(types) == CATALOG_SIZE
    for instance_type in types:
        spec = CATALOG[instance_type.name]
        for resource in MODELLED:
            expected = parse_quantity(spec.resources[resource])
            assert instance_type.allocatable[resource] == expected, (instance_type.name, resource)


@pytest.mark.parametrize(
    ("name", "cpu", "memory", "pods"),
    [
        ("g4dn.xlarge", "3920m", "14481Mi", "29"),
        ("m6g.medium", "940m", "3286Mi", "8"),  # arm64: 64 MiB less before the overhead
        ("p4d.24xlarge", "95690m", "1082712Mi", "737"),  # 1179648 - 88474 - 8362 - 100
    ],
)
def test_known_figures(name: str, cpu: str, memory: str, pods: str) -> None:
    got = catalog_estimate(CATALOG[name])
    assert got == {
        "cpu": parse_quantity(cpu),
        "memory": parse_quantity(memory),
        "pods": parse_quantity(pods),
    }


# --- kube-reserved CPU tiers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("vcpu", "millis"),
    [
        (1, "60"),  # 6% of the first core
        (2, "70"),  # + 1% of the second
        (3, "75"),  # + 0.5% of the third
        (4, "80"),  # + 0.5% of the fourth
        (5, "82.5"),  # + 0.25% of each further core
        (8, "90"),
        (96, "310"),
        (192, "550"),
    ],
)
def test_reserved_cpu_millis_tiers(vcpu: int, millis: str) -> None:
    assert reserved_cpu_millis(vcpu) == D(millis)


def test_reserved_cpu_millis_is_exact_decimal() -> None:
    assert isinstance(reserved_cpu_millis(5), Decimal)
    assert str(D(5) - reserved_cpu_millis(5) / 1000) == "4.9175"


# --- kubelet overrides ---------------------------------------------------------------------

# g4dn.xlarge: 4 vCPU, 16384 MiB, 29 ENI pods; VM overhead ceil(7.5% of 16384) = 1229 MiB.
G4DN: dict[str, Any] = {"vcpu": 4, "memory_mib": 16384, "arch": "amd64", "eni_pods": 29}


@pytest.mark.parametrize(
    ("kubelet", "cpu", "memory_mib", "pods"),
    [
        pytest.param(KubeletSettings(), "3.92", 16384 - 1229 - (11 * 29 + 255) - 100, 29,
                     id="defaults"),
        pytest.param(KubeletSettings(max_pods=110), "3.92",
                     16384 - 1229 - (11 * 110 + 255) - 100, 110, id="maxPods-raises-pods"),
        pytest.param(KubeletSettings(max_pods=10), "3.92",
                     16384 - 1229 - (11 * 10 + 255) - 100, 10, id="maxPods-lowers-pods"),
        pytest.param(KubeletSettings(pods_per_core=4), "3.92",
                     16384 - 1229 - (11 * 16 + 255) - 100, 16, id="podsPerCore-caps"),
        pytest.param(KubeletSettings(pods_per_core=10), "3.92",
                     16384 - 1229 - (11 * 29 + 255) - 100, 29, id="podsPerCore-above-eni"),
        pytest.param(KubeletSettings(pods_per_core=0), "3.92",
                     16384 - 1229 - (11 * 29 + 255) - 100, 29, id="podsPerCore-0-off"),
        pytest.param(KubeletSettings(max_pods=110, pods_per_core=5), "3.92",
                     16384 - 1229 - (11 * 20 + 255) - 100, 20, id="maxPods-and-podsPerCore"),
        pytest.param(KubeletSettings(kube_reserved={"cpu": D("0.2"), "memory": D(1024 * Mi)}),
                     "3.8", 16384 - 1229 - 1024 - 100, 29, id="kubeReserved-replaces"),
        pytest.param(KubeletSettings(kube_reserved={"memory": D(512 * Mi)}), "3.92",
                     16384 - 1229 - 512 - 100, 29, id="kubeReserved-memory-only"),
        pytest.param(KubeletSettings(system_reserved={"cpu": D("0.1"), "memory": D(500 * Mi)}),
                     "3.82", 16384 - 1229 - (11 * 29 + 255) - 500 - 100, 29,
                     id="systemReserved-subtracts"),
        pytest.param(KubeletSettings(eviction_memory=D(500 * Mi)), "3.92",
                     16384 - 1229 - (11 * 29 + 255) - 500, 29, id="eviction-replaces-100Mi"),
        pytest.param(KubeletSettings(eviction_memory=D(0)), "3.92",
                     16384 - 1229 - (11 * 29 + 255), 29, id="eviction-zero"),
    ],
)  # fmt: skip
def test_kubelet_overrides(kubelet: KubeletSettings, cpu: str, memory_mib: int, pods: int) -> None:
    got = estimate(**G4DN, kubelet=kubelet)
    assert got == {"cpu": D(cpu), "memory": D(memory_mib * Mi), "pods": D(pods)}


@pytest.mark.parametrize(
    ("eni", "vcpu", "kubelet", "expected"),
    [
        (29, 4, KubeletSettings(), 29),
        (29, 4, KubeletSettings(max_pods=58), 58),
        (29, 4, KubeletSettings(pods_per_core=2), 8),
        (737, 96, KubeletSettings(max_pods=110, pods_per_core=1), 96),
    ],
)
def test_max_pods(eni: int, vcpu: int, kubelet: KubeletSettings, expected: int) -> None:
    assert max_pods(eni, vcpu, kubelet) == expected


def test_arm64_loses_64_mib_before_the_overhead() -> None:
    amd = estimate(1, 4096, "amd64", 8)["memory"]
    arm = estimate(1, 4096, "arm64", 8)["memory"]
    # 4096 - ceil(307.2) = 3788 vs 4032 - ceil(302.4) = 3729: 59 MiB apart, not 64
    assert (amd - arm) / Mi == 59


# --- from an EC2NodeClass ------------------------------------------------------------------


def rendered_nodeclass(kubelet: dict[str, Any]) -> dict[str, Any]:
    config = config_from_data({"nodeClasses": [{"kubelet": kubelet}]})
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
            {"evictionHard": {"memory.available": "500Mi"}},
            KubeletSettings(eviction_memory=D(500 * Mi)),
        ),
        # a percentage threshold cannot be turned into bytes before the node exists
        ({"evictionHard": {"memory.available": "5%"}}, KubeletSettings()),
    ],
)
def test_kubelet_settings_from_rendered_nodeclass(
    kubelet: dict[str, Any], expected: KubeletSettings
) -> None:
    assert kubelet_settings(rendered_nodeclass(kubelet)) == expected


def test_nodeclass_without_kubelet_uses_defaults() -> None:
    assert kubelet_settings(None) == KubeletSettings()
    assert kubelet_settings({"spec": {}}) == KubeletSettings()


def test_kubelet_settings_reach_the_instance_model() -> None:
    book = PriceBook("us-east-1", "bundled", "2026-01-01", on_demand={"g4dn.xlarge": 0.526})
    settings = kubelet_settings(rendered_nodeclass({"maxPods": 110}))
    (g4dn,) = [t for t in build_instance_types(book, kubelet=settings) if t.name == "g4dn.xlarge"]
    assert g4dn.allocatable["pods"] == 110
    assert g4dn.allocatable["memory"] == D((16384 - 1229 - (11 * 110 + 255) - 100) * Mi)
    assert g4dn.allocatable["nvidia.com/gpu"] == 1
    assert g4dn.capacity["cpu"] == 4
