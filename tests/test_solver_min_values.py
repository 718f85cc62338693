"""NodePool ``minValues`` in the solver (issue 10, finding 6).

Upstream: sigs.k8s.io/karpenter v1.14.1 ``cloudprovider/types.go``
``InstanceTypes.SatisfiesMinValues``, ``provisioning/scheduling/nodeclaim.go``
``filterInstanceTypesByRequirements`` (Strict refuses, BestEffort relaxes),
``pkg/operator/options/options.go`` (``--min-values-policy``, default Strict); and
aws/karpenter-provider-aws v1.14.1 ``pkg/providers/instance/instance.go``
``filterInstanceTypes`` (the launch request is cut to the 60 cheapest types,
``maxInstanceTypes``, and must still meet minValues) with ``filter.go``
``ExoticInstanceTypeFilter`` (skipped when any requirement has minValues).

The instance types are made by hand so prices and families say exactly what is tested.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from eks_gpu.scheduling.instance_model import Offering, SimInstanceType
from eks_gpu.scheduling.min_values import MAX_LAUNCH_TYPES, shortfalls
from eks_gpu.scheduling.pools import PoolModel, build_pool
from eks_gpu.scheduling.reasons import REASON_CODES
from eks_gpu.scheduling.requirement import Requirement
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.solver import Plan, Solver
from eks_gpu.scheduling.workloads import SimPod

FAMILY = "karpenter.k8s.aws/instance-family"
GIB = Decimal(1024**3)
SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "schemas" / "Simulation.v1.json"


def fake_type(name: str, family: str, price: float, *, gpus: int = 0) -> SimInstanceType:
    requirements = Requirements(
        [
            Requirement.create("node.kubernetes.io/instance-type", "In", [name]),
            Requirement.create(FAMILY, "In", [family]),
            Requirement.create("kubernetes.io/arch", "In", ["amd64"]),
            Requirement.create("kubernetes.io/os", "In", ["linux"]),
        ]
    )
    allocatable = {"cpu": Decimal(4), "memory": 16 * GIB, "pods": Decimal(50)}
    capacity = {"cpu": Decimal(4), "memory": 16 * GIB}
    if gpus:
        allocatable["nvidia.com/gpu"] = capacity["nvidia.com/gpu"] = Decimal(gpus)
    offering = Offering("zone-a", "on-demand", price, price)
    return SimInstanceType(name, requirements, allocatable, capacity, (offering,), gpus > 0)


def pool(types: list[SimInstanceType], families: list[str], min_values: int | None) -> PoolModel:
    requirement: dict[str, Any] = {"key": FAMILY, "operator": "In", "values": families}
    if min_values:
        requirement["minValues"] = min_values
    nodepool = {
        "metadata": {"name": "p"},
        "spec": {
            "template": {"spec": {"requirements": [requirement], "nodeClassRef": {"name": "x"}}}
        },
    }
    return build_pool(nodepool, {}, lambda _kubelet, _raid0: types)


def pod(name: str = "p", selector: dict[str, str] | None = None) -> SimPod:
    spec: dict[str, Any] = {
        "containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "1"}}}]
    }
    if selector:
        spec["nodeSelector"] = selector
    return SimPod.from_spec("default", name, spec)


def solve(pools: list[PoolModel], pods: list[SimPod], **kwargs: Any) -> Plan:
    return Solver(pools, **kwargs).solve(pods)


def test_shortfalls_counts_distinct_values_as_satisfies_min_values() -> None:
    """types.go's example: three types over families c4, c5 miss minValues 3 on family."""
    types = [
        fake_type("c4.large", "c4", 1),
        fake_type("c4.xlarge", "c4", 2),
        fake_type("c5.2xlarge", "c5", 3),
    ]
    assert shortfalls(types, ((FAMILY, 3),)) == {FAMILY: 2}
    assert shortfalls(types, ((FAMILY, 2),)) == {}


def test_a_pod_that_narrows_the_pool_below_min_values_is_refused() -> None:
    types = [fake_type("a.large", "a", 1), fake_type("b.large", "b", 2)]
    plan = solve([pool(types, ["a", "b"], 2)], [pod(selector={FAMILY: "a"})])
    assert plan.claims == []
    (reason,) = plan.unschedulable["default/p"]
    assert reason.code == "min-values-unsatisfied"
    assert f"{FAMILY} has 1 distinct value(s), minValues is 2" in reason.message


def test_best_effort_policy_relaxes_min_values() -> None:
    types = [fake_type("a.large", "a", 1), fake_type("b.large", "b", 2)]
    plan = solve(
        [pool(types, ["a", "b"], 2)], [pod(selector={FAMILY: "a"})], min_values_policy="BestEffort"
    )
    assert [c.launch()[0].name for c in plan.claims] == ["a.large"]


def test_an_open_nodeclaim_refuses_a_pod_that_would_break_its_min_values() -> None:
    """``CanAdd`` on a planned NodeClaim runs the same filter: in pass 1 the second pod
    would leave the first NodeClaim with family a only, so it is refused; in pass 2 the
    launched node (an a.large, an existing node to the scheduler, no minValues there)
    takes it."""
    types = [fake_type("a.large", "a", 1), fake_type("b.large", "b", 2)]
    pods = [pod("p1"), pod("p2", {FAMILY: "a"})]
    first = solve([pool(types, ["a", "b"], 2)], pods, max_rounds=1)
    assert [[p.name for p in c.pods] for c in first.claims] == [["p1"]]
    assert first.unschedulable["default/p2"][0].code == "min-values-unsatisfied"
    settled = solve([pool(types, ["a", "b"], 2)], pods)
    assert [[p.name for p in c.pods] for c in settled.claims] == [["p1", "p2"]]
    assert settled.unschedulable == {} and settled.claims[0].round == 1


def test_min_values_skips_the_exotic_filter() -> None:
    """Without minValues a GPU type launches only when nothing else fits; with minValues
    the cheapest candidate launches, GPU or not."""
    types = [fake_type("gpu.large", "gpu", 1, gpus=1), fake_type("cpu.large", "cpu", 2)]
    plain = solve([pool(types, ["gpu", "cpu"], None)], [pod()])
    flexible = solve([pool(types, ["gpu", "cpu"], 2)], [pod()])
    assert plain.claims[0].launch()[0].name == "cpu.large"
    assert flexible.claims[0].launch()[0].name == "gpu.large"


def test_the_60_cheapest_types_sent_to_launch_must_meet_min_values() -> None:
    """61 family-a types are cheaper than the one family-b type: scheduling sees two
    families, the launch request (the 60 cheapest) one, and the launch fails."""
    types = [fake_type(f"a.{i}", "a", 1 + i / 100) for i in range(MAX_LAUNCH_TYPES + 1)]
    types.append(fake_type("b.large", "b", 5))
    plan = solve([pool(types, ["a", "b"], 2)], [pod()])
    assert plan.claims == []
    (reason,) = plan.unschedulable["default/p"]
    assert reason.code == "min-values-unsatisfied"
    assert "60 cheapest types sent to launch" in reason.message
    fewer = solve([pool(types[MAX_LAUNCH_TYPES - 58 :], ["a", "b"], 2)], [pod()])
    assert len(fewer.claims) == 1 and not fewer.unschedulable


def test_the_schema_lists_every_reason_code() -> None:
    """``min-values-unsatisfied`` (and every other code) is in the simulate JSON contract."""
    schema = json.loads(SCHEMA.read_text())
    reason = schema["$defs"]["unschedulable"]["properties"]["reasons"]["items"]
    assert set(reason["properties"]["code"]["enum"]) == set(REASON_CODES)
