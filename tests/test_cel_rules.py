"""Every CEL rule of Karpenter v1.14.1's CRDs, evaluated offline by :mod:`eks_gpu.validate.cel`.

The oracle is ``../shared/reference/karpenter/``: the three CRDs, and ``cel-rules-v1.14.1.yaml``
(the 84 ``x-kubernetes-validations`` entries extracted verbatim, with their schema paths).
``cel_cases.yaml`` holds, for each of the 84 rules, a change to a minimal valid object that
breaks that rule (and, where the rules overlap, named others): the rule must report its own
message at the right path. A coverage test proves the table misses none. Every case was also
checked once against a real kube-apiserver with these CRDs installed (same rejections, same
messages, same field paths); tests/controlplane/test_cel.py keeps a sample of that live.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.config.profiles import PROFILES, profile_config
from eks_gpu.render.bundle import render_all
from eks_gpu.validate.cel import (
    CelResult,
    CompiledValidations,
    compile_cache_info,
    compile_validations,
    evaluate,
)

Obj = dict[str, Any]
CRD_FILES = {
    "NodePool": "karpenter.sh_nodepools.yaml",
    "NodeClaim": "karpenter.sh_nodeclaims.yaml",
    "EC2NodeClass": "karpenter.k8s.aws_ec2nodeclasses.yaml",
}
RULES_FILE = "cel-rules-v1.14.1.yaml"
CASES_FILE = Path(__file__).parent / "cel_cases.yaml"


def nodepool() -> Obj:
    """A minimal NodePool that passes every rule (dynamic: no replicas, no limits)."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "gpu"},
        "spec": {
            "template": {
                "metadata": {"labels": {"node-type": "gpu"}},
                "spec": {
                    "nodeClassRef": {
                        "group": "karpenter.k8s.aws",
                        "kind": "EC2NodeClass",
                        "name": "gpu",
                    },
                    "requirements": [
                        {
                            "key": "karpenter.k8s.aws/instance-family",
                            "operator": "In",
                            "values": ["g5"],
                        }
                    ],
                },
            },
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "30s"},
        },
    }


def ec2nodeclass() -> Obj:
    """A minimal EC2NodeClass that passes every rule."""
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": "gpu"},
        "spec": {
            "role": "KarpenterNodeRole-demo",
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "demo"}}],
            "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "demo"}}],
        },
    }


