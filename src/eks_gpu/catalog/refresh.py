"""Prices and zone offerings of one region, fetched from the AWS APIs (``catalog refresh``).

Why a refresh: the bundled table is us-east-1 on-demand only, while spot prices and which
zones offer which GPU types differ by region and change daily; only the user's AWS account
can tell. This module is the only code that calls AWS: four read-only calls, each of which
may be denied on its own (the part it feeds is then left unknown, never guessed). Responses
are parsed by small pure functions, so tests feed them plain dicts. boto3 is optional
(``pip install 'eks-gpu[aws]'``) and imported only here, only when a refresh runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from eks_gpu.catalog.prices import BUNDLED_REGION, PriceBook, bundled_price_book, save_price_book
from eks_gpu.errors import CloudAccessError, UsageError

T = TypeVar("T")
Progress = Callable[[str], None]

PRICING_REGION = "us-east-1"
"""The Pricing API lives in us-east-1, ap-south-1 and eu-central-1 only; it serves every region."""
GPU_MANUFACTURERS = frozenset({"NVIDIA", "AMD"})
GPU_NAME_FILTER = {"Name": "instance-type", "Values": ["g*", "p*"]}
SPOT_PRODUCTS = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")
CHUNK = 100  # filter values per EC2 call, under EC2's limit on filter values
PRICING_WORKERS = 8  # one GetProducts call per type: a few in parallel keeps a refresh short
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
NO_PRICING_API = ("cn-", "us-gov-")  # other partitions: the us-east-1 Pricing API has no answer
DENIED_PREFIXES = ("UnauthorizedOperation", "AccessDenied")
CREDENTIAL_ERRORS = frozenset(
    {
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)
IAM_ACTIONS = (
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeSpotPriceHistory",
    "pricing:GetProducts",
)
PIP_HINT = "pip install 'eks-gpu[aws]'"
CREDENTIALS_HINT = (
    "configure AWS credentials (`aws configure`, `aws sso login`, AWS_PROFILE or --profile, or "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); until then eks-gpu uses its bundled prices"
)


# -- pure parsing of AWS responses --------------------------------------------------------


def gpu_type_names(instance_types: Iterable[Mapping[str, Any]]) -> list[str]:
    """Names of the types with NVIDIA or AMD GPUs, sorted.

    Habana (dl1) also reports ``GpuInfo``, but no GPU device plugin serves it.
    """
    names = set()
    for row in instance_types:
        gpus = row.get("GpuInfo", {}).get("Gpus", [])
        if any(gpu.get("Manufacturer") in GPU_MANUFACTURERS for gpu in gpus):
            names.add(str(row["InstanceType"]))
    return sorted(names)


def zones_by_type(
    offerings: Iterable[Mapping[str, Any]], types: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Zones offering each of ``types`` (``()`` for none), from availability-zone offerings."""
    zones: dict[str, set[str]] = {name: set() for name in types}
    for row in offerings:
        if row.get("LocationType", "availability-zone") == "availability-zone":
            zones.setdefault(str(row["InstanceType"]), set()).add(str(row["Location"]))
    return {name: tuple(sorted(found)) for name, found in sorted(zones.items())}


