"""The agreement benchmark's parts that need no cluster: the generator, the isolation of
workloads run at once, the race detector, the price book and Karpenter's instance-types file.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from eks_gpu.scheduling.resources import parse_quantity
from eks_gpu.scheduling.simulate import Inputs, build_pools

from . import agreement
from .agreement import GPU, NODEPOOL, POOL_LABEL, Pod, Pool, Workload
from .karpenter import KWOK_OVERHEAD, ZONES, gpu_instance_types, gpu_type_names, price_book
from .workloads import generate


def test_generation_is_seeded() -> None:
    assert generate(10, 30) == generate(10, 30)
    assert generate(10, 30) != generate(11, 30)
    assert [w.name for w in generate(10, 3)] == ["gen-10-000", "gen-10-001", "gen-10-002"]


def test_generated_workloads_cover_every_listed_case() -> None:
    workloads = generate(10, 200)
    pools = [p for w in workloads for p in w.pools]
    pods = [p for w in workloads for p in w.pods]
    overlays = [o for w in workloads for o in w.overlays]
    ties = [w for w in workloads if len(w.pools) > 1 and len({p.weight for p in w.pools}) == 1]
    assert len(ties) >= 10
    assert sum(len(w.pools) > 1 for w in workloads) >= 50
    assert sum(sum(p.count for p in w.pods) > 1 for w in workloads) >= 100
    assert sum(p.gpu_limit is not None for p in pools) >= 20
    assert sum(p.tainted for p in pools) >= 10 and sum(p.tolerates_taint for p in pods) >= 5
    assert {p.capacity_types for p in pools} >= {(), ("spot",), ("on-demand",)}
    assert sum(bool(p.families) for p in pools) >= 30
    assert sum(p.ephemeral is not None for p in pods) >= 30
    assert sum(not p.tolerates and p.gpus > 0 for p in pods) >= 30
    keys = {k for p in pods for k, _ in p.selector} | {k for p in pods for k, _, _ in p.affinity}
    assert {agreement.GPU_NAME, agreement.FAMILY} <= keys
    assert {"karpenter.k8s.aws/instance-gpu-count", "karpenter.k8s.aws/instance-size"} <= keys
    assert {op for p in pods for _, op, _ in p.affinity} >= {"Gt", "Lt", "In", "NotIn"}
    assert any(o.widgets for o in overlays) and any(not o.widgets for o in overlays)
    assert sum(p.widgets for p in pods) >= 3


def test_pod_shapes_of_a_workload_differ_in_cpu() -> None:
    """Karpenter orders equal CPU and memory by UID (queue.go byCPUAndMemoryDescending)."""
    for workload in generate(10, 200):
        cpus = [p.cpu for p in workload.pods]
        assert len(cpus) == len(set(cpus)), workload


def test_workloads_run_at_once_share_nothing() -> None:
    objects = agreement.rendered()
    first, second = generate(10, 200)[:2]
    seen: dict[str, set[str]] = {}
    for tag, workload in (("w-000", first), ("w-001", second)):
        pools = agreement.nodepools(objects, tag, workload, kwok=True)
        pods = agreement.pods(objects, tag, workload, "b")
        overlays = agreement.nodeoverlays(tag, workload)
        assert {p["spec"]["template"]["metadata"]["labels"][POOL_LABEL] for p in pools} == {tag}
        assert {p["spec"]["nodeSelector"][POOL_LABEL] for p in pods} == {tag}
        names = {p["metadata"]["name"] for p in pools}
        for overlay in overlays:
            scope = overlay["spec"]["requirements"][0]
            assert (scope["key"], scope["operator"]) == (NODEPOOL, "In")
            assert set(scope["values"]) == names
        seen[tag] = names | {o["metadata"]["name"] for o in (*pods, *overlays)}
    assert not seen["w-000"] & seen["w-001"]


def _claim(name: str, node: str, gpus: int, cpu: str) -> dict[str, object]:
    requests = {"cpu": cpu, "memory": "128Mi", GPU: str(gpus), "pods": "1"}
    return {
        "metadata": {"name": name},
        "spec": {"resources": {"requests": requests}},
        "status": {"nodeName": node},
    }


def _bound(node: str, gpus: int, cpu: str) -> dict[str, object]:
    resources = {"requests": {"cpu": cpu, "memory": "128Mi"}, "limits": {GPU: str(gpus)}}
    return {"spec": {"nodeName": node, "containers": [{"resources": resources}]}}


def test_a_race_is_a_node_running_other_pods_than_planned() -> None:
    claims = [_claim("big", "n1", 4, "1"), _claim("small", "n2", 1, "2")]
    as_planned = [_bound("n1", 4, "1"), _bound("n2", 1, "2")]
    assert agreement.races(claims, as_planned) == ()
    swapped = [_bound("n1", 1, "2"), _bound("n2", 4, "1")]  # kube-scheduler's own choice
    assert agreement.races(claims, swapped) == ("big", "small")
    assert agreement.races(claims, [_bound("n1", 4, "1")]) == ("small",)  # its pod went away


def test_pending_pods_are_named_by_shape() -> None:
    workload = Workload("w", (Pod(count=2), Pod(gpus=4, cpu="2")), (Pool(),))
    assert workload.shapes() == ["s0", "s0", "s1"]
    assert workload.pending(["t-2", "t-0"], "t") == ("s0", "s1")


def test_price_book_has_spot_below_on_demand_for_every_gpu_type() -> None:
    book = price_book()
    assert book == price_book()
    assert set(book.on_demand) == set(book.spot) == set(gpu_type_names())
    for name, zones in book.spot.items():
        assert set(zones) == set(ZONES)
        assert all(0.25 * book.on_demand[name] <= p < book.on_demand[name] for p in zones.values())


def test_karpenter_gets_our_allocatable_plus_kwok_overhead() -> None:
    """kwok subtracts 100m and 10Mi (helpers.go newInstanceType KubeReserved): what is left
    is exactly the allocatable simulate uses for the rendered EC2NodeClass."""
    objects = agreement.rendered()
    nodeclass = next(o for o in objects if o["kind"] == "EC2NodeClass")
    book = price_book()
    types = {t["name"]: t for t in gpu_instance_types(book, nodeclass)}
    assert set(types) == set(gpu_type_names())
    pool = agreement.nodepools(objects, "w", Workload("w", (Pod(),)), kwok=False)[0]
    inputs = Inputs([pool], [nodeclass], [], book, ZONES)
    for sim in build_pools(inputs, [])[0].types:
        resources = types[sim.name]["resources"]
        for key in ("cpu", "memory", "ephemeral-storage", GPU):
            left = parse_quantity(resources[key]) - KWOK_OVERHEAD.get(key, Decimal(0))
            assert abs(left - sim.allocatable[key]) < Decimal("0.001"), (sim.name, key)
        offerings = types[sim.name]["offerings"]
        assert len(offerings) == 2 * len(ZONES)


def test_an_on_demand_pool_ranks_types_by_on_demand_price() -> None:
    """Karpenter prices a type by the cheapest offering the NodeClaim allows
    (cloudprovider/types.go OrderByPrice: ``reqs.IsCompatible(of.Requirements, ...)``; the
    kwok provider launches the cheapest Compatible offering, cloudprovider.go ``toNode``):
    a type's cheap spot offering must not win an on-demand-only pool. Found by the benchmark
    (g4dn.4xlarge against g5.4xlarge)."""
    names = ("g4dn.4xlarge", "g5.4xlarge")
    book = dataclasses.replace(
        price_book(),
        on_demand={"g4dn.4xlarge": 1.2, "g5.4xlarge": 1.6},
        spot={"g4dn.4xlarge": dict.fromkeys(ZONES, 0.9), "g5.4xlarge": dict.fromkeys(ZONES, 0.2)},
        zones=dict.fromkeys(names, ZONES),
    )
    pod = Pod(affinity=(("node.kubernetes.io/instance-type", "In", names),))
    objects = agreement.rendered()
    on_demand = Workload("od", (pod,), (Pool(capacity_types=("on-demand",)),))
    either = Workload("both", (pod,), (Pool(),))
    assert agreement.simulate(objects, "w", on_demand, book, ZONES).launched == (
        "a/g4dn.4xlarge/on-demand",
    )
    assert agreement.simulate(objects, "w", either, book, ZONES).launched == ("a/g5.4xlarge/spot",)
