"""Prices and zone offerings of one region, fetched from the AWS APIs (``catalog refresh``).

Why a refresh: the bundled table is us-east-1 on-demand only, while spot prices and which
zones offer which GPU types differ by region and change daily; only the user's AWS account
can tell. This module and :mod:`eks_gpu.loaders.aws_session` are the only code that calls
AWS: four read-only calls, each of which may be denied on its own (the part it feeds is then
left unknown, never guessed). Responses are parsed by the pure functions of
:mod:`eks_gpu.catalog.aws_responses`, so tests feed those plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eks_gpu.catalog.aws_responses import (
    check_region,
    gpu_type_names,
    latest_spot_prices,
    on_demand_prices,
    pricing_filters,
    zones_by_type,
)
from eks_gpu.catalog.prices import BUNDLED_REGION, PriceBook, bundled_price_book
from eks_gpu.errors import CloudAccessError
from eks_gpu.loaders.aws_session import CallLedger
from eks_gpu.loaders.price_cache import save_price_book

Progress = Callable[[str], None]

PRICING_REGION = "us-east-1"
"""The Pricing API lives in us-east-1, ap-south-1 and eu-central-1 only; it serves every region."""
GPU_NAME_FILTER = {"Name": "instance-type", "Values": ["g*", "p*"]}
SPOT_PRODUCTS = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")
CHUNK = 100  # filter values per EC2 call, under EC2's limit on filter values
PRICING_WORKERS = 8  # one GetProducts call per type: a few in parallel keeps a refresh short
NO_PRICING_API = ("cn-", "us-gov-")  # other partitions: the us-east-1 Pricing API has no answer
IAM_ACTIONS = (
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeSpotPriceHistory",
    "pricing:GetProducts",
)


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh fetched and wrote; ``warnings`` name what was left unknown and why."""

    book: PriceBook
    path: Path
    gpu_types: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Counts for the CLI (``-o json`` prints this as it is)."""
        zones = self.book.zones
        return {
            "region": self.book.region,
            "source": self.book.source,
            "date": self.book.date,
            "cache_path": str(self.path),
            "gpu_instance_types": len(self.gpu_types),
            "types_offered": None if zones is None else sum(1 for z in zones.values() if z),
            "zones": None if zones is None else sorted({z for zs in zones.values() for z in zs}),
            "spot_prices": sum(len(by_zone) for by_zone in self.book.spot.values()),
            "on_demand_prices": len(self.book.on_demand),
            "warnings": list(self.warnings),
        }


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])


def _paginate(client: Any, operation: str, result_key: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**params):
        found = page.get(result_key) if isinstance(page, Mapping) else None
        if isinstance(found, list):  # anything else is a damaged page: skipped, never guessed
            items.extend(found)
    return items


def _fetch_gpu_types(ec2: Any) -> list[str]:
    # EC2 has no GPU filter; every GPU family is named g* or p*, which cuts ~1,000 types to ~150.
    rows = _paginate(ec2, "describe_instance_types", "InstanceTypes", Filters=[GPU_NAME_FILTER])
    return gpu_type_names(rows)


def _fetch_zones(ec2: Any, types: Sequence[str]) -> dict[str, tuple[str, ...]]:
    offerings: list[Any] = []
    for chunk in _chunks(types):
        offerings += _paginate(
            ec2,
            "describe_instance_type_offerings",
            "InstanceTypeOfferings",
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": chunk}],
        )
    return zones_by_type(offerings, types)


def _fetch_spot(ec2: Any, types: Sequence[str], now: datetime) -> dict[str, dict[str, float]]:
    history: list[Any] = []
    for chunk in _chunks(types):
        history += _paginate(
            ec2,
            "describe_spot_price_history",
            "SpotPriceHistory",
            InstanceTypes=chunk,
            ProductDescriptions=list(SPOT_PRODUCTS),
            StartTime=now,  # "now" returns the price in effect now for each type and zone
        )
    return latest_spot_prices(history)


def _fetch_on_demand(session: Any, region: str, types: Sequence[str]) -> dict[str, float]:
    client = session.client("pricing", region_name=PRICING_REGION)

    def one(name: str) -> dict[str, float]:
        filters = pricing_filters(region, name)
        items = _paginate(
            client, "get_products", "PriceList", ServiceCode="AmazonEC2", Filters=filters
        )
        return on_demand_prices(items)

    prices: dict[str, float] = {}
    pool = ThreadPoolExecutor(max_workers=PRICING_WORKERS)
    try:
        for found in pool.map(one, types):
            prices.update(found)
    finally:  # a denial stops the calls not yet started
        pool.shutdown(wait=True, cancel_futures=True)
    return dict(sorted(prices.items()))


def _missing_prices(on_demand: Mapping[str, float], offered: Iterable[str]) -> str | None:
    missing = sorted(name for name in offered if name not in on_demand)
    if not missing:
        return None
    shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    return f"no public on-demand price for {len(missing)} offered type(s): {shown}"


def refresh_prices(
    region: str,
    session: Any,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """Fetch GPU types, zone offerings, spot and on-demand prices of ``region``; save the cache.

    A denied call leaves its part unknown and adds a warning naming the IAM action; only
    when every call is denied does the refresh fail (nothing is written then).
    """
    check_region(region)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    report = progress or (lambda _message: None)
    ledger = CallLedger()
    ec2 = session.client("ec2", region_name=region)

    report(f"GPU instance types in {region}")
    listed = ledger.run(
        IAM_ACTIONS[0], "GPU types taken from the bundled catalog", lambda: _fetch_gpu_types(ec2)
    )
    types = listed if listed is not None else _bundled_gpu_names()
    report(f"zone offerings of {len(types)} GPU types")
    zones = ledger.run(
        IAM_ACTIONS[1], "zone offerings left unknown", lambda: _fetch_zones(ec2, types)
    )
    report("spot prices")
    spot = ledger.run(
        IAM_ACTIONS[2], "spot prices left unknown", lambda: _fetch_spot(ec2, types, stamp)
    )
    on_demand = _on_demand_part(session, region, types, zones, ledger, report)

    if len(ledger.denied) == ledger.attempted:
        raise CloudAccessError(
            f"every AWS call was denied for {region}: {', '.join(ledger.denied)}",
            hint="grant these read-only IAM actions; until then eks-gpu uses its bundled prices",
        )
    if listed == []:
        ledger.warnings.append(f"{region} lists no GPU instance types")
    book = PriceBook(
        region=region,
        source="aws",
        date=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        on_demand=on_demand,
        spot=spot or {},
        zones=zones,
    )
    return RefreshResult(book, save_price_book(book), tuple(types), tuple(ledger.warnings))


def _on_demand_part(
    session: Any,
    region: str,
    types: Sequence[str],
    zones: Mapping[str, tuple[str, ...]] | None,
    ledger: CallLedger,
    report: Progress,
) -> dict[str, float]:
    """On-demand prices of the offered types (all types when offerings are unknown)."""
    if region.startswith(NO_PRICING_API):
        ledger.warnings.append(f"the Pricing API has no {region} prices: on-demand left unknown")
        return {}
    wanted = [name for name in types if zones is None or zones.get(name)]
    report(f"on-demand prices of {len(wanted)} GPU types (Pricing API)")
    lost = "on-demand prices left unknown"
    if region == BUNDLED_REGION:
        lost = f"on-demand prices kept from the bundled {BUNDLED_REGION} table"
    fetched = ledger.run(IAM_ACTIONS[3], lost, lambda: _fetch_on_demand(session, region, wanted))
    if fetched is None:
        return dict(bundled_price_book().on_demand) if region == BUNDLED_REGION else {}
    missing = _missing_prices(fetched, wanted)
    if missing:
        ledger.warnings.append(missing)
    return fetched


def _bundled_gpu_names() -> list[str]:
    from eks_gpu.catalog.gpu_types import gpu_instance_types

    return sorted(spec.instance_type for spec in gpu_instance_types())


__all__ = ["IAM_ACTIONS", "Progress", "RefreshResult", "refresh_prices"]
