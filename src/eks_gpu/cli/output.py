"""The one place the CLI prints: a command's result in the format the user chose, its
messages on stderr, and error lines.

``json`` and ``yaml`` are the result's own document (``to_json()``), so every command's
machine output has the same envelope; the human formats (table, wide, csv, text) are a
per-command formatter passed in by the command's CLI module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from eks_gpu.commands.result import CommandResult

R = TypeVar("R", bound="CommandResult")
Formatter = Callable[[R], str]
DOCUMENT_FORMATS = ("json", "yaml")


def document_text(result: CommandResult, fmt: str) -> str:
    """``result.to_json()`` as indented JSON or as YAML, newline-terminated."""
    if fmt == "yaml":
        from eks_gpu.render.serialize import to_yaml

        return to_yaml(result.to_json())
    import json

    return json.dumps(result.to_json(), indent=2) + "\n"


def emit(result: R, fmt: str, formatters: Mapping[str, Formatter[R]] | None = None) -> int:
    """Print ``result`` as ``fmt``, then its messages on stderr; returns its exit code."""
    chosen = (formatters or {}).get(fmt)
    if chosen is None and fmt not in DOCUMENT_FORMATS:
        raise ValueError(f"no {fmt!r} formatter for {type(result).__name__}")  # a CLI bug
    click.echo(chosen(result) if chosen else document_text(result, fmt), nl=False)
    for message in result.messages:
        click.echo(message, err=True)
    return result.exit_code


def say(line: str, *, err: bool = False) -> None:
    """One extra line (e.g. ``wrote FILE`` after a side effect the document does not hold)."""
    click.echo(line, err=err)


def error_lines(lines: list[str]) -> None:
    """An expected error on stderr: ``error:`` first, then detail and ``hint:`` lines."""
    for line in lines:
        prefixed = line.startswith(("error:", "hint:", "  "))
        click.echo(line if prefixed else f"error: {line}", err=True)


__all__ = ["DOCUMENT_FORMATS", "Formatter", "document_text", "emit", "error_lines", "say"]
