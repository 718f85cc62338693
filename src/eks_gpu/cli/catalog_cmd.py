"""``eks-gpu catalog``: flags -> :mod:`eks_gpu.commands.catalog` -> a table or JSON; a
spinner on stderr while AWS is contacted (on a terminal only)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.table import format_table

if TYPE_CHECKING:
    from eks_gpu.commands.catalog import CatalogRefreshResult, PriceCatalogResult

OUTPUTS = ("table", "json")


@click.group()
def catalog() -> None:
    """Refresh prices and zone offerings from AWS; show the price source.

    \b
    Examples:
      eks-gpu catalog show
      eks-gpu catalog refresh --region us-west-2
      eks-gpu catalog show -o json | jq .source
    """


@contextmanager
def _spinner() -> Iterator[Callable[[str], None]]:
    """A stderr spinner on a terminal, nothing when piped (so stderr keeps only warnings)."""
    from rich.console import Console

    from eks_gpu.cli.output import quiet

    console = Console(stderr=True)
    if not console.is_terminal or quiet():
        yield lambda _message: None
        return
    with console.status("contacting AWS") as status:
        yield lambda message: status.update(f"fetching {message}")


def refresh_table(result: CatalogRefreshResult) -> str:
    """What was fetched, as a two-column table under a one-line heading."""
    summary = result.summary
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


def show_table(result: PriceCatalogResult) -> str:
    """The price description, then source, date, counts and cache file."""
    summary = result.summary()
    rows = [
        ("region", summary["region"]),
        ("source", summary["source"]),
        ("date", summary["date"] or None),
        ("on-demand prices", summary["on_demand_prices"]),
        ("spot prices", summary["spot_prices"]),
        ("zone offerings", "known" if summary["zones_known"] else "unknown"),
        ("cache", summary["cache_path"]),
    ]
    description: str = summary["description"]
    return description + "\n" + format_table(("WHAT", "VALUE"), rows)


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
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.catalog import refresh_catalog

    with _spinner() as progress:
        result = refresh_catalog(region, profile, progress)
    return emit(result, output, {"table": refresh_table})


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
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.catalog import show_catalog

    return emit(show_catalog(region), output, {"table": show_table})


__all__ = ["catalog"]
