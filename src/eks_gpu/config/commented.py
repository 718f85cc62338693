"""Write a config as YAML with every field's description as a comment.

The comments come from the model's ``Field(description=...)``, so the file ``init`` writes
documents exactly the fields the loader accepts. Unset optional fields appear commented
out, so users can see what exists without reading the docs.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

INDENT = "  "


def _scalar(value: Any) -> str:
    """A value on one line, in YAML flow style (``[a, b]``, ``{k: v}``, ``'true'``)."""
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def _field_lines(model: BaseModel, indent: str, first_prefix: str | None = None) -> list[str]:
    """The lines of ``model``'s fields; ``first_prefix`` replaces the first key's indent."""
    lines: list[str] = []
    for name, info in type(model).model_fields.items():
        key = info.alias or name
        value = getattr(model, name)
        lead = indent
        if first_prefix is not None and not lines:
            lead = first_prefix
        if info.description:
            lines.append(f"{lead}# {info.description}")
            lead = indent
        lines.extend(_value_lines(key, value, lead, indent))
    return lines


def _value_lines(key: str, value: Any, lead: str, indent: str) -> list[str]:
    if value is None:
        return [f"{lead}# {key}:"]
    if isinstance(value, BaseModel):
        return [f"{lead}{key}:", *_field_lines(value, indent + INDENT)]
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        lines = [f"{lead}{key}:"]
        for item in value:
            lines.extend(_field_lines(item, indent + INDENT, first_prefix=f"{indent}- "))
        return lines
    return [f"{lead}{key}: {_scalar(_plain(value))}"]


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def commented_yaml(config: BaseModel, header: list[str]) -> str:
    """``config`` as commented YAML, with ``header`` lines as the opening comment block."""
    lines = [f"# {line}" if line else "#" for line in header]
    lines += _field_lines(config, "")
    return "\n".join(lines) + "\n"


__all__ = ["commented_yaml"]
