"""The CEL engine on small hand-made schemas: paths, messages, transition rules, functions.

Karpenter's own rules are covered in test_cel_rules.py; these tests pin the API-server behaviour
those rules do not exercise (map values, list-map correlation, messageExpression, fieldPath,
reason, unsupported rules) and the Kubernetes extension functions.
"""

from __future__ import annotations

from typing import Any

import pytest

from eks_gpu.validate.cel import CelResult, compile_validations, evaluate

Schema = dict[str, Any]


def ruled(rule: str, schema: Schema | None = None, **options: str) -> Schema:
    """``schema`` (default: a string) carrying one rule."""
    return {
        **(schema or {"type": "string"}),
        "x-kubernetes-validations": [{"rule": rule, **options}],
    }


def obj_schema(**properties: Schema) -> Schema:
    return {"type": "object", "properties": properties}


def check(
    schema: Schema, obj: dict[str, Any], old: dict[str, Any] | None = None
) -> list[CelResult]:
    return evaluate(compile_validations(schema), obj, old)


def summary(results: list[CelResult]) -> list[tuple[str, str, str]]:
    return [(r.outcome, r.path, r.message) for r in results]


def test_map_values_use_braces_in_the_schema_path_and_the_key_in_the_path() -> None:
    tags = {"type": "object", "additionalProperties": ruled("self.size() < 4", message="long")}
    compiled = compile_validations(obj_schema(tags=tags))
    assert [path for path, _ in compiled.rules] == [".tags{*}"]
    results = evaluate(compiled, {"tags": {"a": "abcdef", "b": "ab"}})
    assert [(r.path, r.schema_path) for r in results] == [(".tags[a]", ".tags{*}")]


def test_array_items_get_their_index() -> None:
    schema = obj_schema(xs={"type": "array", "items": ruled("self != 'bad'", message="bad")})
    results = check(schema, {"xs": ["ok", "bad", "bad"]})
    assert summary(results) == [("failed", ".xs[1]", "bad"), ("failed", ".xs[2]", "bad")]
    assert {r.schema_path for r in results} == {".xs[]"}


def test_a_root_rule_is_at_dot() -> None:
    schema = ruled("has(self.spec)", obj_schema(spec={"type": "object"}), message="no spec")
    assert summary(check(schema, {})) == [("failed", ".", "no spec")]


def test_absent_and_null_values_are_not_evaluated() -> None:
    schema = obj_schema(name=ruled("self != ''", message="empty"))
    assert check(schema, {}) == []
    assert check(schema, {"name": None}) == []
    assert summary(check(schema, {"name": ""})) == [("failed", ".name", "empty")]


def test_message_falls_back_to_failed_rule_when_unset() -> None:
    schema = obj_schema(name=ruled("self.startsWith('a')"))
    assert summary(check(schema, {"name": "b"})) == [
        ("failed", ".name", "failed rule: self.startsWith('a')")
    ]


def test_message_expression_field_path_and_reason() -> None:
    rule = ruled(
        "self.x == 'y'",
        obj_schema(x={"type": "string"}),
        message="static",
        messageExpression="'x is ' + self.x",
        fieldPath=".x",
        reason="FieldValueForbidden",
    )
    (result,) = check(obj_schema(f=rule), {"f": {"x": "z"}})
    assert (result.path, result.message, result.reason) == (".f.x", "x is z", "FieldValueForbidden")


@pytest.mark.parametrize("expression", ["self.nope", "''", "'two\\nlines'", "1"])
def test_a_message_expression_that_fails_falls_back_to_the_message(expression: str) -> None:
    rule = ruled("false", {"type": "object"}, message="static", messageExpression=expression)
    assert summary(check(obj_schema(f=rule), {"f": {}})) == [("failed", ".f", "static")]


def test_runtime_errors_are_rejections_in_the_api_servers_words() -> None:
    schema = obj_schema(
        m=ruled("self.missing == 1", {"type": "object"}, message="m"),
        s=ruled("self + 1 > 0", message="s"),
        r=ruled("self.find('(') == ''", message="r"),
    )
    results = check(schema, {"m": {}, "s": "x", "r": "x"})
    assert [r.outcome for r in results] == ["error"] * 3
    assert results[0].message == "no such key: missing evaluating rule: m"
    assert results[1].message == (
        "'no such overload': call arguments did not match a supported operator, function or "
        "macro signature for rule: s"
    )
    assert results[2].message.startswith("error parsing regexp")


