"""AWS API answers as plain values: the pure half of ``catalog refresh``.

Each function takes what boto3 returns (plain dicts and lists) or builds what it sends, and
never calls AWS, so tests feed them hand-written responses. The calls themselves live in
:mod:`eks_gpu.loaders.aws_refresh`, the session and the handling of a denied action in
:mod:`eks_gpu.loaders.aws_session`.
Damaged or zero records are skipped, never guessed: an unknown price beats a wrong one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from eks_gpu.errors import UsageError

GPU_MANUFACTURERS = frozenset({"NVIDIA", "AMD"})
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+", re.ASCII)
"""A region name, matched in full (``$`` would let a trailing newline into the cache path)."""
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
"""Error codes that mean the credentials themselves are bad (every other call would fail too)."""


def gpu_type_names(instance_types: Iterable[Mapping[str, Any]]) -> list[str]:
    """Names of the types with NVIDIA or AMD GPUs, sorted.

    Habana (dl1) also reports ``GpuInfo``, but no GPU device plugin serves it.
    """
    names = set()
    for row in _mappings(instance_types):
        gpus = _mappings(_mapping(row.get("GpuInfo")).get("Gpus"))
        name = row.get("InstanceType")
        if isinstance(name, str) and any(g.get("Manufacturer") in GPU_MANUFACTURERS for g in gpus):
            names.add(name)
    return sorted(names)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(rows: Any) -> list[Mapping[str, Any]]:
    """The mappings among ``rows`` (a damaged answer's other items are skipped)."""
    if isinstance(rows, Mapping) or not isinstance(rows, Iterable) or isinstance(rows, str):
        return []
    return [row for row in rows if isinstance(row, Mapping)]


def _price(text: Any) -> float | None:
    """A positive, finite price from AWS's decimal string; None for anything else."""
    try:
        price = float(text)
    except (TypeError, ValueError, OverflowError):
        return None
    return price if math.isfinite(price) and price > 0 else None


def zones_by_type(
    offerings: Iterable[Mapping[str, Any]], types: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Zones offering each of ``types`` (``()`` for none), from availability-zone offerings."""
    zones: dict[str, set[str]] = {name: set() for name in types}
    for row in _mappings(offerings):
        name, zone = row.get("InstanceType"), row.get("Location")
        if not (isinstance(name, str) and isinstance(zone, str)):
            continue  # damaged: skipped, never guessed
        if row.get("LocationType", "availability-zone") == "availability-zone":
            zones.setdefault(name, set()).add(zone)
    return {name: tuple(sorted(found)) for name, found in sorted(zones.items())}


def latest_spot_prices(history: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """type -> zone -> the latest spot price; unparsable or zero records are skipped."""
    latest: dict[tuple[str, str], tuple[datetime, float]] = {}
    for row in _mappings(history):
        name, zone = row.get("InstanceType"), row.get("AvailabilityZone")
        stamp = row.get("Timestamp")
        price = _price(row.get("SpotPrice"))
        if not (isinstance(name, str) and isinstance(zone, str) and isinstance(stamp, datetime)):
            continue
        if stamp.tzinfo is None:  # boto3 answers in UTC; a naive time cannot be compared with it
            stamp = stamp.replace(tzinfo=timezone.utc)
        seen = latest.get((name, zone))
        if price is not None and (seen is None or stamp > seen[0]):
            latest[(name, zone)] = (stamp, price)
    prices: dict[str, dict[str, float]] = {}
    for (name, zone), (_, price) in sorted(latest.items()):
        prices.setdefault(name, {})[zone] = price
    return prices


def _lowest_on_demand(terms: Any, currency: str) -> float | None:
    found = []
    for term in _mapping(terms).values():
        for dimension in _mapping(_mapping(term).get("priceDimensions")).values():
            price = _price(_mapping(_mapping(dimension).get("pricePerUnit")).get(currency))
            if price is not None:
                found.append(price)
    return min(found) if found else None


def on_demand_prices(price_list: Iterable[str], currency: str = "USD") -> dict[str, float]:
    """type -> hourly on-demand price from GetProducts' ``PriceList`` (one JSON text each).

    Zero prices (placeholders) and damaged items are skipped: unknown beats wrong.
    """
    prices: dict[str, float] = {}
    for item in price_list:
        try:
            product = _mapping(json.loads(item))
        except (ValueError, TypeError, RecursionError):
            continue
        name = _mapping(_mapping(product.get("product")).get("attributes")).get("instanceType")
        price = _lowest_on_demand(_mapping(product.get("terms")).get("OnDemand"), currency)
        if isinstance(name, str) and price is not None:
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
    error = _mapping(_mapping(response).get("Error"))
    return str(error.get("Code", "Unknown")), str(error.get("Message", "")).strip()


def is_denied(code: str) -> bool:
    """Whether an AWS error code means "this IAM principal may not call this action"."""
    return code.startswith(DENIED_PREFIXES)


def check_region(region: str) -> str:
    """``region`` if it looks like an AWS region (it also names the cache file)."""
    if not isinstance(region, str) or not REGION_PATTERN.fullmatch(region):
        raise UsageError(f"--region: {region!r} is not an AWS region name", hint="e.g. us-west-2")
    return region


__all__ = [
    "CREDENTIAL_ERRORS",
    "DENIED_PREFIXES",
    "GPU_MANUFACTURERS",
    "REGION_PATTERN",
    "check_region",
    "error_code",
    "gpu_type_names",
    "is_denied",
    "latest_spot_prices",
    "on_demand_prices",
    "pricing_filters",
    "zones_by_type",
]
