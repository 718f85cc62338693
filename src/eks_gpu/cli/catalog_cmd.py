"""``eks-gpu catalog``: refresh prices and zone offerings from AWS; show which prices are used."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from eks_gpu.cli.table import format_table

OUTPUTS = ("table", "json")


@click.group()
def catalog() -> None:
    """Refresh prices and zone offerings from AWS; show the price source."""


@contextmanager
def _spinner() -> Iterator[Any]:
    """A stderr spinner on a terminal, nothing when piped (so stderr keeps only warnings)."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda _message: None
        return
    with console.status("contacting AWS") as status:
        yield lambda message: status.update(f"fetching {message}")


def _refresh_table(summary: dict[str, Any]) -> str:
    offered = summary["types_offered"]
    zones = summary["zones"]
    rows = [
        ("GPU instance types", summary["gpu_instance_types"]),
        ("offered in zones", None if offered is None else f"{offered} types, {len(zones)} zones"),
        ("spot prices", f"{summary['spot_prices']} (type x zone)"),
        ("on-demand prices", summary["on_demand_prices"]),
        ("date", summary["date"]),
        ("cache", summary["cache_path"]),
    ]
    head = f"refreshed {summary['region']} from the AWS APIs\n"
    return head + format_table(("WHAT", "FETCHED"), rows)


@catalog.command()
@click.option("--region", help="AWS region (default: AWS_REGION or the profile's region).")
@click.option("--profile", help="AWS named profile (default: AWS_PROFILE, else default chain).")
@click.option(
    "-o",
    "--output",
    type=click.Choice(OUTPUTS),
    default="table",
    show_default=True,
    help="Output format.",
)
def refresh(region: str | None, profile: str | None, output: str) -> int:
    """Fetch GPU types, zone offerings, spot and on-demand prices of a region from AWS.

    Writes a dated cache that `instances`, `recommend` and the other commands use for that
    region. Needs the read-only IAM actions ec2:DescribeInstanceTypes,
    ec2:DescribeInstanceTypeOfferings, ec2:DescribeSpotPriceHistory and pricing:GetProducts;
    a denied action leaves its part unknown and is reported as a warning.

    \b
    Examples:
      eks-gpu catalog refresh --region us-west-2
      eks-gpu catalog refresh --region eu-west-1 --profile prod -o json
    """
    from eks_gpu.loaders.aws_refresh import refresh_prices
    from eks_gpu.loaders.aws_session import make_session

    session, chosen = make_session(region, profile)
    with _spinner() as progress:
        result = refresh_prices(chosen, session, progress=progress)
    summary = result.summary()
    if output == "json":
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(_refresh_table(summary), nl=False)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    return 0


def _show_summary(region: str) -> dict[str, Any]:
    from eks_gpu.loaders.price_cache import cache_path, load_price_book

    book = load_price_book(region)
    path = cache_path(region)
    return {
        "region": book.region,
        "source": book.source,
        "date": book.date,
        "description": book.describe("spot"),
        "cache_path": str(path) if path.is_file() else None,
        "on_demand_prices": len(book.on_demand),
        "spot_prices": sum(len(by_zone) for by_zone in book.spot.values()),
        "zones_known": book.zones is not None,
    }


@catalog.command()
@click.option("--region", help="AWS region (default: AWS_REGION, else us-east-1).")
@click.option(
    "-o",
    "--output",
    type=click.Choice(OUTPUTS),
    default="table",
    show_default=True,
    help="Output format.",
)
def show(region: str | None, output: str) -> int:
    """Show which price source and date are in effect for a region.

    \b
    Examples:
      eks-gpu catalog show
      eks-gpu catalog show --region us-west-2 -o json
    """
    from eks_gpu.catalog.aws_responses import check_region
    from eks_gpu.catalog.prices import BUNDLED_REGION

    chosen = check_region(
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or BUNDLED_REGION
    )
    summary = _show_summary(chosen)
    if output == "json":
        click.echo(json.dumps(summary, indent=2))
        return 0
    click.echo(summary["description"])
    rows = [
        ("region", summary["region"]),
        ("source", summary["source"]),
        ("date", summary["date"] or None),
        ("on-demand prices", summary["on_demand_prices"]),
        ("spot prices", summary["spot_prices"]),
        ("zone offerings", "known" if summary["zones_known"] else "unknown"),
        ("cache", summary["cache_path"]),
    ]
    click.echo(format_table(("WHAT", "VALUE"), rows), nl=False)
    return 0


__all__ = ["catalog"]
