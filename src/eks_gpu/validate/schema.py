"""A CRD version's ``openAPIV3Schema`` as a JSON Schema, with structural-schema semantics.

The API server checks a custom resource against its CRD's structural schema; this module
does the same offline with :mod:`jsonschema`, for any CRD. The conversion is strict:

* an object that declares ``properties`` rejects unknown fields (``additionalProperties:
  false``). Kubernetes prunes them silently, but an unknown field in a manifest is almost
  always a typo or a field of another version, which is what a validator is for;
* ``x-kubernetes-preserve-unknown-fields`` keeps an object open;
* ``x-kubernetes-int-or-string`` accepts an integer or a string;
* ``nullable`` also accepts ``null``; ``x-kubernetes-list-type: set`` rejects duplicates;
* OpenAPI 3.0's boolean ``exclusiveMinimum``/``exclusiveMaximum`` become JSON Schema numbers;
* ``format``, ``default``, ``description`` and the CEL rules (``x-kubernetes-validations``,
  see :mod:`eks_gpu.validate.cel`) are not checked here; defaults are not applied;
* any other keyword is an error, so the converter never ignores a constraint by accident.

The top-level ``metadata`` accepts any object (the API server validates it, not the CRD).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

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


def schema_validator(openapi: dict[str, Any], check: bool = True) -> Draft202012Validator:
    """A validator for a CRD version's ``openAPIV3Schema``, checked against the metaschema
    unless ``check`` is False (a schema an earlier run checked: the check costs more than the
    conversion)."""
    schema = crd_to_json_schema(openapi)
    if check:
        Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def json_path(error: ValidationError) -> str:
    """``.spec.template.spec.requirements[2].operator`` for a jsonschema error."""
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out or "."


def schema_violations(
    validator: Draft202012Validator, obj: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    """``(path, message)`` for every violation, in path order."""
    errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        yield json_path(error), error.message


__all__ = [
    "convert",
    "crd_to_json_schema",
    "json_path",
    "schema_validator",
    "schema_violations",
]
