"""``eks-gpu instances``: filters, sort orders, output formats, price sources and the plot.

Every test runs with an empty ``$EKS_GPU_CACHE_DIR``, so the bundled us-east-1 table is the
only price source unless the test writes a cache itself.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import CliResult
from eks_gpu.catalog.gpu_types import GpuInstanceType, gpu_instance_types
from eks_gpu.catalog.prices import PriceBook
from eks_gpu.loaders.price_cache import save_price_book

RunCli = Callable[..., CliResult]
Record = dict[str, Any]

CONTRACT_KEYS = (
    "instance_type",
    "family",
    "gpu_manufacturer",
    "gpu_name",
    "gpu_count",
    "gpu_memory_mib",
    "vcpu",
    "memory_mib",
    "local_nvme_gb",
    "architecture",
    "price_per_hour",
    "price_source",
)
ISSUE_COLUMNS = ["TYPE", "GPU", "VCPU", "MEMORY", "LOCAL NVME", "NETWORK", "$/H", "$/GPU-H"]
BUNDLED_SOURCE = "bundled:us-east-1:2026-07-20"
SPECS: dict[str, GpuInstanceType] = {t.instance_type: t for t in gpu_instance_types()}


@pytest.fixture(autouse=True)
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No refreshed prices unless a test writes them."""
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def records(run_cli: RunCli, *args: str) -> list[Record]:
    """The items of ``instances ARGS -o json``; fails the test on a non-zero exit."""
    result = run_cli("instances", *args, "-o", "json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert (document["apiVersion"], document["kind"]) == ("eks-gpu.io/v1", "InstanceList")
    items: list[Record] = document["items"]
    return items


def header(table: str) -> list[str]:
    """The column names of a plain table (columns are two or more spaces apart)."""
    return re.split(r"\s{2,}", table.splitlines()[0].strip())


def assert_sorted_unknown_last(values: list[float | None]) -> None:
    known = [v for v in values if v is not None]
    assert values == [*known, *([None] * (len(values) - len(known)))], "unknown values not last"
    assert known == sorted(known)


# --- JSON contract and filters ------------------------------------------------------------


def test_gpu_l4_json_has_only_l4_types_with_contract_keys(run_cli: RunCli) -> None:
    rows = records(run_cli, "--gpu", "l4")
    assert rows
    assert {row["gpu_name"] for row in rows} == {"l4"}
    assert {row["family"] for row in rows} == {"g6", "gr6", "g6f", "gr6f"}
    for row in rows:
        assert list(row)[: len(CONTRACT_KEYS)] == list(CONTRACT_KEYS)
        spec = SPECS[row["instance_type"]]
        assert row["gpu_memory_mib"] == spec.gpu_memory_mib
        assert row["price_per_hour"] == spec.price_per_hour
        assert row["price_source"] == BUNDLED_SOURCE
    assert_sorted_unknown_last([row["price_per_hour"] for row in rows])


def _total_gib(row: Record) -> float:
    return SPECS[row["instance_type"]].gpu_memory_total_gib


def _per_gpu_gib_price(row: Record) -> float | None:
    price = row["price_per_hour"]
    return None if price is None else price / _total_gib(row)


SORT_KEYS: dict[str, Callable[[Record], float | None]] = {
    "price": lambda row: row["price_per_hour"],
    "price-per-gpu": lambda row: row["price_per_gpu_hour"],
    "price-per-gpu-gib": _per_gpu_gib_price,
    "gpu-memory": lambda row: -_total_gib(row),  # most GPU memory first
}


@pytest.mark.parametrize("sort", sorted(SORT_KEYS))
def test_sort_order_is_really_sorted_with_unknown_prices_last(run_cli: RunCli, sort: str) -> None:
    rows = records(run_cli, "--sort", sort)
    assert len(rows) == len(SPECS)
    assert_sorted_unknown_last([SORT_KEYS[sort](row) for row in rows])


def test_unknown_price_sorts_last_by_price(run_cli: RunCli) -> None:
    rows = records(run_cli, "--family", "p5,p5e,p5en")
    assert rows[-1]["instance_type"] == "p5e.48xlarge"
    assert rows[-1]["price_per_hour"] is None


@pytest.mark.parametrize(
    ("args", "families"),
    [
        (("--family", "g5,g6e"), {"g5", "g6e"}),
        (("--family", "g5", "--family", "g6e"), {"g5", "g6e"}),
        (("--family", "p5"), {"p5"}),
        (("--arch", "arm64"), {"g5g"}),
    ],
)
def test_family_and_arch_filters(
    run_cli: RunCli, args: tuple[str, ...], families: set[str]
) -> None:
    rows = records(run_cli, *args)
    assert {row["family"] for row in rows} == families
    expected = {t.instance_type for t in SPECS.values() if t.family in families}
    assert {row["instance_type"] for row in rows} == expected


def test_arm64_types_are_arm64(run_cli: RunCli) -> None:
    assert {row["architecture"] for row in records(run_cli, "--arch", "arm64")} == {"arm64"}


@pytest.mark.parametrize("count", [2, 4, 8])
def test_min_gpus(run_cli: RunCli, count: int) -> None:
    rows = records(run_cli, "--min-gpus", str(count))
    assert rows and all(row["gpu_count"] >= count for row in rows)
    assert len(rows) == sum(t.gpu_count >= count for t in SPECS.values())


@pytest.mark.parametrize("gib", [20, 40, 80, 140])
def test_min_gpu_memory_is_per_gpu_gib(run_cli: RunCli, gib: int) -> None:
    rows = records(run_cli, "--min-gpu-memory", str(gib))
    assert rows and all(row["gpu_memory_mib"] / 1024 >= gib for row in rows)
    assert len(rows) == sum(t.gpu_memory_mib / 1024 >= gib for t in SPECS.values())


@pytest.mark.parametrize(
    ("flag", "value", "suggestion"),
    [("--family", "g55", "'g5'"), ("--family", "p5n", "'p5"), ("--gpu", "a10", "'a10g'")],
)
def test_unknown_family_or_gpu_exits_2_with_did_you_mean(
    run_cli: RunCli, flag: str, value: str, suggestion: str
) -> None:
    result = run_cli("instances", flag, value)
    assert result.code == 2
    assert result.out == ""
    assert f"{value!r}" in result.err
    assert f"did you mean {suggestion}" in result.err


# --- table, wide and csv --------------------------------------------------------------------


def test_table_headers_are_the_issues_columns(run_cli: RunCli) -> None:
    result = run_cli("instances", "--gpu", "a10g")
    assert result.code == 0
    assert header(result.out) == ISSUE_COLUMNS
    assert len(result.out.splitlines()) == 1 + sum(t.gpu_name == "a10g" for t in SPECS.values())
    assert "bundled us-east-1 table" in result.err and "2026-07-20" in result.err


def test_wide_adds_cc_arch_efa_max_pods_notes(run_cli: RunCli) -> None:
    result = run_cli("instances", "--family", "p3,g7", "-o", "wide")
    assert result.code == 0
    assert header(result.out) == [*ISSUE_COLUMNS, "CC", "ARCH", "EFA", "MAX PODS", "NOTES"]
    by_type = {line.split()[0]: line for line in result.out.splitlines()[1:]}
    assert "legacy" in by_type["p3.2xlarge"]
    assert "driver>=595" in by_type["g7.2xlarge"]


def test_csv_parses_and_has_the_json_rows(run_cli: RunCli) -> None:
    result = run_cli("instances", "--min-gpus", "2", "-o", "csv")
    assert result.code == 0
    table = list(csv.DictReader(io.StringIO(result.out)))
    assert list(table[0]) == ISSUE_COLUMNS
    rows = records(run_cli, "--min-gpus", "2")
    assert [line["TYPE"] for line in table] == [row["instance_type"] for row in rows]
    for line, row in zip(table, rows, strict=True):
        price = row["price_per_hour"]
        assert line["$/H"] == ("" if price is None else f"{price:.3f}")
        assert int(line["VCPU"]) == row["vcpu"]


# --- price sources --------------------------------------------------------------------------


def test_spot_without_refresh_shows_no_prices(run_cli: RunCli) -> None:
    rows = records(run_cli, "--gpu", "t4", "--capacity-type", "spot")
    assert rows
    assert all(row["price_per_hour"] is None for row in rows)
    assert all(row["price_per_gpu_hour"] is None for row in rows)


def test_spot_without_refresh_says_spot_is_unknown(run_cli: RunCli) -> None:
    result = run_cli("instances", "--gpu", "t4", "--capacity-type", "spot")
    assert result.code == 0
    assert "spot prices unknown" in result.err
    assert "catalog refresh" in result.err
    prices = [line.split()[-2:] for line in result.out.splitlines()[1:]]
    assert prices and all(cells == ["-", "-"] for cells in prices)


def test_other_region_without_cache_has_no_prices(run_cli: RunCli) -> None:
    rows = records(run_cli, "--gpu", "t4", "--region", "us-west-2")
    assert rows and all(row["price_per_hour"] is None for row in rows)
    assert {row["price_source"] for row in rows} == {"none"}


def test_other_region_without_cache_suggests_refresh(run_cli: RunCli) -> None:
    result = run_cli("instances", "--gpu", "t4", "--region", "us-west-2")
    assert result.code == 0
    assert "catalog refresh --region us-west-2" in result.err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--capacity-type", "spot"), "spot prices unknown"),
        (("--region", "us-west-2"), "catalog refresh --region us-west-2"),
    ],
    ids=["spot", "region"],
)
def test_json_output_also_explains_missing_prices_on_stderr(
    run_cli: RunCli, args: tuple[str, ...], needle: str
) -> None:
    result = run_cli("instances", "--gpu", "t4", *args, "-o", "json")
    assert result.code == 0
    assert needle in result.err


