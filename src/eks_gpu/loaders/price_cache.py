"""The refreshed price cache: ``<cache dir>/prices-<region>.json``, one file per region.

``catalog refresh`` writes it; every command that shows a price reads it, falling back to
the bundled us-east-1 table. The file's content is :class:`PriceBook`'s own JSON, so
parsing and its errors stay in :mod:`eks_gpu.catalog.prices`; only the path and the disk
live here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from eks_gpu.catalog.prices import BUNDLED_REGION, PriceBook, bundled_price_book
from eks_gpu.errors import EXIT_USAGE, CatalogError, UsageError
from eks_gpu.loaders.atomic_file import write_atomic
from eks_gpu.loaders.cache_dir import cache_dir


def cache_path(region: str) -> Path:
    """Where the refreshed prices of ``region`` live."""
    return cache_dir() / f"prices-{region}.json"


def load_price_book(region: str | None = None) -> PriceBook:
    """The refreshed cache for ``region`` if there is one, else the bundled table (us-east-1)."""
    wanted = region or BUNDLED_REGION
    path = cache_path(wanted)
    if path.is_file():
        book = _read_cache(path)
        if wanted == BUNDLED_REGION:
            # The refresh fetches GPU types only; keep the bundled prices of everything else.
            merged = {**bundled_price_book().on_demand, **book.on_demand}
            book = replace(book, on_demand=merged)
        return book
    if wanted == BUNDLED_REGION:
        return bundled_price_book()
    return PriceBook(wanted, "none", "")


class DamagedCacheError(CatalogError):
    """A price cache that cannot be read: the user's file (exit 2, delete or refresh it), not
    a broken install (a plain :class:`CatalogError`, exit 70, "report the traceback")."""

    exit_code = EXIT_USAGE


def _read_cache(path: Path) -> PriceBook:
    """The cache at ``path``; damaged (not UTF-8, not a cache, JSON nested past the stack) is
    a :class:`DamagedCacheError` naming the file."""
    hint = f"delete it, or run `eks-gpu catalog refresh` again: {path}"
    try:
        return PriceBook.from_json(path.read_text(encoding="utf-8"), str(path))
    except CatalogError as error:
        raise DamagedCacheError(error.message, hint=error.hint or hint) from None
    except (OSError, UnicodeDecodeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise DamagedCacheError(f"{path}: not a valid price cache ({reason})", hint=hint) from None


def save_price_book(book: PriceBook) -> Path:
    """Write ``book`` to its region's cache file, whole or not at all; returns the path."""
    path = cache_path(book.region)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, book.to_json().encode("utf-8"))
    except OSError as error:
        raise UsageError(
            f"cannot write the price cache {path}: {error}",
            hint="check the disk space and permissions, or set EKS_GPU_CACHE_DIR",
        ) from None
    return path


__all__ = ["DamagedCacheError", "cache_path", "load_price_book", "save_price_book"]
