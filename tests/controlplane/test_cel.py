"""Karpenter's CEL rules, evaluated by the real API server (the oracle for `eks-gpu validate`).

Each case breaks one rule of a valid object; the server must reject it with that rule's own
message, taken from ../shared/reference/karpenter/cel-rules-v1.14.1.yaml (the rules extracted
verbatim from the CRDs that are installed).
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from test_cel_rules import ec2nodeclass as valid_ec2nodeclass
from test_cel_rules import nodepool as valid_nodepool

from .kube import ApiError, Kube, Obj

pytestmark = pytest.mark.controlplane


def _unique(obj: Obj) -> Obj:
    """A fresh name, so cases never collide on the shared API server."""
    obj["metadata"]["name"] = "cel-" + uuid.uuid4().hex[:8]
    return obj


def nodepool() -> Obj:
    return _unique(valid_nodepool())


def ec2nodeclass() -> Obj:
    return _unique(valid_ec2nodeclass())


def _requirement(operator: str, values: list[str], key: str = "karpenter.k8s.aws/instance-cpu"):  # type: ignore[no-untyped-def]
    def mutate(obj: Obj) -> None:
        obj["spec"]["template"]["spec"]["requirements"].append(
            {"key": key, "operator": operator, "values": values}
        )

    return mutate


def _set(values: dict[str, Any]) -> Callable[[Obj], None]:
    """Set each dotted path of ``values``."""

    def mutate(obj: Obj) -> None:
        for path, value in values.items():
            *parents, last = path.split(".")
            node = obj
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value

    return mutate


GT_LT_MESSAGE = (
    "requirements operator 'Gt', 'Lt', 'Gte', or 'Lte' must have a single positive integer value"
)

# (id, mutation, rule path in the rules file, the rule's own message)
NODEPOOL_CASES = [
    (
        "In-without-values",
        _requirement("In", []),
        ".spec.template.spec.requirements",
        "requirements with operator 'In' must have a value defined",
    ),
    (
        "Gt-with-two-values",
        _requirement("Gt", ["1", "2"]),
        ".spec.template.spec.requirements",
        GT_LT_MESSAGE,
    ),
    (
        "Lt-negative",
        _requirement("Lt", ["-4"]),
        ".spec.template.spec.requirements",
        GT_LT_MESSAGE,
    ),
    (
        "requirement-on-hostname",
        _requirement("In", ["a"], key="kubernetes.io/hostname"),
        ".spec.template.spec.requirements[].key",
        'label "kubernetes.io/hostname" is restricted',
    ),
    (
        "template-label-hostname",
        _set({"spec.template.metadata.labels": {"kubernetes.io/hostname": "a"}}),
        ".spec.template.metadata.labels",
        'label "kubernetes.io/hostname" is restricted',
    ),
    (
        "template-label-karpenter.sh-domain",
        _set({"spec.template.metadata.labels": {"karpenter.sh/custom": "a"}}),
        ".spec.template.metadata.labels",
        'label domain "karpenter.sh" is restricted',
    ),
    (
        "budget-schedule-without-duration",
        _set({"spec.disruption.budgets": [{"nodes": "10%", "schedule": "0 9 * * mon-fri"}]}),
        ".spec.disruption.budgets",
        "'schedule' must be set with 'duration'",
    ),
    (
        "minValues-above-values",
        _set(
            {
                "spec.template.spec.requirements": [
                    {
                        "key": "karpenter.k8s.aws/instance-family",
                        "operator": "In",
                        "values": ["g5", "g6"],
                        "minValues": 3,
                    }
                ]
            }
        ),
        ".spec.template.spec.requirements",
        "requirements with 'minValues' must have at least that many values specified in the "
        "'values' field",
    ),
    (
        "static-pool-with-weight",
        _set({"spec.replicas": 2, "spec.weight": 10}),
        ".spec",
        "'weight' is not supported on static NodePools",
    ),
]

EC2NODECLASS_CASES = [
    (
        "role-and-instanceProfile",
        _set({"spec.instanceProfile": "demo-profile"}),
        ".spec",
        "must specify exactly one of ['role', 'instanceProfile']",
    ),
    (
        "alias-without-version",
        _set({"spec.amiSelectorTerms": [{"alias": "al2023"}]}),
        ".spec.amiSelectorTerms[].alias",
        "'alias' is improperly formatted, must match the format 'family@version'",
    ),
    (
        "restricted-tag",
        _set({"spec.tags": {"kubernetes.io/cluster/demo": "owned"}}),
        ".spec.tags",
        "tag contains a restricted tag matching kubernetes.io/cluster/",
    ),
    (
        "imageGC-thresholds-inverted",
        _set(
            {"spec.kubelet": {"imageGCHighThresholdPercent": 50, "imageGCLowThresholdPercent": 80}}
        ),
        ".spec.kubelet",
        "imageGCHighThresholdPercent must be greater than imageGCLowThresholdPercent",
    ),
]


@pytest.fixture(scope="module")
def rules(reference: Path) -> list[dict[str, str]]:
    loaded: list[dict[str, str]] = yaml.safe_load(
        (reference / "karpenter" / "cel-rules-v1.14.1.yaml").read_text()
    )
    return loaded


def _field_pattern(rule_path: str) -> str:
    """``.spec.a[].b`` -> a regex for the server's field path, ``spec.a[3].b``."""
    return re.escape(rule_path.lstrip(".")).replace(r"\[\]", r"\[\d+\]")


