"""Every ``x-kubernetes-validations`` CEL rule of a CRD, evaluated offline at its schema path.

The API server runs a CRD's CEL rules on every create and update; kubeconform and friends skip
them, so a NodePool that "validates" can still be refused at apply time. This module walks a
CRD version's ``openAPIV3Schema`` once (:func:`compile_validations`), compiles each rule once
(a process-wide cache keyed by rule text, so the eight ``self != ''`` rules compile once), and
then evaluates them on any number of objects (:func:`evaluate`). Pure: no file or network I/O.
Parse trees are the costly part (celpy builds a Lark LALR parser first), so they can be
handed out (:func:`parsed_rules`) and back in (:func:`seed_parsed`): the loaders keep them
in the user cache per CRD version (:mod:`eks_gpu.loaders.cel_cache`), and a warm run never
builds the parser.

Paths, two kinds:

* **schema path**, where a rule is declared: ``.name`` for a property, ``[]`` for array items,
  ``{*}`` for map values (``additionalProperties``), ``.`` for the root; e.g.
  ``.spec.template.spec.requirements[].key``. It is the convention of the reference
  ``cel-rules-*.yaml`` files, so rules can be matched to them one for one;
* **path**, where a value broke it: indices and keys filled in, as the API server spells a
  field path: ``.spec.template.spec.requirements[2].key``, ``.spec.tags[team]``.

What is mirrored from kube-apiserver (``apiextensions-apiserver/pkg/apiserver/schema/cel``):

* a rule runs for each value present at its path; absent and ``null`` values are skipped;
* ``false`` reports ``messageExpression`` (when it yields a one-line, non-empty string), else
  ``message``, else ``failed rule: <rule>``, at the path plus the rule's ``fieldPath``, with its
  ``reason`` (default ``FieldValueInvalid``);
* a runtime error (``int('abc')``, a missing key) is a failure too, reported as
  ``<error> evaluating rule: <message or rule>`` (or, for a type mismatch, ``'<error>': call
  arguments did not match a supported operator, function or macro signature for rule: ...``);
* transition rules (those naming ``oldSelf``) run only when the old value exists at the same
  path: properties and map values correlate by name, list items only in
  ``x-kubernetes-list-type: map`` lists (by their keys). Otherwise they are reported
  ``skipped`` (the API server silently does not run them);

and what is not: defaults are not applied first, the cost budget is not enforced, ratcheting
(unchanged invalid values passing on update) is not modelled, ``format: date-time|duration``
strings stay strings, and ``fieldPath`` is appended as written. A rule that cel-python cannot
parse, or that calls a Kubernetes library function not in :mod:`.cel_functions`, is reported
``skipped`` with the reason: our gap, never the user's error.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Union

import celpy
import lark
from celpy import celtypes
from celpy.celparser import CELParseError, CELParser
from celpy.evaluation import CELEvalError, CELUnsupportedError, base_functions

from eks_gpu.validate.cel_functions import FUNCTIONS, FUNCTIONS_WITHOUT_INT, MACROS
from eks_gpu.validate.cel_values import Location, Step, locate, to_cel

Outcome = Literal["failed", "error", "skipped"]

_KNOWN_FUNCTIONS = frozenset(base_functions) | frozenset(FUNCTIONS) | MACROS
_NO_SUCH_MEMBER = re.compile(r"^no such member in mapping: '(.*)'$")
# Python-level failures inside celpy on odd input: reported as the rule's error, not a crash.
_RUNTIME_FAILURES = (CELUnsupportedError, TypeError, ValueError, KeyError, IndexError)


@dataclass(frozen=True)
class CompiledRule:
    """One ``x-kubernetes-validations`` entry, compiled.

    ``message`` is what a ``false`` reports (``failed rule: <rule>`` when the CRD gives none);
    ``label`` names the rule in a runtime error, as the API server does (message, else rule).
    ``program`` is None, and ``unsupported`` says why, when cel-python cannot run the rule.
    """

    rule: str
    message: str
    label: str
    reason: str
    field_path: str
    transition: bool
    program: celpy.Runner | None
    message_program: celpy.Runner | None
    unsupported: str | None


@dataclass(frozen=True)
class RuleSite:
    """The rules declared on one schema node, and how to reach its values from the root."""

    schema_path: str
    steps: tuple[Step, ...]
    rules: tuple[CompiledRule, ...]


@dataclass(frozen=True)
class CompiledValidations:
    """All rules of one CRD version, ready to evaluate on any number of objects."""

    sites: tuple[RuleSite, ...]

    @property
    def rules(self) -> tuple[tuple[str, CompiledRule], ...]:
        """Every rule with its schema path, in schema order."""
        return tuple((site.schema_path, rule) for site in self.sites for rule in site.rules)

    def __len__(self) -> int:
        return sum(len(site.rules) for site in self.sites)


@dataclass(frozen=True)
class CelResult:
    """A rule that did not pass on one value: ``failed`` (false), ``error`` (a runtime error,
    which the API server also refuses) or ``skipped`` (not evaluated, and why).

    ``transition`` marks a rule that uses ``oldSelf``: a skipped one needs the live object,
    while a skipped non-transition rule is one cel-python cannot run (see ``message``).
    """

    outcome: Outcome
    path: str
    message: str
    rule: str
    schema_path: str
    reason: str = "FieldValueInvalid"
    transition: bool = False


@dataclass(frozen=True)
class _Program:
    runner: celpy.Runner | None
    transition: bool
    unsupported: str | None


Parsed = Union["lark.Tree[Any]", str]
"""A rule's parse tree, or why cel-python cannot parse it (the part worth caching on disk)."""

