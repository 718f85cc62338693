"""kubectl-style plain tables: upper-case headers, columns two spaces apart, no colour.

Plain text keeps output pipeable (``| grep``, ``| awk``) and byte-stable for tests.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

Cell = str | int | float | None


def _text(cell: Cell) -> str:
    return "-" if cell is None else str(cell)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """Left-aligned columns, padded to the widest cell; ``None`` prints as ``-``."""
    texts = [[_text(cell) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in texts:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [headers, *texts]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )


def format_csv(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """RFC 4180 CSV with a header row; ``None`` is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
    return buffer.getvalue()


__all__ = ["Cell", "format_csv", "format_table"]
