"""NodeOverlays as Karpenter v1.14 applies them (feature gate ``NodeOverlay=true``).

Upstream: sigs.k8s.io/karpenter v1.14.1 ``pkg/apis/v1alpha1/nodeoverlay.go``
(``OrderByWeight``), ``nodeoverlay_validation.go`` (``validateCapacity``),
``pkg/controllers/nodeoverlay/controller.go`` (``Reconcile``, ``getOverlaidOfferings``,
conflicts), ``store.go`` (``updateInstanceTypeCapacity``, ``updateInstanceTypeOffering``),
``pkg/cloudprovider/types.go`` (``AdjustedPrice``, ``computeAllocatable``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from builders import (
    expr,
    make_instance_type,
    make_nodeclass,
    make_nodepool,
    make_spec,
    make_workload,
)
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.manifests import ManifestError
from eks_gpu.scheduling.instance_model import SimInstanceType, build_instance_types
from eks_gpu.scheduling.overlays import (
    Overlay,
    PoolContext,
    adjusted_price,
    apply,
    apply_overlays,
    order,
    parse_overlay,
    resolve,
)
from eks_gpu.scheduling.simulate import Inputs, simulate

GPU = "nvidia.com/gpu"
TYPE = "node.kubernetes.io/instance-type"
POOL = PoolContext("gpu")


def overlay(name: str = "o", **spec: Any) -> dict[str, Any]:
    """A NodeOverlay object (``karpenter.sh/v1alpha1``)."""
    return {
        "apiVersion": "karpenter.sh/v1alpha1",
        "kind": "NodeOverlay",
        "metadata": {"name": name},
        "spec": spec,
    }


def parsed(name: str = "o", **spec: Any) -> Overlay:
    return parse_overlay(overlay(name, **spec))


def gpu_type(name: str = "g.4x", gpus: int = 4, **kwargs: Any) -> SimInstanceType:
    return make_instance_type(name, labels={TYPE: name}, gpus=gpus, **kwargs)


def by_name(types: list[SimInstanceType]) -> dict[str, SimInstanceType]:
    return {t.name: t for t in types}


# --- parsing and order -----------------------------------------------------------------------


def test_parse_reads_every_field_weight_defaults_to_0_and_price_beats_adjustment() -> None:
    got = parsed(
        requirements=[expr(TYPE, "In", "g.4x")],
        capacity={GPU: "16"},
        price="2.5",
        priceAdjustment="+1",
    )
    assert (got.name, got.weight, dict(got.capacity), got.price) == ("o", 0, {GPU: 16}, "2.5")
    assert parsed(priceAdjustment="-10%", weight=7).price == "-10%"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"capacity": {GPU: "lots"}}, "spec.capacity.nvidia.com/gpu"),
        ({"price": "cheap"}, "spec.price/priceAdjustment"),
        ({"requirements": [{"key": TYPE}]}, "spec.requirements[0].operator"),
    ],
)
def test_bad_overlay_is_a_typed_error_naming_the_field(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(ManifestError, match=re.escape(f"NodeOverlay/o: {field}")):
        parse_overlay(overlay("o", **spec))


def test_order_is_weight_descending_then_name_descending() -> None:
    """``NodeOverlayList.OrderByWeight``: equal weights, the later name first."""
    names = [o.name for o in order([parsed("a"), parsed("c", weight=1), parsed("b")])]
    assert names == ["c", "b", "a"]


# --- capacity --------------------------------------------------------------------------------


def test_capacity_overrides_an_extended_resource_and_keeps_the_overhead() -> None:
    base = gpu_type()
    base = SimInstanceType(
        base.name,
        base.requirements,
        {**base.allocatable, "example.com/x": Decimal(1)},
        {**base.capacity, "example.com/x": Decimal(3)},  # 2 reserved
        base.offerings,
        base.exotic,
    )
    [got] = apply_overlays([base], [parsed(capacity={GPU: "16", "example.com/x": "5"})], POOL)
    assert got.capacity[GPU] == got.allocatable[GPU] == 16
    assert (got.capacity["example.com/x"], got.allocatable["example.com/x"]) == (5, 3)
    assert got.allocatable["cpu"] == base.allocatable["cpu"]


def test_capacity_may_not_touch_well_known_resources() -> None:
    """``validateCapacity``: cpu/memory/ephemeral-storage/pods fail runtime validation, and
    the whole overlay is ignored."""
    resolution = resolve([parsed(capacity={"memory": "1Ti", GPU: "8"})], [(POOL, [gpu_type()])])
    assert resolution.invalid == {"o": "capacity may not set memory"}
    assert resolution.updates == {}


def test_higher_weight_wins_a_resource_lower_weights_only_add_new_ones() -> None:
    overlays = [
        parsed("low", weight=1, capacity={GPU: "4", "example.com/y": "2"}),
        parsed("high", weight=10, capacity={GPU: "8"}),
    ]
    [got] = apply_overlays([gpu_type()], overlays, POOL)
    assert got.capacity[GPU] == 8
    assert got.capacity["example.com/y"] == 2


def test_same_weight_overlays_on_one_resource_conflict_and_the_later_is_dropped() -> None:
    """Order: "b" before "a" (name descending); "a" then conflicts and is dropped entirely,
    even for types "b" does not reach (``validateAndUpdateInstanceTypeOverrides``)."""
    overlays = [
        parsed("a", capacity={GPU: "4"}),
        parsed("b", capacity={GPU: "8"}, requirements=[expr(TYPE, "In", "g.4x")]),
    ]
    types = [gpu_type("g.4x"), gpu_type("g.8x", gpus=8)]
    resolution = resolve(overlays, [(POOL, types)])
    assert resolution.conflicting == ("a",)
    got = by_name(apply(types, resolution.updates["gpu"]))
    assert got["g.4x"].capacity[GPU] == 8
    assert got["g.8x"].capacity[GPU] == 8  # untouched: "a" was dropped


def test_a_conflict_in_one_pool_drops_the_overlay_in_every_pool() -> None:
    overlays = [
        parsed("a", capacity={GPU: "4"}),
        parsed("b", capacity={GPU: "8"}, requirements=[expr("karpenter.sh/nodepool", "In", "one")]),
    ]
    pools = [(PoolContext("one"), [gpu_type()]), (PoolContext("two"), [gpu_type()])]
    resolution = resolve(overlays, pools)
    assert resolution.conflicting == ("a",)
    assert "two" not in resolution.updates


def test_different_weights_or_resources_do_not_conflict() -> None:
    overlays = [parsed("a", capacity={GPU: "4"}), parsed("b", capacity={"example.com/z": "1"})]
    assert resolve(overlays, [(POOL, [gpu_type()])]).conflicting == ()


# --- which types and offerings an overlay reaches ------------------------------------------------


@pytest.mark.parametrize(
    ("requirements", "labels", "reached"),
    [
        ([expr(TYPE, "In", "g.4x")], {}, True),
        ([expr(TYPE, "In", "other")], {}, False),
        ([expr("karpenter.sh/nodepool", "In", "gpu")], {}, True),
        ([expr("karpenter.sh/nodepool", "In", "cpu")], {}, False),
        # the pool's template labels count as the type's
        ([expr("team", "In", "ml")], {"team": "ml"}, True),
        # a key neither the type nor the pool defines: Compatible refuses In ...
        ([expr("team", "In", "ml")], {}, False),
        # ... and accepts NotIn / DoesNotExist
        ([expr("team", "NotIn", "ml")], {}, True),
        ([expr("team", "DoesNotExist")], {}, True),
        # zone and capacity type select offerings; none left, no effect
        ([expr("topology.kubernetes.io/zone", "In", "us-east-1a")], {}, True),
        ([expr("topology.kubernetes.io/zone", "In", "us-east-1z")], {}, False),
        ([expr("karpenter.sh/capacity-type", "In", "spot")], {}, False),
    ],
)
def test_overlay_reaches_a_type_as_get_overlaid_offerings_does(
    requirements: list[dict[str, Any]], labels: dict[str, str], reached: bool
) -> None:
    context = PoolContext("gpu", labels)
    [got] = apply_overlays(
        [gpu_type()], [parsed(requirements=requirements, capacity={GPU: "16"})], context
    )
    assert (got.capacity[GPU] == 16) is reached


# --- price -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "change", "expected"),
    [(2.0, "5.5", 5.5), (2.0, "+0.5", 2.5), (2.0, "-0.5", 1.5), (2.0, "-10%", 1.8),
     (2.0, "+50%", 3.0), (2.0, "-3", 0.0), (2.0, "-150%", 0.0)],
)  # fmt: skip
def test_adjusted_price(price: float, change: str, expected: float) -> None:
    assert adjusted_price(price, change) == pytest.approx(expected)


def test_price_applies_to_the_offerings_it_selects_and_reorders_them() -> None:
    base = gpu_type(zones=("us-east-1a", "us-east-1b"), price=2.0)
    rules = [
        parsed(price="0.5", requirements=[expr("topology.kubernetes.io/zone", "In", "us-east-1b")])
    ]
    [got] = apply_overlays([base], rules, POOL)
    assert [(o.zone, o.price) for o in got.offerings] == [("us-east-1b", 0.5), ("us-east-1a", 2.0)]
    assert got.rank == 0.5


def test_first_price_overlay_wins_and_same_weight_prices_conflict() -> None:
    types = [gpu_type(price=2.0)]
    winner = apply_overlays(types, [parsed("a", price="1"), parsed("b", weight=5, price="3")], POOL)
    assert winner[0].offerings[0].price == 3.0
    resolution = resolve([parsed("a", price="1"), parsed("b", price="3")], [(POOL, types)])
    assert resolution.conflicting == ("a",)


# --- the catalog and simulate ----------------------------------------------------------------

BOOK = PriceBook(
    "us-east-1", "bundled", "2026-01-01", on_demand={"g6f.xlarge": 0.5, "g5.12xlarge": 5.672}
)


def test_a_fractional_g6f_gets_its_gpu_from_an_overlay() -> None:
    """EC2 reports g6f's GPU as Count 0: no nvidia.com/gpu until a NodeOverlay adds it."""
    g6f = by_name(build_instance_types(BOOK))["g6f.xlarge"]
    assert GPU not in g6f.capacity and not g6f.exotic
    [got] = apply_overlays(
        [g6f], [parsed(requirements=[expr(TYPE, "In", "g6f.xlarge")], capacity={GPU: "1"})], POOL
    )
    assert got.allocatable[GPU] == 1 and got.exotic


