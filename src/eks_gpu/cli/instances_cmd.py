"""``eks-gpu instances``: flags -> :func:`eks_gpu.commands.instances.instances` -> a table,
CSV or the InstanceList JSON document; ``--plot`` draws the prices too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import comma_list

if TYPE_CHECKING:
    from eks_gpu.catalog.query import PricedType
    from eks_gpu.commands.instances import InstanceListResult

SORTS = ("price", "price-per-gpu", "gpu-memory", "price-per-gpu-gib")
TABLE_HEADERS = ("TYPE", "GPU", "VCPU", "MEMORY", "LOCAL NVME", "NETWORK", "$/H", "$/GPU-H")
WIDE_HEADERS = (*TABLE_HEADERS, "CC", "ARCH", "EFA", "MAX PODS", "NOTES")


def _money(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}"


def _gpu_cell(row: PricedType) -> str:
    spec = row.spec
    count = f"{spec.gpu_count}x" if spec.gpu_count else f"{spec.gpu_partition}x"
    return f"{count} {spec.gpu_name} {spec.gpu_memory_gib:.1f}GiB"


def _nvme_cell(row: PricedType) -> str | None:
    spec = row.spec
    if not spec.local_nvme_count:
        return None
    return f"{spec.local_nvme_count}x{spec.local_nvme_gb // spec.local_nvme_count}GB"


def _notes(row: PricedType) -> str:
    from eks_gpu.catalog.notes import notes_for

    notes = notes_for(row.spec.family)
    flags = [
        "amd" if notes.not_nvidia else "",
        "legacy" if notes.legacy else "",
        "fractional" if notes.fractional else "",
        f"driver>={notes.min_driver}" if notes.min_driver else "",
    ]
    return ",".join(flag for flag in flags if flag)


def table_row(row: PricedType, wide: bool) -> list[str | int | None]:
    """One table row; ``wide`` adds compute capability, arch, EFA, max pods and notes."""
    spec = row.spec
    cells: list[str | int | None] = [
        spec.instance_type,
        _gpu_cell(row),
        spec.vcpu,
        f"{spec.memory_mib / 1024:g}GiB",
        _nvme_cell(row),
        spec.network,
        _money(row.price),
        _money(row.price_per_gpu),
    ]
    if wide:
        cells += [
            spec.compute_capability,
            spec.architecture,
            spec.efa_max_interfaces,
            spec.max_pods,
            _notes(row) or None,
        ]
    return cells


def table_text(result: InstanceListResult, wide: bool = False) -> str:
    """The kubectl-style table (``wide`` adds columns)."""
    from eks_gpu.cli.table import format_table

    headers = WIDE_HEADERS if wide else TABLE_HEADERS
    return format_table(headers, [table_row(row, wide) for row in result.rows])


def csv_text(result: InstanceListResult) -> str:
    """RFC 4180 CSV with the table's columns."""
    from eks_gpu.cli.table import format_csv

    return format_csv(TABLE_HEADERS, [table_row(row, False) for row in result.rows])


FORMATTERS: dict[str, Callable[[InstanceListResult], str]] = {
    "table": table_text,
    "wide": lambda result: table_text(result, wide=True),
    "csv": csv_text,
}


@click.command()
@click.option(
    "--family",
    "families",
    multiple=True,
    metavar="F[,F...]",
    help="Instance families, e.g. g5,g6e.",
)
@click.option(
    "--gpu",
    "gpus",
    multiple=True,
    metavar="NAME[,NAME...]",
    help="GPU names as Karpenter labels them, e.g. a10g,l4,h100.",
)
@click.option("--min-gpus", type=click.IntRange(min=0), default=0, help="At least N GPUs.")
@click.option(
    "--min-gpu-memory",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="GIB",
    help="At least this much memory per GPU (GiB, as EC2 reports it).",
)
@click.option("--arch", type=click.Choice(("amd64", "arm64")), help="CPU architecture.")
@click.option("--region", help="Region for prices (bundled: us-east-1; others need a refresh).")
@click.option(
    "--capacity-type",
    type=click.Choice(("on-demand", "spot")),
    default="on-demand",
    show_default=True,
    help="Which price to show.",
)
@click.option("--sort", type=click.Choice(SORTS), default="price", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Choice(("table", "wide", "json", "csv")),
    default="table",
    show_default=True,
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE.png",
    help="Also draw $/GPU-hour against GPU memory per family (needs matplotlib).",
)
def instances(
    families: tuple[str, ...],
    gpus: tuple[str, ...],
    min_gpus: int,
    min_gpu_memory: float,
    arch: str | None,
    region: str | None,
    capacity_type: str,
    sort: str,
    output: str,
    plot: Path | None,
) -> int:
    """List GPU instance types with specs and prices.

    Prices are on-demand us-east-1 from the bundled table unless `eks-gpu catalog
    refresh` fetched a region's prices; spot prices are unknown until then. The source
    is printed on stderr (and in every JSON item).

    \b
    Examples:
      eks-gpu instances --gpu l4,a10g --sort price-per-gpu
      eks-gpu instances --min-gpu-memory 40 -o wide
      eks-gpu instances --family p5,p5en -o json | jq '.items[].price_per_hour'
      eks-gpu instances --plot gpu-prices.png
    """
    from eks_gpu.cli.output import emit, say
    from eks_gpu.commands.instances import instances as run

    if plot is not None:  # fail before the table, not after it
        from eks_gpu.cli.plot import require_pyplot

        require_pyplot()
    result = run(
        families=comma_list(families),
        gpus=comma_list(gpus),
        min_gpus=min_gpus,
        min_gpu_memory_gib=min_gpu_memory,
        arch=arch,
        region=region,
        capacity_type=capacity_type,  # type: ignore[arg-type]
        sort=sort,  # type: ignore[arg-type]
    )
    code = emit(result, output, FORMATTERS)
    if plot is not None:
        from eks_gpu.cli.plot import plot_price_per_gpu

        plot_price_per_gpu(result.rows, plot, result.price_description)
        say(f"wrote {plot}", err=True)
    return code
