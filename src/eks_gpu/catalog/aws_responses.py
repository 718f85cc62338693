"""AWS API answers as plain values: the pure half of ``catalog refresh``.

Each function takes what boto3 returns (plain dicts and lists) or builds what it sends, and
never calls AWS, so tests feed them hand-written responses. The calls themselves live in
:mod:`eks_gpu.loaders.aws_refresh`, the session and the handling of a denied action in
:mod:`eks_gpu.loaders.aws_session`.
Damaged or zero records are skipped, never guessed: an unknown price beats a wrong one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from eks_gpu.errors import UsageError

GPU_MANUFACTURERS = frozenset({"NVIDIA", "AMD"})
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
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
