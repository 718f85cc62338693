"""``--plot``: price per GPU-hour against GPU memory, one colour per family (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eks_gpu.errors import UsageError

MARKERS = "osD^vP*X"

if TYPE_CHECKING:
    from eks_gpu.catalog.query import PricedType


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or a hint to install the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise UsageError("--plot needs matplotlib", hint="pip install 'eks-gpu[plot]'") from None
    return pyplot


def plot_price_per_gpu(rows: Sequence[PricedType], path: Path, source: str) -> None:
    """Write a scatter plot of $/GPU-hour (y) against memory per GPU (x) to ``path``."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(10, 6), dpi=110)
    by_family: dict[str, list[PricedType]] = {}
    for row in rows:
        if row.price_per_gpu is not None:
            by_family.setdefault(row.spec.family, []).append(row)
    colours = pyplot.get_cmap("tab20").colors
    for index, (family, members) in enumerate(sorted(by_family.items())):
        xs = [row.spec.gpu_memory_gib for row in members]
        ys = [row.price_per_gpu for row in members]
        axes.scatter(
            xs,
            ys,
            label=f"{family} ({members[0].spec.gpu_name})",
            s=42,
            alpha=0.85,
            color=colours[index % len(colours)],
            marker=MARKERS[index % len(MARKERS)],
        )
        cheapest = min(members, key=lambda row: (row.price_per_gpu or 0, row.spec.instance_type))
        axes.annotate(
            cheapest.spec.instance_type,
            (cheapest.spec.gpu_memory_gib, cheapest.price_per_gpu),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("memory per GPU (GiB, as EC2 reports it)")
    axes.set_ylabel("USD per GPU-hour")
    axes.set_title("GPU instance types: price per GPU-hour vs GPU memory")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=2, loc="upper left")
    figure.text(0.01, 0.01, source, fontsize=7, alpha=0.7)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path)
    pyplot.close(figure)


__all__ = ["plot_price_per_gpu"]