_PARSED: dict[str, Parsed] = {}
_PARSE_COUNT = [0]


class _RunEnvironment(celpy.Environment):
    """What a program needs from its environment (package, annotations), without the parser:
    building celpy's Lark LALR parser is most of a cold compile, and rules parsed in an earlier
    run (see :func:`seed_parsed`) never need it."""

    def __init__(self) -> None:  # celpy.Environment.__init__ would build the parser
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 2500))  # as celpy's own does
        self.logger = logging.getLogger("celpy.Environment")
        self.package = None
        self.annotations = dict(celpy.googleapis)
        self.runner_class = celpy.InterpretedRunner


@cache
def _environment() -> celpy.Environment:
    """One environment for every program."""
    return _RunEnvironment()


@cache
def _parser() -> CELParser:
    """celpy's parser, built on the first rule that is not already parsed."""
    return CELParser(tree_class=celpy.InterpretedRunner.tree_node_class)


def parse_rule(text: str) -> Parsed:
    """``text``'s parse tree (or why it cannot be parsed), parsed once per process."""
    found = _PARSED.get(text)
    if found is not None:
        return found
    try:
        parsed: Parsed = _parser().parse(text)
    except (CELParseError, lark.exceptions.LarkError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        parsed = f"cel-python cannot parse it ({first_line})"
    _PARSE_COUNT[0] += 1
    _PARSED[text] = parsed
    return parsed


def parse_count() -> int:
    """How many rule texts this process parsed (not seeded): 0 when every rule was cached."""
    return _PARSE_COUNT[0]


def seed_parsed(parsed: Mapping[str, Parsed]) -> None:
    """Take parse trees made earlier (a cache of a previous run) so those rules skip the
    parser. Only a tree or a string per rule text is taken; anything else is ignored."""
    for text, tree in parsed.items():
        if isinstance(text, str) and isinstance(tree, lark.Tree | str):
            _PARSED.setdefault(text, tree)


def parsed_rules(texts: Iterable[str]) -> dict[str, Parsed]:
    """The parse of each of ``texts`` (parsing those not parsed yet), for a cache to keep."""
    return {text: parse_rule(text) for text in texts}


def rule_texts(schema: Mapping[str, Any]) -> list[str]:
    """Every rule and messageExpression text of a CRD version's schema, in schema order."""
    out: list[str] = []
    for entry in _entries(schema):
        out.append(str(entry.get("rule") or ""))
        if entry.get("messageExpression"):
            out.append(str(entry["messageExpression"]))
    return out


def forget_parsed() -> None:
    """Drop every parsed and compiled rule, as a fresh process starts (tests, benchmarks)."""
    _PARSED.clear()
    _PARSE_COUNT[0] = 0
    _compile.cache_clear()


def _entries(schema: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from schema.get("x-kubernetes-validations") or ()
    for child in (schema.get("properties") or {}).values():
        yield from _entries(child)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), Mapping):
            yield from _entries(schema[key])


