"""The ``instances --plot`` figure: axes read in GiB and dollars (not ``2^4``), and every
family's legend entry has its own colour and marker pair (21 look-alike dots before)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

pytest.importorskip("matplotlib")

from eks_gpu.cli.plot import family_styles, price_figure
from eks_gpu.commands.instances import instances


@pytest.fixture(scope="module")
def figure() -> Any:
    import matplotlib.pyplot as pyplot

    result = instances()
    made = price_figure(result.rows, result.price_description)
    made.canvas.draw()
    yield made
    pyplot.close(made)


def test_x_axis_ticks_are_plain_gib(figure: Any) -> None:
    axes = figure.axes[0]
    labels = [label.get_text() for label in axes.get_xticklabels() if label.get_text()]
    assert {"8", "16", "32", "64", "128"} <= set(labels)
    assert all(label.isdigit() for label in labels), labels  # no $2^{4}$ mathtext
    assert "GiB" in axes.get_xlabel()


def test_y_axis_ticks_are_plain_dollars(figure: Any) -> None:
    axes = figure.axes[0]
    labels = [label.get_text() for label in axes.get_yticklabels() if label.get_text()]
    labels += [t.label1.get_text() for t in axes.yaxis.get_minor_ticks() if t.label1.get_text()]
    assert {"1", "10"} <= set(labels)
    assert not [label for label in labels if "^" in label or "$" in label]
    assert "USD" in axes.get_ylabel()


def test_legend_entries_differ_in_colour_and_marker(figure: Any) -> None:
    from matplotlib.colors import to_hex

    legend = figure.axes[0].get_legend()
    handles = legend.legend_handles
    assert len(handles) >= 15
    pairs = set()
    for handle in handles:
        colour = to_hex(handle.get_facecolor()[0], keep_alpha=False)
        marker = handle.get_paths()[0].vertices.round(3).tobytes()
        pairs.add((colour, marker))
    assert len(pairs) == len(handles)
    # and not only the colours: neighbours in the legend also differ in marker
    markers = [h.get_paths()[0].vertices.round(3).tobytes() for h in handles]
    assert all(a != b for a, b in itertools.pairwise(markers))


def test_family_styles_colour_by_gpu_and_never_repeat_a_pair() -> None:
    families = {f"f{i:02}": "same-gpu" for i in range(30)} | {"g5": "a10g", "g6": "l4"}
    styles = family_styles(families)
    assert len(set(styles.values())) == len(styles)
    assert styles["f00"][0] == styles["f01"][0]  # one GPU model, one colour
    assert styles["g5"][0] != styles["g6"][0]


def test_legend_groups_families_by_gpu_colour(figure: Any) -> None:
    """One colour per GPU model (g6, gr6 and g6f are all L4), distinct colours otherwise, so
    the legend reads by GPU first and family second."""
    from matplotlib.colors import to_hex

    legend = figure.axes[0].get_legend()
    colour_of: dict[str, set[str]] = {}
    for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
        gpu = text.get_text().split("(")[1].rstrip(")")
        colour_of.setdefault(gpu, set()).add(to_hex(handle.get_facecolor()[0], keep_alpha=False))
    assert len(colour_of["l4"]) == 1
    assert all(len(colours) == 1 for colours in colour_of.values())
    assert len({next(iter(c)) for c in colour_of.values()}) == len(colour_of)
