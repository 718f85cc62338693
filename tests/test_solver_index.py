"""The claim index gives the same plans as trying every open NodeClaim (the issue's Scale
target: "the same answers as the quadratic version on the benchmark's workloads").

Two oracles (tests/solver_oracle.py, tests/solver_v0.py): the solver with its old
quadratic claim scan, on seeded random workloads with limits, weights, taints, selectors and
minValues; and the solver as it was before this change, verbatim, on the benchmark's GPU
mix (no limits, where nothing else changed).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from eks_gpu.loaders.price_cache import load_price_book
from eks_gpu.scheduling.solver import Solver
from solver_oracle import QuadraticSolver, plan_key
from solver_v0 import Solver as SolverV0
from solver_workloads import random_case

ROOT = Path(__file__).resolve().parents[1]
SEEDS = range(40)


def _benchmark() -> ModuleType:
    """benchmarks/scheduling.py, whose workloads the Scale target names."""
    spec = importlib.util.spec_from_file_location(
        "bench_scheduling", ROOT / "benchmarks" / "scheduling.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _key(plan: Any) -> tuple[Any, ...]:
    """A plan as comparable data (works for both solvers' plans)."""
    claims = []
    for claim in plan.claims:
        chosen, offering = claim.launch()
        claims.append((claim.pool.name, chosen.name, offering, tuple(p.ref for p in claim.pods)))
    failed = tuple(sorted((ref, tuple(reasons)) for ref, reasons in plan.unschedulable.items()))
    return tuple(claims), failed


@functools.cache
def _case(seed: int) -> tuple[Any, list[Any]]:
    """One seeded case and its pools, built once: the solvers read pools, never change them."""
    case = random_case(seed)
    return case, case.pools(load_price_book())


@functools.cache
def _fast_plan(seed: int) -> Any:
    """The indexed solver's plan for one seeded case, shared by the tests below."""
    case, pools = _case(seed)
    return Solver(pools).solve(case.pods)


@pytest.mark.parametrize("seed", SEEDS)
def test_index_matches_the_quadratic_scan_on_random_workloads(seed: int) -> None:
    case, pools = _case(seed)
    slow = QuadraticSolver(pools).solve(case.pods)
    assert plan_key(_fast_plan(seed)) == plan_key(slow)


def test_random_workloads_exercise_rounds_limits_and_min_values() -> None:
    """The seeds above are not all easy: some need several passes, some hit limits."""
    rounds, refused = 0, 0
    for seed in SEEDS:
        plan = _fast_plan(seed)
        rounds += plan.rounds > 1
        codes = {r.code for reasons in plan.unschedulable.values() for r in reasons}
        refused += "nodepool-limit-exceeded" in codes
    assert rounds >= 3 and refused >= 3


# 300 pods here; `python benchmarks/scheduling.py --check 1000,2000` compares larger mixes
@pytest.mark.parametrize("size", [300])
def test_index_matches_the_solver_before_it_on_the_benchmark_mix(size: int) -> None:
    bench = _benchmark()
    pods = bench.gpu_pods(size)
    fast = Solver(bench.guide_pools()).solve(pods)
    before = SolverV0(bench.guide_pools()).solve(pods)
    assert _key(fast) == _key(before)
    assert len(fast.claims) > size // 4 and not fast.unschedulable
