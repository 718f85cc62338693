"""``validate -o sarif``: the SARIF 2.1.0 log of a validation, with each finding located in
its file (and line) for GitHub code scanning. Reads the validated files again, once each, to
find lines; the log itself is built by :mod:`eks_gpu.validate.sarif`."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eks_gpu.commands.validate import ValidationResult
    from eks_gpu.validate.findings import Finding
    from eks_gpu.validate.sarif import SourceLocation

STDIN_URI = "stdin"
RENDER_URI = "eks-gpu-render"
_RENDER = "render ("


def relative_uri(source: str) -> str:
    """A file as a URI relative to the working directory (the repository root in CI)."""
    path = Path(source)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_uri()
    return path.as_posix()


@cache
def _text(source: str) -> str | None:
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _non_file(source: str) -> str:
    """Objects not read from a file: stdin, or the render (its config file when it has one)."""
    if source == "-":
        return STDIN_URI
    if source.startswith(_RENDER) and source.endswith(")"):
        config = source[len(_RENDER) : -1]
        return relative_uri(config) if Path(config).is_file() else RENDER_URI
    return RENDER_URI


def locator(result: ValidationResult) -> Callable[[Finding], SourceLocation]:
    """Finding -> file and line: the object's file and document from ``result.origins``, the
    line of the finding's path in it (a duplicate key's own line)."""
    from eks_gpu.validate.sarif import SourceLocation, finding_line, line_of

    origins: dict[str, tuple[str, int]] = {}
    for ref, source, index in result.origins:
        origins.setdefault(ref, (source, index))

    def locate(finding: Finding) -> SourceLocation:
        source, index = origins.get(finding.object, ("", 0))
        if not source or not Path(source).is_file():
            return SourceLocation(_non_file(source))
        text = _text(source)
        line = finding_line(finding) or (line_of(text, index, finding.path) if text else None)
        return SourceLocation(relative_uri(source), line)

    return locate


def sarif_text(result: ValidationResult) -> str:
    """The SARIF log as indented JSON, newline-terminated."""
    import json

    from eks_gpu import __version__
    from eks_gpu.validate.rules import ALL_RULES
    from eks_gpu.validate.sarif import sarif_log

    summaries: dict[str, str] = {str(rule.id): rule.summary for rule in ALL_RULES}
    log = sarif_log(result.findings, locator(result), summaries, result.skipped, __version__)
    return json.dumps(log, indent=2) + "\n"


__all__ = ["RENDER_URI", "STDIN_URI", "locator", "relative_uri", "sarif_text"]
