"""``delete``: which pods a NodePool's deletion drains, what is ours, refusal without --yes.

Deleting against the real API server (only ours, --yes, dry runs) is tested in
tests/controlplane/test_apply.py.
"""

from __future__ import annotations

from typing import Any

from builders import make_pod
from eks_gpu.cli.delete_cmd import confirmer, table
from eks_gpu.commands.delete import (
    DeleteResult,
    GpuPod,
    Outcome,
    Target,
    _question,
    is_ours,
    planned,
    running_gpu_pods,
)
from eks_gpu.errors import EXIT_CLUSTER, EXIT_FINDINGS, EXIT_OK

Obj = dict[str, Any]
OURS = {"app.kubernetes.io/managed-by": "eks-gpu"}


def target(kind: str, name: str, labels: dict[str, str] | None, present: bool = True) -> Target:
    obj = {"kind": kind, "metadata": {"name": name, "labels": OURS}}
    live = {"kind": kind, "metadata": {"name": name, "labels": labels or {}}} if present else None
    return Target(f"{kind}/{name}", obj, f"/x/{name}", live)


def test_running_gpu_pods_are_those_asking_for_gpus() -> None:
    pods = [
        make_pod("trainer", node="n1", gpus=2),
        make_pod("web", node="n1"),
        make_pod("limits-only", node="n2", requests={}, limits={"nvidia.com/gpu": "1"}),
    ]
    found = running_gpu_pods("gpu", pods)
    assert found == [
        GpuPod("default", "trainer", "n1", "gpu"),
        GpuPod("default", "limits-only", "n2", "gpu"),
    ]


def test_ours_means_live_and_labelled() -> None:
    assert is_ours(target("NodePool", "gpu", OURS))
    assert not is_ours(target("NodePool", "gpu", {"app.kubernetes.io/managed-by": "helm"}))
    assert not is_ours(target("NodePool", "gpu", None))
    assert not is_ours(target("NodePool", "gpu", OURS, present=False))


def test_planned_outcomes_when_not_confirmed() -> None:
    targets = [
        target("DaemonSet", "plugin", OURS),
        target("NodePool", "gpu", {}),
        target("EC2NodeClass", "nc", None, present=False),
    ]
    assert [o.action for o in planned(targets)] == ["not-deleted", "not-ours", "absent"]


def test_question_names_our_objects_and_the_drained_pods() -> None:
    targets = [target("NodePool", "gpu", OURS), target("ConfigMap", "cm", {})]
    pods = [GpuPod("ml", "trainer", "n1", "gpu")]
    question = _question(targets, pods, "prod")
    assert question == "delete NodePool/gpu from context prod; 1 running GPU pods would be drained?"


def result(actions: list[str], confirmed: bool, pods: tuple[GpuPod, ...] = ()) -> DeleteResult:
    outcomes = tuple(Outcome(f"NodePool/p{i}", a) for i, a in enumerate(actions))  # type: ignore[arg-type]
    return DeleteResult("ctx", "none", outcomes, pods, confirmed)


def test_exit_codes() -> None:
    assert result(["deleted", "not-ours"], True).exit_code == EXIT_OK
    assert result(["not-deleted"], False).exit_code == EXIT_FINDINGS
    assert result(["deleted", "failed", "not-deleted"], True).exit_code == EXIT_CLUSTER


def test_table_lists_the_pods_that_would_be_drained() -> None:
    pods = (GpuPod("ml", "trainer", "ip-10-0-0-1", "gpu"),)
    text = table(result(["not-deleted"], False, pods))
    assert "running GPU pods that deleting the NodePool drains:" in text
    assert "gpu       ip-10-0-0-1  ml         trainer" in text


def test_without_yes_off_a_terminal_the_answer_is_no() -> None:
    assert confirmer(yes=True) is None
    answer = confirmer(yes=False)  # pytest's stdin is not a terminal
    assert answer is not None and answer("delete?") is False