def _assert_rejected(kube: Kube, obj: Obj, message: str, rule_path: str) -> None:
    with pytest.raises(ApiError) as caught:
        kube.apply(obj, "eks-gpu-test", dry_run=True)
    err = caught.value
    assert (err.status, err.reason) == (422, "Invalid"), err
    causes = err.body.get("details", {}).get("causes", [])
    matching = [c for c in causes if message in c.get("message", "")]
    assert matching, causes
    field = _field_pattern(rule_path)
    assert any(re.fullmatch(field, c.get("field", "")) for c in matching), causes
    assert message in err.message


def _assert_rule_exists(rules: list[dict[str, str]], crd: str, path: str, message: str) -> None:
    wanted = {"crd": crd, "path": path, "message": message}
    assert wanted in [{k: r[k] for k in wanted} for r in rules], f"no such rule: {wanted}"


def _check(kube: Kube, rules: list[dict[str, str]], base: Obj, crd: str, case: tuple) -> None:  # type: ignore[type-arg]
    _, mutate, path, message = case
    _assert_rule_exists(rules, crd, path, message)
    kube.apply(base, "eks-gpu-test", dry_run=True)  # the base object itself is valid
    broken = copy.deepcopy(base)
    mutate(broken)
    _assert_rejected(kube, broken, message, path)


@pytest.mark.parametrize("case", NODEPOOL_CASES, ids=[c[0] for c in NODEPOOL_CASES])
def test_invalid_nodepool_is_rejected_by_cel(kube: Kube, rules, case) -> None:  # type: ignore[no-untyped-def]
    _check(kube, rules, nodepool(), "NodePool/v1", case)


@pytest.mark.parametrize("case", EC2NODECLASS_CASES, ids=[c[0] for c in EC2NODECLASS_CASES])
def test_invalid_ec2nodeclass_is_rejected_by_cel(kube: Kube, rules, case) -> None:  # type: ignore[no-untyped-def]
    _check(kube, rules, ec2nodeclass(), "EC2NodeClass/v1", case)


def test_transition_rule_nodeclassref_group_is_immutable(kube: Kube, rules) -> None:  # type: ignore[no-untyped-def]
    """Rules on ``oldSelf`` run only on update: only a real server can check them."""
    path, message = ".spec.template.spec.nodeClassRef", "nodeClassRef.group is immutable"
    _assert_rule_exists(rules, "NodePool/v1", path, message)
    pool = nodepool()
    kube.apply(pool, "eks-gpu-test")
    try:
        changed = copy.deepcopy(pool)
        changed["spec"]["template"]["spec"]["nodeClassRef"]["group"] = "karpenter.kwok.sh"
        _assert_rejected(kube, changed, message, path)
    finally:
        kube.delete(pool)
