"""Which prices a command uses: a region's refreshed cache, else the bundled us-east-1 table
(for another region, where the command asks, as a labelled estimate with the region's
bundled zones).

The one caller of the price cache, so moving the cache's file I/O (to ``loaders/``) changes
this module only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eks_gpu.catalog.prices import PriceBook


def price_book(region: str | None, *, estimate: bool = False) -> PriceBook:
    """The prices for ``region`` (None: the bundled region): its refreshed cache, else the
    bundled us-east-1 table.

    For another region without a refresh, ``estimate`` (plan, simulate, recommend: the user
    named the region, and the output labels every price) gives the bundled table as a
    labelled estimate with the region's own zones and GPU offerings; a region the bundled
    facts do not know is then a ``UsageError`` listing the known ones. Without ``estimate``
    (status and doctor price a cluster's own region) such a region has no prices: unknown
    beats an unlabelled guess in a one-line finding.
    """
    from eks_gpu.loaders.price_cache import load_price_book

    book = load_price_book(region)
    if estimate and book.source == "none":
        from eks_gpu.catalog.prices import estimate_price_book

        return estimate_price_book(book.region)
    return book


def cache_file(region: str) -> Path | None:
    """The refreshed cache file of ``region``, when there is one."""
    from eks_gpu.loaders.price_cache import cache_path

    path = cache_path(region)
    return path if path.is_file() else None


__all__ = ["cache_file", "price_book"]
