"""``catalog refresh`` and ``catalog show``: fetch a region's prices and zone offerings from
AWS into the cache; say which prices are in effect for a region.

The one caller of the AWS refresh (session and fetch), so moving its boto3 part to
``loaders/`` changes this module only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.price_source import cache_file, price_book
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_OK

if TYPE_CHECKING:
    from eks_gpu.catalog.prices import PriceBook
    from eks_gpu.loaders.aws_refresh import RefreshResult

REFRESH_KIND = "CatalogRefresh"
SHOW_KIND = "PriceCatalog"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class CatalogRefreshResult:
    """What a refresh fetched and wrote; each warning names what was left unknown and why."""

    refresh: RefreshResult

    @property
    def summary(self) -> dict[str, Any]:
        """Counts of what was fetched, the cache file and the warnings."""
        return self.refresh.summary()

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(f"warning: {warning}" for warning in self.refresh.warnings)

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """The CatalogRefresh document."""
        return envelope(REFRESH_KIND, self.summary)


@dataclass(frozen=True)
class PriceCatalogResult:
    """The prices in effect for one region, and the cache file they came from (if any)."""

    book: PriceBook
    cache_path: str | None
    messages: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def summary(self) -> dict[str, Any]:
        """Source, date and counts of the price book."""
        book = self.book
        return {
            "region": book.region,
            "source": book.source,
            "date": book.date,
            "description": book.describe("spot"),
            "cache_path": self.cache_path,
            "on_demand_prices": len(book.on_demand),
            "spot_prices": sum(len(by_zone) for by_zone in book.spot.values()),
            "zones_known": book.zones is not None,
        }

    def to_json(self) -> dict[str, Any]:
        """The PriceCatalog document."""
        return envelope(SHOW_KIND, self.summary())


def refresh_catalog(
    region: str | None, profile: str | None, progress: Progress | None = None
) -> CatalogRefreshResult:
    """Fetch ``region``'s GPU types, zone offerings, spot and on-demand prices; cache them."""
    from eks_gpu.loaders.aws_refresh import refresh_prices
    from eks_gpu.loaders.aws_session import make_session

    session, chosen = make_session(region, profile)
    return CatalogRefreshResult(refresh_prices(chosen, session, progress=progress))


def default_region() -> str:
    """``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else the bundled table's region."""
    from eks_gpu.catalog.prices import BUNDLED_REGION

    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or BUNDLED_REGION


def show_catalog(region: str | None) -> PriceCatalogResult:
    """Which price source and date are in effect for ``region`` (default: the environment's)."""
    from eks_gpu.catalog.aws_responses import check_region

    chosen = check_region(region or default_region())
    path = cache_file(chosen)
    return PriceCatalogResult(price_book(chosen), None if path is None else str(path))


__all__ = [
    "REFRESH_KIND",
    "SHOW_KIND",
    "CatalogRefreshResult",
    "PriceCatalogResult",
    "default_region",
    "refresh_catalog",
    "show_catalog",
]
