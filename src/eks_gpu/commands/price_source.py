"""Which prices a command uses: a region's refreshed cache, else the bundled us-east-1 table
(for another region, as a labelled estimate with the region's bundled zones).

The one caller of the price cache, so moving the cache's file I/O (to ``loaders/``) changes
this module only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eks_gpu.catalog.prices import PriceBook


def price_book(region: str | None, *, strict: bool = False) -> PriceBook:
    """The prices for ``region`` (None: the bundled region). ``strict`` when the user named
    the region (``--region``): one neither refreshed nor bundled is then a ``UsageError``
    listing the known regions; else (a region read off a cluster) it has no prices."""
    from eks_gpu.loaders.price_cache import load_price_book

    book = load_price_book(region)
    if strict and book.source == "none":
        from eks_gpu.catalog.offerings import check_known_region

        check_known_region(book.region)
    return book


def cache_file(region: str) -> Path | None:
    """The refreshed cache file of ``region``, when there is one."""
    from eks_gpu.loaders.price_cache import cache_path

    path = cache_path(region)
    return path if path.is_file() else None


__all__ = ["cache_file", "price_book"]
