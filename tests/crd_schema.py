"""A CRD version's ``openAPIV3Schema`` as a JSON Schema, with structural-schema semantics.

The API server checks a custom resource against its CRD's structural schema; this module lets
tests do the same offline with :mod:`jsonschema`. The conversion is deliberately strict:

* an object that declares ``properties`` rejects unknown fields (``additionalProperties:
  false``). Kubernetes would prune them silently, but in our rendered output an unknown field
  is a bug (a typo, or a field of another Karpenter version);
* ``x-kubernetes-preserve-unknown-fields`` keeps an object open;
* ``x-kubernetes-int-or-string`` accepts an integer or a string;
* ``nullable`` also accepts ``null``;
* ``x-kubernetes-list-type: set`` rejects duplicate items, as the API server does;
* OpenAPI 3.0's boolean ``exclusiveMinimum``/``exclusiveMaximum`` become JSON Schema numbers;
* ``format``, ``default``, ``description``, the other list/map markers and the CEL rules
  (``x-kubernetes-validations``) are dropped: formats are not asserted, defaults are not
  applied, and CEL is out of scope here;
* any keyword not listed here is an error, so the converter never ignores a constraint by
  accident.

The top-level ``metadata`` accepts any object (the API server validates it, not the CRD).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

CRD_FILES: dict[str, str] = {
    "NodePool": "karpenter.sh_nodepools.yaml",
    "NodeClaim": "karpenter.sh_nodeclaims.yaml",
    "EC2NodeClass": "karpenter.k8s.aws_ec2nodeclasses.yaml",
}
"""Kind -> upstream CRD file under ``<reference>/karpenter``."""

# Keywords with the same meaning in OpenAPI v3 (as Kubernetes uses it) and JSON Schema.
_COPIED = frozenset(
    {
        "type",
        "enum",
        "required",
        "pattern",
        "minimum",
        "maximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)
# Keywords that carry no check we make here.
_DROPPED = frozenset(
    {
        "description",
        "default",
        "example",
        "externalDocs",
        "format",
        "title",
        "x-kubernetes-validations",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-embedded-resource",
    }
)
# Keywords handled by :func:`convert` itself.
_HANDLED = frozenset(
    {
        "properties",
        "additionalProperties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "nullable",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-list-type",
    }
)


def _bounds(node: dict[str, Any], out: dict[str, Any]) -> None:
    """OpenAPI 3.0 ``minimum: n`` + ``exclusiveMinimum: true`` -> ``exclusiveMinimum: n``."""
    for bound in ("minimum", "maximum"):
        flag = f"exclusive{bound.capitalize()}"
        if node.get(flag) is True and bound in out:
            out[flag] = out.pop(bound)
        elif type(node.get(flag)) in (int, float):  # already JSON Schema style
            out[flag] = node[flag]


def _convert_object(node: dict[str, Any], out: dict[str, Any], structural: bool) -> None:
    """``properties``/``additionalProperties``, closing declared objects when ``structural``."""
    if "properties" in node:
        out["properties"] = {k: convert(v, structural) for k, v in node["properties"].items()}
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = convert(extra, structural)
    elif isinstance(extra, bool):
        out["additionalProperties"] = extra
    elif (
        structural and "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False


def convert(node: dict[str, Any], structural: bool = True) -> dict[str, Any]:
    """One OpenAPI v3 schema node as JSON Schema.

    ``structural`` is false inside ``allOf``/``anyOf``/``oneOf``/``not``: those branches only
    add value checks to fields the structural part declares, so they must not close objects.
    """
    unknown = set(node) - _COPIED - _DROPPED - _HANDLED
    if unknown:
        raise ValueError(f"unsupported schema keyword(s): {', '.join(sorted(unknown))}")
    out = {key: value for key, value in node.items() if key in _COPIED}
    _bounds(node, out)
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    _convert_object(node, out, structural)
    if "items" in node:
        out["items"] = convert(node["items"], structural)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            out[key] = [convert(branch, structural=False) for branch in node[key]]
    if "not" in node:
        out["not"] = convert(node["not"], structural=False)
    return out


def crd_to_json_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """A CRD version's whole ``openAPIV3Schema`` as a Draft 2020-12 JSON Schema."""
    schema = convert(openapi)
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@cache
def _read_crd(path: Path) -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return crd


def crd_version(path: Path, version: str = "v1") -> dict[str, Any]:
    """The ``spec.versions[]`` entry called ``version`` of the CRD file at ``path``."""
    for entry in _read_crd(path)["spec"]["versions"]:
        if entry["name"] == version:
            return dict(entry)
    raise KeyError(f"{path.name} has no version {version!r}")


@cache
def load_crd_schema(path: Path, version: str = "v1") -> dict[str, Any]:
    """The JSON Schema of ``version`` of the CRD at ``path`` (cached: do not mutate it)."""
    schema = crd_to_json_schema(crd_version(path, version)["schema"]["openAPIV3Schema"])
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def validator_for(kind: str, reference: Path, version: str = "v1") -> Draft202012Validator:
    """A validator for ``kind`` (a key of :data:`CRD_FILES`) from the upstream CRD."""
    path = reference / "karpenter" / CRD_FILES[kind]
    declared = _read_crd(path)["spec"]["names"]["kind"]
    if declared != kind:
        raise ValueError(f"{path.name} defines {declared}, not {kind}")
    return Draft202012Validator(load_crd_schema(path, version))


def _where(json_path: str) -> str:
    """``$.spec.template`` -> ``spec.template``; the root is ``<root>``."""
    return json_path.removeprefix("$").removeprefix(".") or "<root>"


def schema_errors(obj: dict[str, Any], reference: Path) -> list[str]:
    """Every schema violation of ``obj`` (chosen by its ``kind``), as ``path: message`` lines."""
    validator = validator_for(obj["kind"], reference)
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_where(e.json_path)}: {e.message}" for e in errors]


__all__ = [
    "CRD_FILES",
    "convert",
    "crd_to_json_schema",
    "crd_version",
    "load_crd_schema",
    "schema_errors",
    "validator_for",
]
