"""Which prices a command uses: a region's refreshed cache, else the bundled us-east-1 table.

The one caller of the price cache, so moving the cache's file I/O (to ``loaders/``) changes
this module only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eks_gpu.catalog.prices import PriceBook


def price_book(region: str | None) -> PriceBook:
    """The prices for ``region`` (None: the bundled region)."""
    from eks_gpu.loaders.price_cache import load_price_book

    return load_price_book(region)


def cache_file(region: str) -> Path | None:
    """The refreshed cache file of ``region``, when there is one."""
    from eks_gpu.loaders.price_cache import cache_path

    path = cache_path(region)
    return path if path.is_file() else None


__all__ = ["cache_file", "price_book"]
