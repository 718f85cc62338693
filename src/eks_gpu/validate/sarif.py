"""``validate -o sarif``: findings as a SARIF 2.1.0 log, the format GitHub code scanning reads
(as it reads checkov's).

Pure: the caller says where each finding's object lives (:class:`SourceLocation`, from the
loaders' file and document index) and hands in the file texts; :func:`line_of` finds the
line of a document or of a field inside it. GitHub's requirements
(docs.github.com "SARIF support for code scanning"): ``tool.driver.name`` and ``rules``
(one per ``ruleId``, with ``shortDescription``/``fullDescription``/``help``), and for each
result ``ruleId``, ``level``, ``message.text`` and one ``physicalLocation`` whose
``artifactLocation.uri`` is relative to the repository root, with ``region.startLine`` when
known.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from eks_gpu.validate.findings import Finding

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "eks-gpu"
# SARIF's levels: error, warning, note (ours: info).
LEVELS: dict[str, str] = {"error": "error", "warning": "warning", "info": "note"}
# The rule ids that are not GPU lint rules, with what they check.
CHECK_HELP: dict[str, str] = {
    "schema": "Karpenter custom resource does not match its CRD's OpenAPI schema "
    "(the API server refuses it)",
    "cel": "Karpenter custom resource breaks a CEL rule (x-kubernetes-validations) of its "
    "CRD (the API server refuses it)",
    "core-schema": "Kubernetes object does not match the OpenAPI schema of its kind "
    "(strict: unknown fields are errors)",
    "duplicate-key": "a key appears twice in one YAML mapping (the API server's strict "
    "decoding refuses it)",
    "karpenter-version": "a field newer than the Karpenter version validated against",
    "type-meta": "apiVersion or kind missing or not a string (kubectl and the API server "
    "refuse the object)",
}
_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[([^\]]*)\]")
_SOURCE_LINE = re.compile(r":(\d+):(\d+)$")


@dataclass(frozen=True)
class SourceLocation:
    """Where a finding points: a path relative to the repository (``uri``) and a 1-based line."""

    uri: str
    line: int | None = None


def _document_node(text: str, index: int) -> yaml.Node | None:
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for position, node in enumerate(yaml.compose_all(text, Loader=loader)):
            if position == index:
                return node if isinstance(node, yaml.Node) else None
    except yaml.YAMLError:
        return None
    return None


def _child(node: yaml.Node, segment: str) -> tuple[yaml.Node, int] | None:
    """The value at ``segment`` and the 0-based line that names it (a key's own line)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == segment:
                return (value, key.start_mark.line) if isinstance(value, yaml.Node) else None
    if isinstance(node, yaml.SequenceNode) and segment.isdigit():
        items = [item for item in node.value if isinstance(item, yaml.Node)]
        position = int(segment)
        if position < len(items):
            return items[position], items[position].start_mark.line
    return None


def line_of(text: str, index: int, path: str) -> int | None:
    """The 1-based line of ``path`` (``.spec.limits``, ``.items[2].key``) in document
    ``index`` of ``text``: the line of the deepest part of the path that exists (a key's own
    line), else the document's first line; None when the document is not there (or the text
    is not YAML)."""
    node = _document_node(text, index)
    if node is None:
        return None
    line = int(node.start_mark.line)
    for match in _SEGMENT.finditer(path):
        found = _child(node, match.group(1) or match.group(2))
        if found is None:
            break
        node, line = found
    return line + 1


def finding_line(finding: Finding) -> int | None:
    """A duplicate-key finding's path ends in ``:line:column``: its line; else None."""
    match = _SOURCE_LINE.search(finding.path)
    return int(match.group(1)) if match else None


def _rule(rule_id: str, summary: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": summary},
        "help": {
            "text": f"{summary}. See `eks-gpu validate --help` and docs/ci.md.",
            "markdown": f"{summary}.\n\nRun `eks-gpu validate` locally for the fix of each "
            "finding.",
        },
    }


def _result(finding: Finding, rule_index: int, where: SourceLocation) -> dict[str, Any]:
    text = f"{finding.object} {finding.path}: {finding.message}"
    if finding.fix:
        text += f" Fix: {finding.fix}"
    physical: dict[str, Any] = {"artifactLocation": {"uri": where.uri, "uriBaseId": "%SRCROOT%"}}
    if where.line is not None:
        physical["region"] = {"startLine": where.line}
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": physical,
                "logicalLocations": [{"fullyQualifiedName": finding.object, "kind": "object"}],
            }
        ],
        "properties": {"object": finding.object, "path": finding.path},
    }


def sarif_log(
    findings: Sequence[Finding],
    locate: Callable[[Finding], SourceLocation],
    lint_summaries: Mapping[str, str],
    skipped: Iterable[str] = (),
    tool_version: str = "",
) -> dict[str, Any]:
    """One SARIF run: a rule for every rule id (the GPU lint rules' summaries from
    ``lint_summaries``, :data:`CHECK_HELP` for the others), a result for every finding, and
    the checks that did not run as tool notifications."""
    summaries = {**CHECK_HELP, **lint_summaries}
    rule_ids = sorted(summaries)
    extra = sorted({f.rule for f in findings} - set(summaries))
    rules = [_rule(rule_id, summaries[rule_id]) for rule_id in rule_ids]
    rules += [_rule(rule_id, rule_id) for rule_id in extra]
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    driver: dict[str, Any] = {"name": TOOL_NAME, "rules": rules}
    if tool_version:
        driver["version"] = tool_version
    notes = [{"level": "note", "message": {"text": f"skipped: {item}"}} for item in skipped]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "results": [_result(f, index[f.rule], locate(f)) for f in findings],
        "columnKind": "utf16CodeUnits",
    }
    if notes:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": notes}]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


__all__ = [
    "CHECK_HELP",
    "LEVELS",
    "SARIF_VERSION",
    "SourceLocation",
    "finding_line",
    "line_of",
    "sarif_log",
]
