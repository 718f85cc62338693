"""The one place the CLI prints: a command's result in the format the user chose, its
messages on stderr, and error lines.

``json`` and ``yaml`` are the result's own document (``to_json()``), so every command's
machine output has the same envelope; the human formats (table, wide, csv, text) are a
per-command formatter passed in by the command's CLI module.

Conventions every command shares (docs/cli.md): colour only on a terminal and never under
``NO_COLOR`` (https://no-color.org), ``FORCE_COLOR`` to force it; ``--quiet`` drops the
info and progress lines on stderr but keeps the data, warnings and errors; a reader that
closes the pipe early (``| head -1``) ends the command quietly (:class:`StdoutClosed`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from eks_gpu.commands.result import CommandResult

R = TypeVar("R", bound="CommandResult")
Formatter = Callable[[R], str]
DOCUMENT_FORMATS = ("json", "yaml")
QUIET_KEY = "eks_gpu.quiet"
KEPT_WHEN_QUIET = ("error:", "warning:", "hint:")


class StdoutClosed(Exception):
    """The reader of stdout (or stderr) went away; not an OSError, so click does not turn it
    into a silent exit 1 and :func:`eks_gpu.cli.main.main` can exit as a pipeline expects."""


def colour_enabled(stream: IO[str] | None = None) -> bool:
    """Colour for ``stream`` (stdout by default): never when ``NO_COLOR`` is set to anything,
    always when ``FORCE_COLOR`` is, else only on a terminal."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, colour: str, *, err: bool = False) -> str:
    """``text`` in ``colour`` where colour is on for that stream, else as it is."""
    stream = sys.stderr if err else sys.stdout
    return click.style(text, fg=colour) if colour_enabled(stream) else text


def quiet() -> bool:
    """Whether ``--quiet`` was given (before or after the subcommand)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(QUIET_KEY))


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` with our colour rule; a closed pipe raises :class:`StdoutClosed`."""
    stream = sys.stderr if err else sys.stdout
    try:
        click.echo(text, err=err, nl=nl, color=colour_enabled(stream))
    except BrokenPipeError as error:
        raise StdoutClosed from error


def document_text(result: CommandResult, fmt: str) -> str:
    """``result.to_json()`` as indented JSON or as YAML, newline-terminated."""
    if fmt == "yaml":
        from eks_gpu.render.serialize import to_yaml

        return to_yaml(result.to_json())
    import json

    return json.dumps(result.to_json(), indent=2) + "\n"


def emit(result: R, fmt: str, formatters: Mapping[str, Formatter[R]] | None = None) -> int:
    """Print ``result`` as ``fmt``, then its messages on stderr; returns its exit code.

    Under ``--quiet`` the messages are left out when the command succeeded (they are the
    info lines then); when it did not, they say why and are kept."""
    chosen = (formatters or {}).get(fmt)
    if chosen is None and fmt not in DOCUMENT_FORMATS:
        raise ValueError(f"no {fmt!r} formatter for {type(result).__name__}")  # a CLI bug
    echo(chosen(result) if chosen else document_text(result, fmt), nl=False)
    if not (quiet() and result.exit_code == 0):
        for message in result.messages:
            echo(message, err=True)
    return result.exit_code


def say(line: str, *, err: bool = False) -> None:
    """One extra line (e.g. ``wrote FILE`` after a side effect the document does not hold);
    on stderr it is an info line, left out under ``--quiet`` unless it is a warning."""
    if err and quiet() and not line.startswith(KEPT_WHEN_QUIET):
        return
    echo(line, err=err)


def error_lines(lines: list[str]) -> None:
    """An expected error on stderr: ``error:`` first, then detail and ``hint:`` lines."""
    for line in lines:
        prefixed = line.startswith(("error:", "hint:", "  "))
        echo(line if prefixed else f"error: {line}", err=True)


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 error``, ``2 errors``, ``0 errors`` (``plural_form`` for irregular nouns)."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"


__all__ = [
    "DOCUMENT_FORMATS",
    "QUIET_KEY",
    "Formatter",
    "StdoutClosed",
    "colour_enabled",
    "document_text",
    "echo",
    "emit",
    "error_lines",
    "paint",
    "plural",
    "quiet",
    "say",
]
