"""Parse ``eks-gpu.yaml`` text into a :class:`GpuConfig`, or fail with one line per problem.

This is the config's boundary: YAML syntax, field types and cross-field rules are all
checked here, and every failure becomes a :class:`ConfigError` whose problems name the
field path, the bad value and what is allowed. Past this point the code trusts the model.
Parsing is pure (text and a source name in, a config out), so tests and ``--profile`` need
no file; reading the file is :func:`eks_gpu.loaders.config_file.load_config`'s job.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from eks_gpu.config.checks import config_problems
from eks_gpu.config.fields import PATTERN_WORDS
from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.errors import ConfigError, Problem
from eks_gpu.manifests.document import ExcessiveAliasing, load_yaml
from eks_gpu.spelling import did_you_mean

KEY_MARKER = "[key]"
CONFIG_HINT = "fix the fields above; `eks-gpu init` writes a commented example"


def format_path(loc: tuple[int | str, ...]) -> str:
    """``('nodePools', 0, 'limits', 'nvidia.com/gpu')`` -> ``nodePools[0].limits[nvidia.com/gpu]``.

    Field names join with dots, list indices and map keys go in brackets, so one map entry
    is spelled the same whether pydantic or :mod:`eks_gpu.config.checks` reports it.
    pydantic's ``[key]`` marker (the key itself is wrong) is dropped: the message says so.
    """
    return _walk(loc)[0]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None``, ``list[X]`` or ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, dict, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {(info.alias or name): info for name, info in model.model_fields.items()}


def _walk(loc: tuple[int | str, ...]) -> tuple[str, type[BaseModel] | None]:
    """The printable path of ``loc`` and the model its last element holds (None: no model)."""
    model: type[BaseModel] | None = GpuConfig
    out = ""
    for part in loc:
        if part == KEY_MARKER:
            continue
        fields = _fields(model) if model is not None else {}
        if isinstance(part, str) and part in fields:
            out += f".{part}" if out else part
            model = _model_in(fields[part].annotation)
        elif isinstance(part, str) and model is not None:
            out += f".{part}" if out else part  # a field the model does not have
        else:
            out += f"[{part}]"  # a list index (items share the model) or a map key
    return out, model


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model in which ``loc``'s last element is a key (for listing allowed keys)."""
    return _walk(loc[:-1])[1] if len(loc) > 1 else GpuConfig


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _reason(kind: str, ctx: dict[str, Any], shown: str, msg: str) -> str:
    """Why a value was refused, and what is allowed instead."""
    if kind == "string_type" and shown[:1] not in ("'", '"'):
        return f'{shown} is not a string; quote it in YAML: "{shown}"'
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"{shown} is not allowed; expected {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        words = PATTERN_WORDS.get(str(ctx.get("pattern")), f"to match {ctx.get('pattern')}")
        return f"{shown} is not valid; expected {words}"
    if kind in ("value_error", "assertion_error"):
        return f"{shown}: {msg.removeprefix('Value error, ')}"
    return f"{shown}: {msg[:1].lower()}{msg[1:]}"


def _describe(error: ErrorDetails) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    if kind == "extra_forbidden":
        model = _model_at(error["loc"])
        key = str(error["loc"][-1])
        if model is None:
            return "unknown field"
        allowed = _allowed_keys(model)
        return f"unknown field{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}"
    reason = _reason(kind, ctx, shown, str(error["msg"]))
    return f"bad map key: {reason}" if KEY_MARKER in error["loc"] else reason


def problems_from(error: ValidationError) -> list[Problem]:
    """One :class:`Problem` per pydantic error, with a readable path and message."""
    return [Problem(format_path(tuple(e["loc"])), _describe(e)) for e in error.errors()]


def config_from_data(data: Any, source: str = "eks-gpu.yaml") -> GpuConfig:
    """Validate already-parsed YAML/JSON data; raise :class:`ConfigError` on any problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problem = Problem("", f"the top level must be a mapping, got {type(data).__name__}")
        raise ConfigError(source, [problem], hint=CONFIG_HINT)
    try:
        config = GpuConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(source, problems_from(error), hint=CONFIG_HINT) from None
    problems = config_problems(config)
    if problems:
        raise ConfigError(source, problems, hint=CONFIG_HINT)
    return config


def _precise_error(text: str, error: yaml.YAMLError) -> yaml.YAMLError:
    """PyYAML's own parser's error for ``text`` when libyaml refused its syntax: it quotes the
    offending character (``found character '\\t' that cannot start any token``). Not for a
    bomb or libyaml's depth limit: those are precise already, and the pure parser is slow on
    very deep input."""
    if isinstance(error, ExcessiveAliasing) or "nesting depth" in str(error):
        return error
    try:
        load_yaml(text, precise=True)
    except yaml.YAMLError as precise:
        return precise
    return error


def config_from_text(text: str, source: str = "eks-gpu.yaml") -> GpuConfig:
    """Parse YAML text (one document) and validate it.

    The YAML is read as manifests are (:func:`eks_gpu.manifests.document.load_yaml`), so a
    YAML bomb or nesting too deep to build is a :class:`ConfigError`, not a hang or a crash.
    """
    try:
        documents = [document for document, _ in load_yaml(text)]
    except yaml.YAMLError as fast_error:
        error = _precise_error(text, fast_error)
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError(
            source, [Problem(where, f"not valid YAML: {reason}")], hint=CONFIG_HINT
        ) from None
    if len(documents) > 1:
        problem = Problem("", f"expected one YAML document, found {len(documents)}")
        raise ConfigError(source, [problem], hint=CONFIG_HINT)
    return config_from_data(documents[0] if documents else None, source)


__all__ = ["config_from_data", "config_from_text", "format_path", "problems_from"]