def _names(ast: lark.Tree[Any]) -> tuple[set[str], set[str]]:
    """Variable names and called function/macro names in a parsed rule."""
    variables: set[str] = set()
    calls: set[str] = set()
    for tree in ast.iter_subtrees():
        if tree.data == "ident":
            variables.add(str(tree.children[0]))
        elif tree.data in ("ident_arg", "dot_ident_arg"):
            calls.add(str(tree.children[0]))
        elif tree.data == "member_dot_arg":
            calls.add(str(tree.children[1]))
    return variables, calls


@cache
def _compile(text: str) -> _Program:
    """Parse and bind one rule; cached by its text, so a rule compiles once per process."""
    ast = parse_rule(text)
    if isinstance(ast, str):
        return _Program(None, "oldSelf" in text, ast)
    environment = _environment()
    variables, calls = _names(ast)
    transition = "oldSelf" in variables
    unknown = sorted(calls - _KNOWN_FUNCTIONS)
    if unknown:
        return _Program(None, transition, f"it calls {', '.join(unknown)}, not available offline")
    functions = FUNCTIONS_WITHOUT_INT if "int" in variables else FUNCTIONS
    return _Program(environment.program(ast, functions=dict(functions)), transition, None)


def compile_cache_info() -> Any:
    """Hits and misses of the rule cache (``functools`` cache info), to prove reuse."""
    return _compile.cache_info()


def _compile_rule(entry: Mapping[str, Any]) -> CompiledRule:
    text = str(entry.get("rule") or "")
    message = str(entry.get("message") or "").strip()
    program = _compile(text)
    expression = entry.get("messageExpression")
    return CompiledRule(
        rule=text,
        message=message or f"failed rule: {text.strip()}",
        label=message or text.strip(),
        reason=str(entry.get("reason") or "FieldValueInvalid"),
        field_path=str(entry.get("fieldPath") or ""),
        transition=program.transition,
        program=program.runner,
        message_program=_compile(str(expression)).runner if expression else None,
        unsupported=program.unsupported,
    )


def _list_map_keys(schema: Mapping[str, Any]) -> tuple[str, ...] | None:
    if schema.get("x-kubernetes-list-type") != "map":
        return None
    return tuple(str(key) for key in schema.get("x-kubernetes-list-map-keys") or ())


def _walk(schema: Mapping[str, Any], path: str, steps: tuple[Step, ...]) -> Iterator[RuleSite]:
    """Pre-order: a node's own rules, then its properties, items and map values."""
    entries = schema.get("x-kubernetes-validations") or ()
    if entries:
        rules = tuple(_compile_rule(entry) for entry in entries)
        yield RuleSite(path or ".", steps, rules)
    for name, child in (schema.get("properties") or {}).items():
        yield from _walk(child, f"{path}.{name}", (*steps, Step("property", str(name))))
    items = schema.get("items")
    if isinstance(items, Mapping):
        item_step = Step("item", map_keys=_list_map_keys(schema))
        yield from _walk(items, f"{path}[]", (*steps, item_step))
    values = schema.get("additionalProperties")
    if isinstance(values, Mapping):
        yield from _walk(values, f"{path}{{*}}", (*steps, Step("value")))


def compile_validations(schema: Mapping[str, Any]) -> CompiledValidations:
    """Collect and compile every CEL rule of a CRD version's ``openAPIV3Schema``.

    Do this once per CRD version and reuse the result: evaluation never compiles.
    """
    return CompiledValidations(tuple(_walk(schema, "", ())))


