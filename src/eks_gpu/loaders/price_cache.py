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
from eks_gpu.loaders.cache_dir import cache_dir


def cache_path(region: str) -> Path:
    """Where the refreshed prices of ``region`` live."""
    return cache_dir() / f"prices-{region}.json"


def load_price_book(region: str | None = None) -> PriceBook:
    """The refreshed cache for ``region`` if there is one, else the bundled table (us-east-1)."""
    wanted = region or BUNDLED_REGION
    path = cache_path(wanted)
    if path.is_file():
        book = PriceBook.from_json(path.read_text(encoding="utf-8"), str(path))
        if wanted == BUNDLED_REGION:
            # The refresh fetches GPU types only; keep the bundled prices of everything else.
            merged = {**bundled_price_book().on_demand, **book.on_demand}
            book = replace(book, on_demand=merged)
        return book
    if wanted == BUNDLED_REGION:
        return bundled_price_book()
    return PriceBook(wanted, "none", "")


def save_price_book(book: PriceBook) -> Path:
    """Write ``book`` to its region's cache file; returns the path."""
    path = cache_path(book.region)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(book.to_json(), encoding="utf-8")
    return path


__all__ = ["cache_path", "load_price_book", "save_price_book"]