@pytest.fixture
def west_cache() -> PriceBook:
    """A refreshed us-west-2 cache: only g5.xlarge and g6.xlarge are offered there."""
    book = PriceBook(
        region="us-west-2",
        source="aws",
        date="2026-11-30",
        on_demand={"g5.xlarge": 1.1, "g6.xlarge": 0.9, "g4dn.xlarge": 0.5},
        spot={"g5.xlarge": {"us-west-2a": 0.45, "us-west-2b": 0.41}},
        zones={
            "g5.xlarge": ("us-west-2a", "us-west-2b"),
            "g6.xlarge": ("us-west-2c",),
            "g4dn.xlarge": (),
        },
    )
    save_price_book(book)
    return book


def test_region_cache_leaves_out_types_not_offered(run_cli: RunCli, west_cache: PriceBook) -> None:
    rows = records(run_cli, "--region", "us-west-2")
    assert [row["instance_type"] for row in rows] == ["g6.xlarge", "g5.xlarge"]
    assert [row["price_per_hour"] for row in rows] == [0.9, 1.1]
    assert {row["price_source"] for row in rows} == {"aws:us-west-2:2026-11-30"}


def test_region_cache_gives_spot_prices(run_cli: RunCli, west_cache: PriceBook) -> None:
    rows = records(run_cli, "--region", "us-west-2", "--capacity-type", "spot")
    prices = {row["instance_type"]: row["price_per_hour"] for row in rows}
    assert prices == {"g5.xlarge": 0.41, "g6.xlarge": None}


def test_region_cache_source_is_on_stderr(run_cli: RunCli, west_cache: PriceBook) -> None:
    result = run_cli("instances", "--region", "us-west-2")
    assert result.code == 0
    assert "us-west-2" in result.err and "2026-11-30" in result.err


# --- plot -----------------------------------------------------------------------------------


def test_plot_writes_a_png(run_cli: RunCli, tmp_path: Path) -> None:
    target = tmp_path / "prices.png"
    result = run_cli("instances", "--min-gpu-memory", "20", "--plot", str(target))
    assert result.code == 0, result.err
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000
    assert f"wrote {target}" in result.err
    assert header(result.out) == ISSUE_COLUMNS