def _time_sliced(overlays: list[dict[str, Any]]) -> dict[str, Any]:
    pool = make_nodepool(requirements=[expr(TYPE, "In", "g5.12xlarge")])
    pods = make_workload("Deployment", "infer", replicas=16, pod=make_spec(gpus=1, cpu="100m"))
    inputs = Inputs(
        nodepools=[pool],
        nodeclasses=[make_nodeclass()],
        workloads=[pods],
        prices=BOOK,
        zones=("us-east-1a",),
        nodeoverlays=overlays,
    )
    return simulate(inputs).document


def test_simulate_applies_a_time_slicing_overlay() -> None:
    """4 GPUs x 4 replicas: Karpenter sees 16 nvidia.com/gpu, so 16 pods fit one node."""
    plain = _time_sliced([])
    assert len(plain["nodeclaims"]) == 4
    shared = overlay(
        "time-slicing-4gpu",
        requirements=[expr("karpenter.k8s.aws/instance-gpu-count", "In", "4")],
        capacity={GPU: "16"},
    )
    sliced = _time_sliced([shared])
    assert len(sliced["nodeclaims"]) == 1
    assert any(
        "NodeOverlay time-slicing-4gpu applied" in line and "NodeOverlay=true" in line
        for line in sliced["assumptions"]
    )


def test_simulate_reports_an_ignored_overlay() -> None:
    bad = overlay("bad", capacity={"pods": "500"})
    document = _time_sliced([bad])
    assert len(document["nodeclaims"]) == 4
    assert any(
        "NodeOverlay bad ignored: capacity may not set pods" in line
        for line in document["assumptions"]
    )
