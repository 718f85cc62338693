"""kubectl-style plain tables: upper-case headers, columns two spaces apart, no colour.

Plain text keeps output pipeable (``| grep``, ``| awk``) and byte-stable for tests. On a
terminal (``COLUMNS`` overriding its width) a table is fitted to its width: the widest columns are
narrowed and their long cells wrap onto more lines, so nothing is lost; piped output and
``-o wide`` keep one line per row.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import textwrap
from collections.abc import Sequence

Cell = str | int | float | None
GAP = 2
MIN_COLUMN = 8


def _text(cell: Cell) -> str:
    return "-" if cell is None else str(cell)


def terminal_width() -> int | None:
    """The terminal's width (``COLUMNS`` overrides it, as :func:`shutil.get_terminal_size`
    reads it); None when stdout is not a terminal: a pipe or a file gets whole cells, as from
    kubectl, whatever ``COLUMNS`` says (GNU readline exports it to child processes, so a
    script's environment may carry one that has nothing to do with where output goes)."""
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def fit_widths(widths: Sequence[int], headers: Sequence[str], limit: int) -> list[int]:
    """Column widths whose lines fit ``limit``: the widest column loses a character at a time
    (never below its header or ``MIN_COLUMN``) until the table fits or nothing can shrink."""
    fitted = list(widths)
    floors = [
        min(width, max(len(header), MIN_COLUMN))
        for width, header in zip(widths, headers, strict=True)
    ]
    excess = sum(fitted) + GAP * (len(fitted) - 1) - limit
    while excess > 0:
        shrinkable = [i for i, width in enumerate(fitted) if width > floors[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: fitted[i])
        fitted[widest] -= 1
        excess -= 1
    return fitted


def _wrap(cell: str, width: int) -> list[str]:
    """``cell`` in lines of at most ``width`` (at spaces and hyphens, else mid-word)."""
    if len(cell) <= width:
        return [cell]
    return textwrap.wrap(cell, width, break_on_hyphens=True) or [""]


def _row_lines(cells: Sequence[str], widths: Sequence[int]) -> str:
    """One row, as many lines as its tallest wrapped cell."""
    wrapped = [_wrap(cell, width) for cell, width in zip(cells, widths, strict=True)]
    height = max(len(parts) for parts in wrapped)
    return "".join(
        "  ".join(
            (parts[i] if i < len(parts) else "").ljust(width)
            for parts, width in zip(wrapped, widths, strict=True)
        ).rstrip()
        + "\n"
        for i in range(height)
    )


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, wide: bool = False
) -> str:
    """Left-aligned columns, padded to the widest cell; ``None`` prints as ``-``; fitted to
    :func:`terminal_width` unless ``wide``."""
    texts = [[_text(cell) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in texts:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    limit = None if wide else terminal_width()
    if limit is not None:
        widths = fit_widths(widths, headers, limit)
    return "".join(_row_lines(line, widths) for line in [headers, *texts])


def format_csv(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """RFC 4180 CSV with a header row; ``None`` is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
    return buffer.getvalue()


__all__ = ["Cell", "fit_widths", "format_csv", "format_table", "terminal_width"]