def _error_text(error: BaseException) -> str:
    """celpy's error as one line, in cel-go's words where they differ (``no such key: x``)."""
    if isinstance(error, TypeError):
        return "no such overload"
    if not isinstance(error, CELEvalError):
        return f"{type(error).__name__}: {error}"
    args = error.args
    text = str(args[0]) if args else "evaluation error"
    detail = args[2] if len(args) > 2 else None
    if isinstance(detail, tuple) and detail:
        inner = detail[0]
        text = (
            inner if text == "evaluation error" and isinstance(inner, str) else f"{text}: {inner}"
        )
    if text.startswith(("no such overload", "found no matching overload")):
        return "no such overload"
    missing = _NO_SUCH_MEMBER.match(text)
    return f"no such key: {missing.group(1)}" if missing else text


def _run(runner: celpy.Runner, activation: dict[str, Any]) -> bool | str:
    """True/False, or the runtime error's text."""
    try:
        value = runner.evaluate(activation)
    except CELEvalError as error:
        return _error_text(error)
    except _RUNTIME_FAILURES as error:
        return _error_text(error)
    if isinstance(value, CELEvalError):
        return _error_text(value)
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    return f"rule evaluated to {type(value).__name__}, not bool"


def _error_message(error: str, rule: CompiledRule) -> str:
    """The API server's wording for a rule that errored at runtime."""
    if error.startswith("no such overload"):
        return (
            f"'{error}': call arguments did not match a supported operator, function or macro "
            f"signature for rule: {rule.label}"
        )
    return f"{error} evaluating rule: {rule.label}"


def _failure_message(rule: CompiledRule, activation: dict[str, Any]) -> str:
    """``messageExpression`` when it yields a usable string, else the static message."""
    if rule.message_program is not None:
        try:
            value = rule.message_program.evaluate(activation)
        except (CELEvalError, *_RUNTIME_FAILURES):
            value = None
        text = value.strip() if isinstance(value, str) else ""
        if text and "\n" not in text:
            return text
    return rule.message


def _skip_reason(rule: CompiledRule, location: Location, has_old: bool) -> str | None:
    if rule.unsupported:
        return f"rule not evaluated: {rule.unsupported}"
    if rule.transition and location.old is None:
        if not has_old:
            return "transition rule (uses oldSelf) not evaluated: no old object to compare with"
        return (
            "transition rule (uses oldSelf) not evaluated: no old value at this path "
            "(a new value, or a list item that cannot be matched to an old one)"
        )
    return None


def _check(
    rule: CompiledRule, site: RuleSite, location: Location, has_old: bool
) -> CelResult | None:
    """One rule on one value; None when it passes."""

    def result(outcome: Outcome, path: str, message: str) -> CelResult:
        return CelResult(
            outcome, path, message, rule.rule, site.schema_path, rule.reason, rule.transition
        )

    skipped = _skip_reason(rule, location, has_old)
    if skipped or rule.program is None:
        return result("skipped", location.path, skipped or "rule not evaluated")
    activation = {"self": location.value}
    if location.old is not None:
        activation["oldSelf"] = location.old
    outcome = _run(rule.program, activation)
    if outcome is True:
        return None
    if isinstance(outcome, str):
        return result("error", location.path, _error_message(outcome, rule))
    path = f"{location.path.rstrip('.')}{rule.field_path}" or "."
    return result("failed", path, _failure_message(rule, activation))


def evaluate(
    compiled: CompiledValidations, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None
) -> list[CelResult]:
    """Run every rule on every value of ``obj`` it applies to; ``old`` is the live object.

    Returns what did not pass (failed, errored or was skipped), in schema order; empty means
    every applicable rule passed.
    """
    new_value = to_cel(obj)
    old_value = to_cel(old) if old is not None else None
    results: list[CelResult] = []
    for site in compiled.sites:
        for location in locate(site.steps, new_value, old_value, ""):
            for rule in site.rules:
                found = _check(rule, site, location, old is not None)
                if found is not None:
                    results.append(found)
    return results


__all__ = [
    "CelResult",
    "CompiledRule",
    "CompiledValidations",
    "Outcome",
    "Parsed",
    "RuleSite",
    "compile_cache_info",
    "compile_validations",
    "evaluate",
    "forget_parsed",
    "parse_count",
    "parse_rule",
    "parsed_rules",
    "rule_texts",
    "seed_parsed",
]
