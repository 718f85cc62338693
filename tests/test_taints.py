"""Taints and tolerations: the matching table, every-effect rule, ephemeral taints."""

from __future__ import annotations

from typing import Any

import pytest

from eks_gpu.scheduling.taints import (
    EPHEMERAL_TAINT_KEYS,
    PREFER_NO_SCHEDULE_TOLERATION,
    check_tolerates,
    is_ephemeral,
    taint_str,
    tolerates,
    tolerates_all,
    toleration_str,
    untolerated,
)

GPU = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
GPU_NO_VALUE = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}
PREFER = {"key": "team", "value": "ml", "effect": "PreferNoSchedule"}
EVICT = {"key": "maintenance", "effect": "NoExecute"}
SLA = {"key": "sla", "value": "950", "effect": "NoSchedule"}


def tol(**fields: Any) -> dict[str, Any]:
    return fields


TOLERATES = [
    # (toleration, taint, tolerated)
    (tol(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"), GPU, True),
    (tol(key="nvidia.com/gpu", operator="Exists"), GPU, True),  # empty effect: all effects
    (tol(key="nvidia.com/gpu", operator="Exists", effect="NoExecute"), GPU, False),
    (tol(key="nvidia.com/gpu", operator="Equal", value="true", effect="NoSchedule"), GPU, True),
    (tol(key="nvidia.com/gpu", value="true", effect="NoSchedule"), GPU, True),  # default Equal
    (tol(key="nvidia.com/gpu", operator="Equal", value="false"), GPU, False),
    (tol(key="nvidia.com/gpu", operator="Equal"), GPU, False),  # "" != "true"
    (tol(key="nvidia.com/gpu", operator="Equal"), GPU_NO_VALUE, True),  # "" == ""
    (tol(key="nvidia.com/gpu", operator="Equal", value=None), GPU_NO_VALUE, True),
    (tol(key="nvidia.com/gpux", operator="Exists"), GPU, False),
    (tol(operator="Exists"), GPU, True),  # empty key + Exists: every taint
    (tol(operator="Exists"), EVICT, True),
    (tol(operator="Exists", effect="NoSchedule"), EVICT, False),
    (tol(key="", operator="Exists", effect="NoExecute"), EVICT, True),
    (PREFER_NO_SCHEDULE_TOLERATION, PREFER, True),
    (PREFER_NO_SCHEDULE_TOLERATION, GPU, False),
    (tol(key="team", operator="Equal", value="ml", effect="PreferNoSchedule"), PREFER, True),
    (
        tol(key="maintenance", operator="Exists", effect="NoExecute", tolerationSeconds=30),
        EVICT,
        True,
    ),
    (tol(key="sla", operator="Gt", value="900"), SLA, True),  # taint value 950 > 900
    (tol(key="sla", operator="Gt", value="950"), SLA, False),
    (tol(key="sla", operator="Lt", value="1000"), SLA, True),
    (tol(key="sla", operator="Lt", value="950"), SLA, False),
    (tol(key="sla", operator="Gt", value="high"), SLA, False),  # non-integer: no match
    (tol(key="nvidia.com/gpu", operator="Gt", value="0"), GPU, False),  # taint "true"
    (tol(key="nvidia.com/gpu", operator="Matches", value="true"), GPU, False),
]


@pytest.mark.parametrize("toleration, taint, expected", TOLERATES, ids=lambda x: str(x))
def test_tolerates(toleration: dict[str, Any], taint: dict[str, Any], expected: bool) -> None:
    assert tolerates(toleration, taint) is expected


EXISTS_GPU = tol(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")


@pytest.mark.parametrize(
    "taints, tolerations, missing",
    [
        ([], [], []),
        ([GPU], [], [GPU]),
        ([GPU], None, [GPU]),
        (None, [EXISTS_GPU], []),
        ([GPU], [EXISTS_GPU], []),
        ([GPU, PREFER], [EXISTS_GPU], [PREFER]),  # PreferNoSchedule must be tolerated too
        ([GPU, PREFER], [EXISTS_GPU, PREFER_NO_SCHEDULE_TOLERATION], []),
        ([EVICT, GPU, PREFER], [], [EVICT, GPU, PREFER]),  # every effect, in order
        ([EVICT, GPU], [tol(operator="Exists")], []),
    ],
)
def test_untolerated(
    taints: list[dict[str, Any]] | None,
    tolerations: list[dict[str, Any]] | None,
    missing: list[dict[str, Any]],
) -> None:
    assert untolerated(taints, tolerations) == missing
    assert tolerates_all(taints, tolerations) is (not missing)
    assert check_tolerates(taints, tolerations) == [
        f'taint "{taint_str(taint)}" is not tolerated' for taint in missing
    ]


STARTUP = [
    {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
    {
        "key": "node.cloudprovider.kubernetes.io/uninitialized",
        "value": "true",
        "effect": "NoSchedule",
    },
    {"key": "karpenter.sh/unregistered", "effect": "NoExecute"},
    {"key": "readiness.k8s.io/network-ready", "effect": "NoSchedule"},
]


@pytest.mark.parametrize("taint", STARTUP, ids=lambda t: t["key"])
def test_ephemeral_taints_are_ignored_on_request(taint: dict[str, Any]) -> None:
    assert is_ephemeral(taint)
    assert untolerated([taint, GPU], [], ignore_ephemeral=True) == [GPU]
    assert untolerated([taint, GPU], []) == [taint, GPU]
    assert check_tolerates([taint], [], ignore_ephemeral=True) == []


def test_ephemeral_keys() -> None:
    assert len(EPHEMERAL_TAINT_KEYS) == 4
    assert {t["key"] for t in STARTUP[:4]} == EPHEMERAL_TAINT_KEYS
    assert not is_ephemeral(GPU)
    assert not is_ephemeral({"key": "example.com/readiness.k8s.io/x", "effect": "NoSchedule"})


@pytest.mark.parametrize(
    "taint, text",
    [
        (GPU, "nvidia.com/gpu=true:NoSchedule"),
        (GPU_NO_VALUE, "nvidia.com/gpu:NoSchedule"),
        ({"key": "k", "value": "v"}, "k=v"),
        ({"key": "k", "value": None, "effect": "NoExecute"}, "k:NoExecute"),
    ],
)
def test_taint_str(taint: dict[str, Any], text: str) -> None:
    assert taint_str(taint) == text


@pytest.mark.parametrize(
    "toleration, text",
    [
        (EXISTS_GPU, "nvidia.com/gpu Exists:NoSchedule"),
        (tol(key="k", value="v", effect="NoSchedule"), "k=v:NoSchedule"),
        (tol(operator="Exists"), "* Exists"),
        (tol(key="sla", operator="Gt", value="900"), "sla Gt 900"),
    ],
)
def test_toleration_str(toleration: dict[str, Any], text: str) -> None:
    assert toleration_str(toleration) == text