def test_rules_cel_python_cannot_run_are_skipped_with_the_reason() -> None:
    schema = obj_schema(
        q=ruled("quantity(self).isGreaterThan(quantity('1'))"),
        o=ruled("self.?foo.orValue('') == ''", {"type": "object"}),
    )
    compiled = compile_validations(schema)
    assert all(rule.unsupported for _, rule in compiled.rules)
    results = evaluate(compiled, {"q": "2", "o": {}})
    assert [(r.outcome, r.transition) for r in results] == [("skipped", False)] * 2
    assert "isGreaterThan, quantity" in results[0].message
    assert "cannot parse" in results[1].message


def test_transition_rules_on_list_map_items_correlate_by_key() -> None:
    item = ruled("self.v == oldSelf.v", obj_schema(v={"type": "integer"}), message="immutable")
    schema = obj_schema(
        xs={
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": item,
        }
    )
    new = {"xs": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]}
    old = {"xs": [{"name": "b", "v": 3}]}
    results = check(schema, new, old)
    assert [(r.outcome, r.path) for r in results] == [("skipped", ".xs[0]"), ("failed", ".xs[1]")]
    assert "no old value at this path" in results[0].message


def test_transition_rules_on_atomic_list_items_never_run() -> None:
    item = ruled("self.v == oldSelf.v", obj_schema(v={"type": "integer"}), message="immutable")
    schema = obj_schema(xs={"type": "array", "items": item})
    results = check(schema, {"xs": [{"v": 1}]}, {"xs": [{"v": 2}]})
    assert [r.outcome for r in results] == ["skipped"]


def test_transition_rules_on_map_values_correlate_by_key() -> None:
    values = ruled("self == oldSelf", message="immutable")
    schema = obj_schema(m={"type": "object", "additionalProperties": values})
    results = check(schema, {"m": {"a": "1", "b": "2"}}, {"m": {"a": "1", "b": "3"}})
    assert summary(results) == [("failed", ".m[b]", "immutable")]


GOOD_FUNCTIONS = [
    "'karpenter.sh/x'.find('^([^/]+)') == 'karpenter.sh'",
    "'abc'.find('z') == ''",
    "'aXbX'.findAll('X') == ['X', 'X'] && 'aXbX'.findAll('X', 1) == ['X']",
    "'a,b,c'.split(',') == ['a', 'b', 'c'] && 'a,b,c'.split(',', 2) == ['a', 'b,c']",
    "'a,b'.split(',', 0) == [] && 'ab'.split('') == ['a', 'b']",
    "'ÄBc'.lowerAscii() == 'Äbc' && 'äbc'.upperAscii() == 'äBC'",
    "'hello'.substring(1, 3) == 'el' && 'hello'.substring(3) == 'lo'",
    "'abc'.charAt(1) == 'b' && 'abc'.charAt(3) == ''",
    "'abcabc'.indexOf('c') == 2 && 'abcabc'.indexOf('c', 3) == 5 && 'abc'.indexOf('z') == -1",
    "'abcabc'.lastIndexOf('c') == 5 && 'abcabc'.lastIndexOf('c', 4) == 2",
    "'aaa'.replace('a', 'b') == 'bbb' && 'aaa'.replace('a', 'b', 2) == 'bba'",
    "' x '.trim() == 'x' && ['a', 'b'].join('-') == 'a-b' && ['a', 'b'].join() == 'ab'",
    "int('42') == 42 && int('+5') == 5 && int('-7') == -7 && int(2.9) == 2",
    "type(1) == int && int('3') == 3",
    "'abc'.matches('^a') && 'abc'.startsWith('ab') && 'abc'.endsWith('bc') && 'abc'.size() == 3",
]


@pytest.mark.parametrize("rule", GOOD_FUNCTIONS)
def test_kubernetes_extension_functions(rule: str) -> None:
    assert check(obj_schema(s=ruled(rule)), {"s": "x"}) == []


@pytest.mark.parametrize("text", [" 5", "1_0", "0x10", "5.0", "", "99999999999999999999"])
def test_int_of_a_string_is_as_strict_as_cel_go(text: str) -> None:
    """Python's int() takes all of these; kube-apiserver refuses each (checked against it)."""
    results = check(obj_schema(s=ruled("int(self) >= 0", message="m")), {"s": text})
    assert summary(results) == [
        ("error", ".s", "type conversion error from 'string' to 'int' evaluating rule: m")
    ]


@pytest.mark.parametrize("rule", ["'abc'.substring(2, 5) == ''", "'abc'.charAt(4) == ''"])
def test_out_of_range_string_indices_are_errors(rule: str) -> None:
    assert [r.outcome for r in check(obj_schema(s=ruled(rule)), {"s": "x"})] == ["error"]
