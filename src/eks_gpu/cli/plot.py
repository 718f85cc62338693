"""``--plot``: price per GPU-hour against GPU memory (matplotlib, file-only backend).

Each family gets its own marker and colour pair (colour by GPU model, marker by family
within it), so 20-odd legend entries stay tellable apart; both axes read in plain numbers
(GiB, USD), not powers of two.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eks_gpu.errors import UsageError

MARKERS = "osD^vP*Xph<>"
# Qualitative colours far enough apart to name (tab10, then darker extras); no light/dark pairs.
COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
)  # fmt: skip
GIB_TICKS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

if TYPE_CHECKING:
    from eks_gpu.catalog.query import PricedType


def require_pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or a usage error with the extra to
    install (called before anything is printed, so a missing extra fails first)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise UsageError("--plot needs matplotlib", hint="pip install 'eks-gpu[plot]'") from None
    return pyplot


def family_styles(gpu_of_family: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Family -> (colour, marker): colour by GPU model, marker by family (so neighbours in the
    legend differ in both); no two families share a pair (a model with more families than
    markers borrows the next colours)."""
    models = sorted(set(gpu_of_family.values()))
    used: set[tuple[str, str]] = set()
    styles: dict[str, tuple[str, str]] = {}
    for index, family in enumerate(sorted(gpu_of_family)):
        first = models.index(gpu_of_family[family])
        start = index % len(MARKERS)
        rotated = MARKERS[start:] + MARKERS[:start]
        candidates = [
            (COLOURS[(first + step) % len(COLOURS)], marker)
            for step in range(len(COLOURS))
            for marker in rotated
        ]
        styles[family] = next((pair for pair in candidates if pair not in used), candidates[0])
        used.add(styles[family])
    return styles


def _plain(value: float, _position: object = None) -> str:
    return f"{value:g}"


def _plain_2_5(value: float, _position: object = None) -> str:
    """Minor log ticks: label only the 2s and 5s (0.2, 0.5, 2, 5, 20), like a slide rule."""
    return _plain(value) if f"{value:.0e}"[0] in "25" else ""


def price_figure(rows: Sequence[PricedType], source: str) -> Any:
    """The figure: $/GPU-hour (y, log) against memory per GPU (x, log, GiB ticks)."""
    pyplot = require_pyplot()
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    figure, axes = pyplot.subplots(figsize=(10, 6), dpi=110)
    by_family: dict[str, list[PricedType]] = {}
    for row in rows:
        if row.price_per_gpu is not None:
            by_family.setdefault(row.spec.family, []).append(row)
    styles = family_styles({f: members[0].spec.gpu_name for f, members in by_family.items()})
    for family, members in sorted(by_family.items()):
        colour, marker = styles[family]
        axes.scatter(
            [row.spec.gpu_memory_gib for row in members],
            [row.price_per_gpu for row in members],
            label=f"{family} ({members[0].spec.gpu_name})",
            s=46,
            alpha=0.9,
            color=colour,
            marker=marker,
            edgecolors="black",
            linewidths=0.4,
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
    axes.xaxis.set_major_locator(FixedLocator(GIB_TICKS))
    axes.xaxis.set_major_formatter(FuncFormatter(_plain))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.yaxis.set_major_formatter(FuncFormatter(_plain))
    axes.yaxis.set_minor_formatter(FuncFormatter(_plain_2_5))
    memories = [row.spec.gpu_memory_gib for members in by_family.values() for row in members]
    if memories:
        axes.set_xlim(min(memories) / 1.4, max(memories) * 1.4)
    axes.set_xlabel("memory per GPU (GiB, as EC2 reports it)")
    axes.set_ylabel("USD per GPU-hour")
    axes.set_title("GPU instance types: price per GPU-hour vs GPU memory")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=2, loc="upper left")
    figure.text(0.01, 0.01, source, fontsize=7, alpha=0.7)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    return figure


def plot_price_per_gpu(rows: Sequence[PricedType], path: Path, source: str) -> None:
    """Write the scatter plot of $/GPU-hour against memory per GPU to ``path``."""
    pyplot = require_pyplot()
    figure = price_figure(rows, source)
    figure.savefig(path)
    pyplot.close(figure)


__all__ = ["family_styles", "plot_price_per_gpu", "price_figure", "require_pyplot"]
