"""Write a file whole or not at all: a temporary file in the same folder, then a rename.

A cache file cut short (disk full, a file-size limit, Ctrl-C) would otherwise be read back
as damaged on every later run; with the rename, readers see the old file or the new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``; on any failure ``path`` is untouched and no temporary
    file is left behind (the error propagates: ``OSError`` for the disk's refusal)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


def write_text_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all, for a command's output file; the
    disk's refusal (full, read-only, a size limit) is a usage error naming the file."""
    from eks_gpu.errors import UsageError

    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as error:
        raise UsageError(
            f"could not write {path}: {error.strerror or error}",
            hint="free space or pick a writable place; nothing half-written was left",
        ) from None


__all__ = ["write_atomic", "write_text_file"]
