"""Requirements on a concrete label set: every operator, absent labels, satisfiability, and
the instance types a NodePool allows."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eks_gpu.catalog.families import gpu_families
from eks_gpu.catalog.instance_types import InstanceType
from eks_gpu.config.defaults import GUIDE_FAMILIES
from eks_gpu.config.profiles import profile_config
from eks_gpu.render.bundle import render_all
from eks_gpu.scheduling.labels import (
    check_satisfiable,
    check_satisfies,
    instance_types_allowed,
    nodepool_requirements,
    requirement_reason,
    satisfiable,
    satisfies,
)
from eks_gpu.scheduling.well_known import normalize_key

FAMILY = "karpenter.k8s.aws/instance-family"
GPU_COUNT = "karpenter.k8s.aws/instance-gpu-count"
GPU_MAKER = "karpenter.k8s.aws/instance-gpu-manufacturer"


def req(key: str, operator: str, *values: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        out["values"] = list(values)
    return out


PRESENT = {"k": "5"}
ABSENT: dict[str, str] = {}
WORD = {"k": "abc"}

OPERATOR_TABLE = [
    # (labels, requirement, satisfied)
    (PRESENT, req("k", "In", "5", "6"), True),
    (PRESENT, req("k", "In", "6"), False),
    (ABSENT, req("k", "In", "5"), False),
    (PRESENT, req("k", "In"), False),  # In with no values matches nothing
    (PRESENT, req("k", "NotIn", "6"), True),
    (PRESENT, req("k", "NotIn", "5"), False),
    (ABSENT, req("k", "NotIn", "5"), True),
    (PRESENT, req("k", "Exists"), True),
    (ABSENT, req("k", "Exists"), False),
    (PRESENT, req("k", "DoesNotExist"), False),
    (ABSENT, req("k", "DoesNotExist"), True),
    (PRESENT, req("k", "Gt", "4"), True),
    (PRESENT, req("k", "Gt", "5"), False),
    (ABSENT, req("k", "Gt", "0"), False),
    (WORD, req("k", "Gt", "0"), False),  # non-integer label
    ({"k": "5\n"}, req("k", "Gt", "0"), False),  # not a whole integer
    ({"k": "1.5"}, req("k", "Gt", "0"), False),
    (PRESENT, req("k", "Gt", "four"), False),  # non-integer value
    (PRESENT, req("k", "Gt", "1", "2"), False),  # more than one value
    (PRESENT, req("k", "Gt"), False),  # no value
    (PRESENT, req("k", "Gt", "-1"), True),  # negative bounds are integers too
    (PRESENT, req("k", "Lt", "6"), True),
    (PRESENT, req("k", "Lt", "5"), False),
    (ABSENT, req("k", "Lt", "10"), False),
    (WORD, req("k", "Lt", "10"), False),
    (PRESENT, req("k", "Gte", "5"), True),
    (PRESENT, req("k", "Gte", "6"), False),
    (ABSENT, req("k", "Gte", "0"), False),
    (WORD, req("k", "Gte", "0"), False),
    (PRESENT, req("k", "Lte", "5"), True),
    (PRESENT, req("k", "Lte", "4"), False),
    (ABSENT, req("k", "Lte", "9"), False),
    (WORD, req("k", "Lte", "9"), False),
    (PRESENT, req("k", "Matches", "5"), False),  # unknown operator
]


@pytest.mark.parametrize(("labels", "requirement", "expected"), OPERATOR_TABLE)
def test_every_operator_on_present_and_absent_labels(
    labels: dict[str, str], requirement: dict[str, Any], expected: bool
) -> None:
    assert satisfies(labels, [requirement]) is expected
    reason = requirement_reason(labels, requirement)
    assert (reason is None) is expected
    assert check_satisfies(labels, [requirement]) == ([] if expected else [reason])


def test_reasons_name_the_label_and_the_requirement() -> None:
    labels = {"kubernetes.io/arch": "amd64"}
    assert requirement_reason(labels, req("kubernetes.io/arch", "In", "arm64")) == (
        "label kubernetes.io/arch is \"amd64\", not In ['arm64']"
    )
    assert (
        requirement_reason({}, req(GPU_COUNT, "Gt", "0"))
        == f"label {GPU_COUNT} is absent, not Gt 0"
    )
    assert "exactly one integer" in str(requirement_reason(PRESENT, req("k", "Lt", "x")))
    assert "unknown operator" in str(requirement_reason(PRESENT, req("k", "Near", "5")))


def test_a_list_is_a_conjunction_and_empty_is_always_satisfied() -> None:
    labels = {"a": "1", "b": "x"}
    assert satisfies(labels, [])
    assert satisfies(labels, [req("a", "Gte", "1"), req("b", "In", "x")])
    assert not satisfies(labels, [req("a", "Gte", "1"), req("b", "In", "y")])
    assert len(check_satisfies(labels, [req("a", "Gt", "1"), req("b", "In", "y")])) == 2


def test_deprecated_keys_are_read_as_their_current_names() -> None:
    assert normalize_key("beta.kubernetes.io/arch") == "kubernetes.io/arch"
    assert normalize_key("failure-domain.beta.kubernetes.io/zone") == "topology.kubernetes.io/zone"
    assert satisfies(
        {"kubernetes.io/arch": "arm64"}, [req("beta.kubernetes.io/arch", "In", "arm64")]
    )
    assert satisfies(
        {"beta.kubernetes.io/arch": "arm64"}, [req("kubernetes.io/arch", "In", "arm64")]
    )
    assert not satisfies(
        {"beta.kubernetes.io/os": "linux"}, [req("kubernetes.io/os", "DoesNotExist")]
    )


SATISFIABLE_TABLE = [
    ([req("k", "In", "a", "b"), req("k", "NotIn", "a")], True),
    ([req("k", "In", "a"), req("k", "NotIn", "a")], False),
    ([req("k", "In", "a"), req("k", "In", "b")], False),
    ([req("k", "NotIn", "a"), req("k", "NotIn", "b")], True),
    ([req("k", "Exists"), req("k", "DoesNotExist")], False),
    ([req("k", "NotIn", "a"), req("k", "DoesNotExist")], True),
    ([req("k", "In", "a"), req("k", "DoesNotExist")], False),
    ([req("k", "Gt", "5"), req("k", "Lt", "3")], False),
    ([req("k", "Gt", "3"), req("k", "Lt", "4")], False),
    ([req("k", "Gte", "3"), req("k", "Lte", "3")], True),
    ([req("k", "Gt", "5"), req("k", "NotIn", "6", "7")], True),  # 8 is left
    ([req("k", "Gte", "1"), req("k", "Lte", "2"), req("k", "NotIn", "1", "2")], False),
    ([req("k", "Lt", "0"), req("k", "NotIn", "-1")], True),
    ([req("k", "Gt", "0"), req("k", "In", "a", "7")], True),
    ([req("k", "Gt", "x")], False),
    ([req("k", "Exists"), req("j", "DoesNotExist")], True),  # keys are independent
    ([], True),
]


@pytest.mark.parametrize(("requirements", "expected"), SATISFIABLE_TABLE)
def test_satisfiable(requirements: list[dict[str, Any]], expected: bool) -> None:
    assert satisfiable(requirements) is expected
    assert bool(check_satisfiable(requirements)) is not expected


SMALL_VALUES = ["1", "2", "3", "a", "b"]
requirements_strategy = st.lists(
    st.one_of(
        st.builds(
            lambda op, vals: req("k", op, *vals),
            st.sampled_from(["In", "NotIn"]),
            st.lists(st.sampled_from(SMALL_VALUES), min_size=1, max_size=3),
        ),
        st.builds(lambda op: req("k", op), st.sampled_from(["Exists", "DoesNotExist"])),
        st.builds(
            lambda op, n: req("k", op, str(n)),
            st.sampled_from(["Gt", "Lt", "Gte", "Lte"]),
            st.integers(0, 5),
        ),
    ),
    max_size=4,
)


@given(requirements_strategy)
def test_satisfiable_agrees_with_brute_force(requirements: list[dict[str, Any]]) -> None:
    candidates: list[dict[str, str]] = [{}]
    candidates += [{"k": v} for v in [*SMALL_VALUES, "zz", *map(str, range(-3, 12))]]
    assert satisfiable(requirements) == any(satisfies(c, requirements) for c in candidates)


def _nodepool(requirements: list[dict[str, Any]], labels: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "pool"},
        "spec": {
            "template": {
                "metadata": {"labels": labels or {}},
                "spec": {"requirements": requirements},
            }
        },
    }


def _guide_nodepool() -> dict[str, Any]:
    items = render_all(profile_config("guide"), "demo", only=["nodepool"])
    return items[0].obj


def test_guide_nodepool_allows_only_nvidia_gpu_types_of_its_families() -> None:
    allowed = instance_types_allowed(_guide_nodepool())
    assert allowed
    for it in allowed:
        assert it.labels[FAMILY] in GUIDE_FAMILIES
        assert it.labels[GPU_MAKER] == "nvidia"
        assert int(it.resources.get("nvidia.com/gpu", "0")) > 0
        assert gpu_families()[it.labels[FAMILY]].is_nvidia
    assert [it.name for it in allowed] == sorted(it.name for it in allowed)
    assert {"g4dn.xlarge", "g5.xlarge", "p4d.24xlarge"} <= {it.name for it in allowed}


def test_nodepool_requirements_add_template_labels_and_the_pool_name() -> None:
    pool = _nodepool([req(FAMILY, "In", "g5")], {"node-type": "gpu"})
    assert nodepool_requirements(pool) == [
        req(FAMILY, "In", "g5"),
        req("node-type", "In", "gpu"),
        req("karpenter.sh/nodepool", "In", "pool"),
    ]


def test_template_labels_constrain_only_keys_instance_types_define() -> None:
    by_label = instance_types_allowed(_nodepool([], {FAMILY: "g5", "node-type": "gpu"}))
    assert by_label and {it.labels[FAMILY] for it in by_label} == {"g5"}
    unconstrained = instance_types_allowed(_nodepool([], {"node-type": "gpu"}))
    assert len(unconstrained) > 1000
    offering_only = instance_types_allowed(
        _nodepool([req("karpenter.sh/capacity-type", "In", "spot"), req("team", "In", "ml")])
    )
    assert len(offering_only) == len(unconstrained)


def test_gpu_count_requirement_excludes_every_cpu_type() -> None:
    allowed = instance_types_allowed(_nodepool([req(GPU_COUNT, "Gt", "0")]))
    assert allowed and all(GPU_COUNT in it.labels for it in allowed)
    assert not any(it.name.startswith("m5.") for it in allowed)
    cpu_only = instance_types_allowed(_nodepool([req(GPU_COUNT, "DoesNotExist")]))
    assert cpu_only and all(GPU_COUNT not in it.labels for it in cpu_only)


def test_nodepool_requirements_on_deprecated_keys_constrain_instance_types() -> None:
    allowed = instance_types_allowed(
        _nodepool([req(FAMILY, "In", "g5", "g5g"), req("beta.kubernetes.io/arch", "In", "arm64")])
    )
    assert allowed and {it.labels[FAMILY] for it in allowed} == {"g5g"}


def test_candidates_replace_the_catalog() -> None:
    fake = InstanceType("fake.large", {FAMILY: "fake", "kubernetes.io/arch": "amd64"}, {}, None)
    pool = _nodepool([req(FAMILY, "In", "fake")])
    assert instance_types_allowed(pool, [fake]) == [fake]
    assert instance_types_allowed(pool) == []