def nodeclaim() -> Obj:
    """A minimal NodeClaim that passes every rule."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodeClaim",
        "metadata": {"name": "gpu-abcde"},
        "spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
            "requirements": [
                {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["g5"]}
            ],
        },
    }


BASES = {"NodePool": nodepool, "EC2NodeClass": ec2nodeclass, "NodeClaim": nodeclaim}


def changed(obj: Obj, changes: dict[str, Any]) -> Obj:
    """A copy of ``obj`` with each dotted field path set (or removed, for ``None``).

    Paths name schema fields only (``spec.tags``), never label keys, so dots are separators.
    """
    out = copy.deepcopy(obj)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class Case:
    """One entry of ``cel_cases.yaml``: a change that breaks the rule (kind, path, message)."""

    kind: str
    path: str
    message: str
    changes: dict[str, Any]
    where: str
    old: dict[str, Any] | None
    also: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.path, self.message)

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Case:
        path = entry["path"]
        return cls(
            kind=entry["kind"],
            path=path,
            message=entry["message"],
            changes=entry["set"],
            where=entry.get("where", path.replace("[]", "[0]")),
            old=entry.get("old"),
            also=tuple(entry.get("also", ())),
        )


CASES = [Case.from_entry(e) for e in yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))]
TRANSITION_CASES = [case for case in CASES if case.old is not None]
GT_LT = (
    "requirements operator 'Gt', 'Lt', 'Gte', or 'Lte' must have a single positive integer value"
)
FAMILY_G5 = {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": ["g5"]}


@pytest.fixture(scope="module")
def rule_file(reference: Path) -> list[dict[str, str]]:
    rules: list[dict[str, str]] = yaml.safe_load((reference / "karpenter" / RULES_FILE).read_text())
    return rules


@pytest.fixture(scope="module")
def rule_text(rule_file: list[dict[str, str]]) -> dict[tuple[str, str, str], str]:
    """(kind, schema path, message) -> rule text; the triple is unique in the file."""
    return {(r["crd"].split("/")[0], r["path"], r["message"]): r["rule"] for r in rule_file}


def openapi_schema(reference: Path, kind: str) -> dict[str, Any]:
    crd = yaml.safe_load((reference / "karpenter" / CRD_FILES[kind]).read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


@pytest.fixture(scope="module")
def compiled(reference: Path) -> dict[str, CompiledValidations]:
    return {kind: compile_validations(openapi_schema(reference, kind)) for kind in CRD_FILES}


def rejections(results: list[CelResult]) -> list[CelResult]:
    """What the API server would refuse: failed rules and rules that errored."""
    return [r for r in results if r.outcome != "skipped"]


def _case_id(case: Case) -> str:
    return f"{case.kind}{case.path}:{case.message[:60]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_each_rule_rejects_its_broken_object(
    case: Case, compiled: dict[str, CompiledValidations], rule_text: dict[tuple[str, str, str], str]
) -> None:
    base = BASES[case.kind]()
    old = changed(base, case.old) if case.old is not None else None
    results = rejections(evaluate(compiled[case.kind], changed(base, case.changes), old))
    rule = rule_text[case.key]
    own = [r for r in results if (r.rule, r.schema_path) == (rule, case.path)]
    assert [(r.outcome, r.path, r.message) for r in own] == [("failed", case.where, case.message)]
    assert sorted(r.message for r in results if r not in own) == sorted(case.also)


def test_the_table_covers_every_rule_of_the_rules_file(
    rule_file: list[dict[str, str]], rule_text: dict[tuple[str, str, str], str]
) -> None:
    assert len(rule_file) == len(rule_text) == 84
    keys = [case.key for case in CASES]
    assert len(keys) == len(set(keys)), "a rule is in the table twice"
    assert set(keys) == set(rule_text)


def test_compiled_rules_are_exactly_the_rules_file(
    compiled: dict[str, CompiledValidations], rule_file: list[dict[str, str]]
) -> None:
    found = sorted(
        (kind, path, rule.rule, rule.message)
        for kind, validations in compiled.items()
        for path, rule in validations.rules
    )
    expected = sorted(
        (r["crd"].split("/")[0], r["path"], r["rule"], r["message"]) for r in rule_file
    )
    assert found == expected
    assert all(rule.unsupported is None for v in compiled.values() for _, rule in v.rules)
    transitions = {(k, p) for k, v in compiled.items() for p, rule in v.rules if rule.transition}
    assert transitions == {(c.kind, c.path) for c in TRANSITION_CASES}


@pytest.mark.parametrize("kind", sorted(BASES))
def test_base_objects_pass_every_rule(kind: str, compiled: dict[str, CompiledValidations]) -> None:
    base = BASES[kind]()
    assert rejections(evaluate(compiled[kind], base)) == []
    assert evaluate(compiled[kind], base, old=base) == []


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_rendered_karpenter_objects_pass_every_rule(
    profile: str, compiled: dict[str, CompiledValidations]
) -> None:
    objects = [r.obj for r in render_all(profile_config(profile, "demo"), "demo")]
    karpenter = [obj for obj in objects if obj["kind"] in compiled]
    assert {obj["kind"] for obj in karpenter} == {"NodePool", "EC2NodeClass"}
    for obj in karpenter:
        assert rejections(evaluate(compiled[obj["kind"]], obj)) == [], obj["metadata"]["name"]
        assert evaluate(compiled[obj["kind"]], obj, old=obj) == []


@pytest.mark.parametrize("case", TRANSITION_CASES, ids=[_case_id(c) for c in TRANSITION_CASES])
def test_transition_rules_are_skipped_without_an_old_object(
    case: Case, compiled: dict[str, CompiledValidations], rule_text: dict[tuple[str, str, str], str]
) -> None:
    results = evaluate(compiled[case.kind], changed(BASES[case.kind](), case.changes))
    own = [r for r in results if r.rule == rule_text[case.key]]
    assert [(r.outcome, r.path, r.transition) for r in own] == [("skipped", case.where, True)]
    assert "no old object" in own[0].message
    assert rejections(results) == []


def test_transition_rule_passes_when_the_value_is_unchanged(
    compiled: dict[str, CompiledValidations],
) -> None:
    pool = changed(nodepool(), {"spec.replicas": 2, "spec.limits": {"nodes": "4"}})
    assert evaluate(compiled["NodePool"], pool, old=changed(pool, {"spec.replicas": 3})) == []


def test_runtime_error_is_a_rejection_with_the_api_servers_wording(
    compiled: dict[str, CompiledValidations],
) -> None:
    """``int('abc')`` makes cel-go fail; the API server refuses the object with that error."""
    bad = {"key": "karpenter.k8s.aws/instance-cpu", "operator": "Gt", "values": ["abc"]}
    results = rejections(
        evaluate(
            compiled["NodePool"],
            changed(nodepool(), {"spec.template.spec.requirements": [FAMILY_G5, bad]}),
        )
    )
    assert [(r.outcome, r.path, r.message) for r in results] == [
        (
            "error",
            ".spec.template.spec.requirements",
            f"type conversion error from 'string' to 'int' evaluating rule: {GT_LT}",
        )
    ]


def test_rules_compile_once_and_evaluation_never_compiles(reference: Path) -> None:
    schema = openapi_schema(reference, "EC2NodeClass")
    first = compile_validations(schema)
    before = compile_cache_info()
    again = compile_validations(schema)
    after = compile_cache_info()
    assert after.misses == before.misses
    assert after.hits - before.hits == len(again) == len(first) == 54
    for _ in range(3):
        evaluate(again, ec2nodeclass())
    assert compile_cache_info().misses == before.misses
