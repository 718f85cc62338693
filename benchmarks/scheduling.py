#!/usr/bin/env python3
"""Scheduling throughput, in the shape of Karpenter's scheduling benchmark.

Karpenter (kubernetes-sigs/karpenter pkg/controllers/provisioning/scheduling/
scheduling_benchmark_test.go) times Solve() with one NodePool and 400 fake instance types,
type i having i+1 vCPU, 2(i+1) GiB and 10(i+1) pods, and pods with random requests (seed 42):
CPU in {100, 250, 500, 1000, 1500}m, memory in {100, 256, 512, 1024, 2048, 4096}Mi. We
rebuild that shape for generic pods (no topology, which we do not simulate), plus a GPU mix
on the real catalog with the guide's NodePool. Only ``Solver.solve`` is timed.

Usage: python benchmarks/scheduling.py [--sizes 100,1000,10000]
       [--gpu-sizes 1000,2000,5000,10000,20000] [--runs 3] [--check 1000,2000]

``--check`` first compares the plans with the quadratic oracles (tests/solver_oracle.py,
tests/solver_v0.py) at the given GPU-mix sizes and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.loaders.price_cache import load_price_book
from eks_gpu.render.bundle import render_all
from eks_gpu.scheduling.instance_model import Offering, SimInstanceType
from eks_gpu.scheduling.pools import PoolModel, build_pool
from eks_gpu.scheduling.requirements import Requirement, Requirements
from eks_gpu.scheduling.simulate import Inputs, build_pools
from eks_gpu.scheduling.solver import Solver
from eks_gpu.scheduling.workloads import SimPod, expand_workloads

GIB = Decimal(1024**3)
CPUS = ("100m", "250m", "500m", "1000m", "1500m")
MEMORIES = ("100Mi", "256Mi", "512Mi", "1024Mi", "2048Mi", "4096Mi")


def fake_types(count: int = 400) -> list[SimInstanceType]:
    """Karpenter's ``fake.InstanceTypes(400)`` shape: type i has i+1 vCPU, 2(i+1) GiB."""
    out = []
    for i in range(count):
        name = f"fake-it-{i}"
        offering = Offering("test-zone-a", "on-demand", 0.1 * (i + 1), 0.1 * (i + 1))
        requirements = Requirements(
            [
                Requirement.create("node.kubernetes.io/instance-type", "In", [name]),
                Requirement.create("kubernetes.io/arch", "In", ["amd64"]),
                Requirement.create("kubernetes.io/os", "In", ["linux"]),
                Requirement.create("topology.kubernetes.io/zone", "In", ["test-zone-a"]),
                Requirement.create("karpenter.sh/capacity-type", "In", ["on-demand"]),
            ]
        )
        allocatable = {
            "cpu": Decimal(i + 1),
            "memory": 2 * (i + 1) * GIB,
            "pods": Decimal(10 * (i + 1)),
        }
        capacity = {"cpu": allocatable["cpu"], "memory": allocatable["memory"]}
        out.append(SimInstanceType(name, requirements, allocatable, capacity, (offering,), False))
    return out


def fake_pool() -> PoolModel:
    nodepool = {
        "metadata": {"name": "default"},
        "spec": {
            "template": {"spec": {"requirements": [], "nodeClassRef": {"name": "x"}}},
            "limits": {"cpu": "10000000", "memory": "10000000Gi"},
        },
    }
    types = fake_types()
    return build_pool(nodepool, {}, lambda _kubelet, _raid0: types)


def generic_pods(count: int, seed: int = 42) -> list[SimPod]:
    rng = random.Random(seed)
    return [
        SimPod.from_spec(
            "default",
            f"pod-{i}",
            {
                "containers": [
                    {
                        "name": "c",
                        "image": "x",
                        "resources": {
                            "requests": {"cpu": rng.choice(CPUS), "memory": rng.choice(MEMORIES)}
                        },
                    }
                ]
            },
        )
        for i in range(count)
    ]


def gpu_pods(count: int, seed: int = 42) -> list[SimPod]:
    """1, 2, 4 or 8 GPUs per pod, tolerating the guide's taint."""
    rng = random.Random(seed)
    toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    pods = []
    for i in range(count):
        gpus = rng.choice((1, 1, 1, 2, 4, 8))
        spec = {
            "tolerations": [toleration],
            "containers": [
                {
                    "name": "c",
                    "image": "x",
                    "resources": {
                        "requests": {"cpu": rng.choice(CPUS), "memory": rng.choice(MEMORIES)},
                        "limits": {"nvidia.com/gpu": str(gpus)},
                    },
                }
            ],
        }
        pods.append(SimPod.from_spec("ml", f"gpu-{i}", spec))
    return pods