def latest_spot_prices(history: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """type -> zone -> the latest spot price; unparsable or zero records are skipped."""
    latest: dict[tuple[str, str], tuple[datetime, float]] = {}
    for row in history:
        try:
            key = (str(row["InstanceType"]), str(row["AvailabilityZone"]))
            stamp, price = row["Timestamp"], float(row["SpotPrice"])
        except (KeyError, TypeError, ValueError):
            continue
        seen = latest.get(key)
        if price > 0 and (seen is None or stamp > seen[0]):
            latest[key] = (stamp, price)
    prices: dict[str, dict[str, float]] = {}
    for (name, zone), (_, price) in sorted(latest.items()):
        prices.setdefault(name, {})[zone] = price
    return prices


def _lowest_on_demand(terms: Mapping[str, Any], currency: str) -> float | None:
    found = []
    for term in terms.values():
        for dimension in term.get("priceDimensions", {}).values():
            try:
                price = float(dimension["pricePerUnit"][currency])
            except (KeyError, TypeError, ValueError):
                continue
            if price > 0:
                found.append(price)
    return min(found) if found else None


def on_demand_prices(price_list: Iterable[str], currency: str = "USD") -> dict[str, float]:
    """type -> hourly on-demand price from GetProducts' ``PriceList`` (one JSON text each).

    Zero prices (placeholders) and damaged items are skipped: unknown beats wrong.
    """
    prices: dict[str, float] = {}
    for item in price_list:
        try:
            product = json.loads(item)
            name = product["product"]["attributes"]["instanceType"]
            price = _lowest_on_demand(product.get("terms", {}).get("OnDemand", {}), currency)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if price is not None:
            prices[name] = min(price, prices.get(name, price))
    return dict(sorted(prices.items()))


def pricing_filters(region: str, instance_type: str) -> list[dict[str, str]]:
    """GetProducts filters for Linux on-demand, shared tenancy (bare metal is listed Dedicated)."""
    fields = {
        "regionCode": region,
        "instanceType": instance_type,
        "operatingSystem": "Linux",
        "tenancy": "Dedicated" if instance_type.endswith(".metal") else "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "marketoption": "OnDemand",
    }
    return [{"Type": "TERM_MATCH", "Field": key, "Value": value} for key, value in fields.items()]


def error_code(response: Mapping[str, Any]) -> tuple[str, str]:
    """(code, message) of a botocore ``ClientError.response``."""
    error = response.get("Error", {})
    return str(error.get("Code", "Unknown")), str(error.get("Message", "")).strip()


def is_denied(code: str) -> bool:
    """Whether an AWS error code means "this IAM principal may not call this action"."""
    return code.startswith(DENIED_PREFIXES)


def check_region(region: str) -> str:
    """``region`` if it looks like an AWS region (it also names the cache file)."""
    if not REGION_PATTERN.match(region):
        raise UsageError(f"--region: {region!r} is not an AWS region name", hint="e.g. us-west-2")
    return region


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])


# -- the result ---------------------------------------------------------------------------


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


# -- boto3 I/O ----------------------------------------------------------------------------


def _import_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise UsageError(
            "refreshing prices from AWS needs boto3, which is not installed",
            hint=f"{PIP_HINT} (bundled prices are used meanwhile)",
        ) from None
    return boto3


def make_session(region: str | None, profile: str | None) -> tuple[Any, str]:
    """A boto3 Session and its region (``--region``, else AWS_REGION or the profile's)."""
    boto3 = _import_boto3()
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except BotoCoreError as error:  # ProfileNotFound, a broken config file
        raise UsageError(
            f"--profile: {error}", hint="list profiles with `aws configure list-profiles`"
        ) from None
    chosen = session.region_name
    if not chosen:
        raise UsageError(
            "no AWS region", hint="pass --region, or set AWS_REGION or a region in the profile"
        )
    return session, check_region(chosen)


@dataclass
class _Ledger:
    """Runs each AWS call, turning a denied one into a warning and the rest into errors."""

    warnings: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    attempted: int = 0

    def run(self, action: str, lost: str, fetch: Callable[[], T]) -> T | None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        self.attempted += 1
        try:
            return fetch()
        except NoCredentialsError:
            raise CloudAccessError("no AWS credentials found", hint=CREDENTIALS_HINT) from None
        except ClientError as error:
            code, message = error_code(error.response)
            if is_denied(code):
                self.denied.append(action)
                self.warnings.append(f"{action} denied ({code}): {lost}")
                return None
            if code in CREDENTIAL_ERRORS:
                raise CloudAccessError(
                    f"AWS rejected the credentials: {code}: {message}", hint=CREDENTIALS_HINT
                ) from None
            raise CloudAccessError(
                f"{action} failed: {code}: {message}", hint="bundled prices are still used"
            ) from None
        except BotoCoreError as error:  # endpoint unreachable, timeouts, SSO token expired
            raise CloudAccessError(
                f"{action} failed: {error}", hint="bundled prices are still used"
            ) from None


def _paginate(client: Any, operation: str, result_key: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**params):
        items.extend(page.get(result_key, []))
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
    ledger = _Ledger()
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
    ledger: _Ledger,
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


__all__ = [
    "IAM_ACTIONS",
    "PIP_HINT",
    "RefreshResult",
    "check_region",
    "error_code",
    "gpu_type_names",
    "is_denied",
    "latest_spot_prices",
    "make_session",
    "on_demand_prices",
    "pricing_filters",
    "refresh_prices",
    "zones_by_type",
]
