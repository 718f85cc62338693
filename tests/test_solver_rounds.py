"""NodePool limits pass by pass (issue 10, finding 5).

Karpenter (sigs.k8s.io/karpenter v1.14.1, pkg/controllers/provisioning/scheduling/
scheduler.go): ``addToNewNodeClaim`` drops the instance types larger than what is left of
the limits (``filterByRemainingResources``, "all available instance types exceed limits for
nodepool") and charges a new NodeClaim the largest capacity among its candidates
(``subtractMax``); the next pass starts from the limits minus the capacity of the launched
nodes (``updateRemainingResources``). With 8-GPU types and a 16-GPU limit the first pass
opens at most two NodeClaims (aws/karpenter-provider-aws#8068).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from builders import make_pod
from eks_gpu.cli.simulation_text import simulation_text
from eks_gpu.commands.simulate import SimulationResult
from eks_gpu.config.parse import config_from_data
from eks_gpu.loaders.price_cache import load_price_book
from eks_gpu.render.bundle import render_all
from eks_gpu.scheduling.simulate import Inputs, Simulation, simulate

Obj = dict[str, Any]
GPU_NAME = "karpenter.k8s.aws/instance-gpu-name"
SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "schemas" / "Simulation.v1.json"


@pytest.fixture(autouse=True)
def no_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))


def run(pods: list[Obj], gpu_limit: str) -> Obj:
    """``simulate`` on the guide's pool (on-demand) with ``limits.nvidia.com/gpu``."""
    config = {
        "nodePools": [{"capacityTypes": ["on-demand"], "limits": {"nvidia.com/gpu": gpu_limit}}]
    }
    objects = [item.obj for item in render_all(config_from_data(config), "demo")]
    inputs = Inputs(
        nodepools=[o for o in objects if o["kind"] == "NodePool"],
        nodeclasses=[o for o in objects if o["kind"] == "EC2NodeClass"],
        workloads=[*pods, *(o for o in objects if o["kind"] == "DaemonSet")],
        prices=load_price_book(),
    )
    return simulate(inputs).document


def gpu_pod(name: str, gpu: str) -> Obj:
    """One GPU of a named model: pods of different models cannot share a node."""
    return make_pod(name, gpus=1, node_selector={GPU_NAME: gpu})


def rounds(document: Obj) -> list[tuple[str, int, str | None, list[str]]]:
    return [
        (c["instance_type"], c["round"], c["held_by"], c["pods"]) for c in document["nodeclaims"]
    ]


def test_largest_candidate_is_charged_so_the_third_nodeclaim_waits_a_pass() -> None:
    """#8068: each 1-GPU NodeClaim may still become an 8-GPU type, so two use up 16 GPUs in
    pass 1; once they launch as 1-GPU types, pass 2 opens the third."""
    document = run([gpu_pod("a", "a10g"), gpu_pod("b", "l4"), gpu_pod("c", "t4")], "16")
    assert document["unschedulable"] == []
    assert rounds(document) == [
        ("g5.xlarge", 1, None, ["default/a"]),
        ("g6.xlarge", 1, None, ["default/b"]),
        ("g4dn.xlarge", 2, "limits.nvidia.com/gpu", ["default/c"]),
    ]


def test_types_over_the_remaining_limit_are_dropped_which_changes_the_plan() -> None:
    """With 9 GPUs, the first NodeClaim is charged 8; the second may only use 1-GPU types
    (``filterByRemainingResources``), so the third pod cannot join it and waits for pass 2,
    getting a node of its own where one charge-the-cheapest pass would share a g6.12xlarge."""
    document = run([gpu_pod("a", "a10g"), gpu_pod("b1", "l4"), gpu_pod("b2", "l4")], "9")
    assert document["unschedulable"] == []
    assert rounds(document) == [
        ("g5.xlarge", 1, None, ["default/a"]),
        ("g6.xlarge", 1, None, ["default/b1"]),
        ("g6.xlarge", 2, "limits.nvidia.com/gpu", ["default/b2"]),
    ]


def test_a_pod_no_pass_can_place_is_nodepool_limit_exceeded() -> None:
    document = run([gpu_pod("a", "a10g"), make_pod("big", gpus=8)], "8")
    assert rounds(document) == [("g5.xlarge", 1, None, ["default/a"])]
    (entry,) = document["unschedulable"]
    assert entry["pod"] == "default/big"
    (reason,) = entry["reasons"]
    assert reason["code"] == "nodepool-limit-exceeded"
    assert reason["message"].startswith("limits.nvidia.com/gpu is 8; 7 left")
    assert "exceed limits for nodepool" in reason["message"]


def test_pods_of_launched_nodeclaims_are_placed_on_them_in_the_next_pass() -> None:
    """In pass 2 the launched NodeClaims are in-flight nodes (``NewExistingNode``) and take
    their pods back before any new NodeClaim opens."""
    pods = [gpu_pod("a", "a10g"), gpu_pod("a2", "a10g"), gpu_pod("b", "l4"), gpu_pod("c", "t4")]
    document = run(pods, "16")
    assert rounds(document) == [
        ("g5.12xlarge", 1, None, ["default/a", "default/a2"]),
        ("g6.xlarge", 1, None, ["default/b"]),
        ("g4dn.xlarge", 2, "limits.nvidia.com/gpu", ["default/c"]),
    ]


def test_rounds_pass_the_schema_and_show_in_text() -> None:
    document = run([gpu_pod("a", "a10g"), gpu_pod("b", "l4"), gpu_pod("c", "t4")], "16")
    full = {"apiVersion": "eks-gpu.io/v1", "kind": "Simulation", **document}
    jsonschema.validate(full, json.loads(SCHEMA.read_text()))
    text = simulation_text(SimulationResult(Simulation(document, [])))
    assert text.splitlines()[0].split()[:2] == ["ROUND", "NODEPOOL"]
    assert "2 (limits.nvidia.com/gpu)" in text
    assert "later Karpenter provisioning pass" in text


def test_single_pass_text_has_no_round_column() -> None:
    document = run([gpu_pod("a", "a10g")], "16")
    text = simulation_text(SimulationResult(Simulation(document, [])))
    assert text.splitlines()[0].split()[0] == "NODEPOOL"