def guide_pools() -> list[PoolModel]:
    config = GpuConfig.model_validate({"nodePools": [{"limits": {}}]})
    objects = [item.obj for item in render_all(config, "bench")]
    inputs = Inputs(
        nodepools=[o for o in objects if o["kind"] == "NodePool"],
        nodeclasses=[o for o in objects if o["kind"] == "EC2NodeClass"],
        workloads=[],
        prices=load_price_book(),
    )
    _, daemonsets, _ = expand_workloads([o for o in objects if o["kind"] == "DaemonSet"])
    return build_pools(inputs, daemonsets)


def measure(
    make_pools: object, pods: list[SimPod], runs: int, solver: type = Solver
) -> tuple[float, float, int, int]:
    """(median wall seconds, median CPU seconds, NodeClaims, unschedulable) over ``runs``
    fresh solves. CPU time is what the ratios use: on a shared machine the wall clock also
    counts the time other processes hold the cores."""
    walls, cpus, claims, failed = [], [], 0, 0
    for _ in range(runs):
        pools = make_pools()  # type: ignore[operator]
        start, cpu = time.perf_counter(), time.process_time()
        plan = solver(pools).solve(pods)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        claims, failed = len(plan.claims), len(plan.unschedulable)
    return statistics.median(walls), statistics.median(cpus), claims, failed


def _row(
    label: str, size: int, wall: float, cpu: float, counts: tuple[int, int], growth: str
) -> str:
    claims, failed = counts
    return (f"{label:34} {size:6} {wall:8.3f} {cpu:8.3f} {size / wall:8.0f} {size / cpu:8.0f} "
            f"{claims:6} {failed:6} {growth:>9}")  # fmt: skip


def per_doubling(previous: tuple[int, float] | None, size: int, seconds: float) -> str:
    """How much the time grew per doubling of pods since the previous size:
    ``(t2 / t1) ** (1 / log2(n2 / n1))`` (2.0 is linear, 4.0 quadratic)."""
    if previous is None:
        return "-"
    size0, seconds0 = previous
    return f"{(seconds / seconds0) ** (1 / math.log2(size / size0)):.2f}x"


def check(sizes: list[int]) -> None:
    """The same plans as the solver before the claim index (tests/solver_v0.py, quadratic:
    minutes at 5,000 pods and more) and as the indexed solver's quadratic scan."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from solver_oracle import QuadraticSolver, plan_key
    from solver_v0 import Solver as SolverV0

    for size in sizes:
        pods = gpu_pods(size)
        fast = Solver(guide_pools()).solve(pods)
        slow = QuadraticSolver(guide_pools()).solve(pods)
        before = SolverV0(guide_pools()).solve(pods)
        same_scan = plan_key(fast) == plan_key(slow)
        same_v0 = [(c.pool.name, c.launch(), [p.ref for p in c.pods]) for c in fast.claims] == [
            (c.pool.name, c.launch(), [p.ref for p in c.pods]) for c in before.claims
        ] and fast.unschedulable == before.unschedulable
        print(f"check {size} GPU-mix pods: same as quadratic scan {same_scan}, "
              f"same as the solver before the index {same_v0}")  # fmt: skip
        if not (same_scan and same_v0):
            raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--gpu-sizes", default="1000,2000,5000,10000,20000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--check", default="", help="GPU-mix sizes to compare with the oracles")
    parser.add_argument(
        "--baseline", default="", help="GPU-mix sizes to time the solver before the index at"
    )
    args = parser.parse_args()
    if args.check:
        check([int(s) for s in args.check.split(",")])
    print(f"{'scenario':34} {'pods':>6} {'wall s':>8} {'cpu s':>8} {'/s wall':>8} {'/s cpu':>8} "
          f"{'claims':>6} {'failed':>6} {'/doubling':>9}")  # fmt: skip
    scenarios = [
        ("generic, 400 fake types", args.sizes, lambda: [fake_pool()], generic_pods),
        ("GPU mix, guide pool, real catalog", args.gpu_sizes, guide_pools, gpu_pods),
    ]
    if args.baseline:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from solver_v0 import Solver as SolverV0

        scenarios.append(("GPU mix, solver before the index", args.baseline, guide_pools, gpu_pods))
    for label, sizes, make_pools, make_pods in scenarios:
        previous = None
        kind = SolverV0 if "before" in label else Solver
        for size in (int(s) for s in sizes.split(",") if s):
            wall, cpu, claims, failed = measure(make_pools, make_pods(size), args.runs, kind)
            growth = per_doubling(previous, size, cpu)
            print(_row(label, size, wall, cpu, (claims, failed), growth))
            previous = (size, cpu)


if __name__ == "__main__":
    main()
