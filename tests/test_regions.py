"""Regions other than us-east-1 without a refresh (issue 14, item 6).

Before: ``plan --region us-west-2`` placed nodes in us-east-1a and ``recommend --region
us-west-2`` found nothing (no prices). Now the bundled us-east-1 on-demand prices stand in,
labelled as an estimate, and each region's zones and GPU offerings come from
``catalog/data/zone_offerings.json``, which ``scripts/gen_offerings.py`` writes from moto's
recorded EC2 DescribeInstanceTypeOfferings answers.
"""

from __future__ import annotations

import importlib
import json
import random
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from builders import make_pod
from conftest import CliResult
from eks_gpu.catalog.gpu_types import gpu_instance_types
from eks_gpu.catalog.offerings import known_regions, region_offerings
from eks_gpu.catalog.prices import PriceBook, estimate_price_book
from eks_gpu.commands.price_source import price_book
from eks_gpu.errors import UsageError
from eks_gpu.loaders.price_cache import load_price_book, save_price_book

RunCli = Callable[..., CliResult]
Obj = dict[str, Any]
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "eks_gpu" / "catalog" / "data" / "zone_offerings.json"
GPUS = {t.instance_type for t in gpu_instance_types()}
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
ESTIMATE = "us-east-1 on-demand used as an estimate for us-west-2"
REFRESH = "eks-gpu catalog refresh --region us-west-2"


@pytest.fixture(autouse=True)
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No refreshed prices unless a test writes them."""
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def gen_offerings() -> Iterator[ModuleType]:
    """``scripts/gen_offerings.py``, as a module."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        yield importlib.import_module("gen_offerings")
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def run_json(run_cli: RunCli, *args: str, code: int = 0) -> Obj:
    result = run_cli(*args, "-o", "json")
    assert result.code == code, result.err
    document: Obj = json.loads(result.out)
    return document


def workload_file(tmp_path: Path, pod: Obj) -> str:
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(pod))
    return str(path)


def pinned_pod(instance_type: str) -> Obj:
    return make_pod("pinned", gpus=1, node_selector={INSTANCE_TYPE: instance_type})


# --- the price book of a region without a refresh ---------------------------------------------


def test_other_region_gets_us_east_1_prices_labelled_as_an_estimate() -> None:
    book = price_book("us-west-2", estimate=True)
    assert (book.region, book.source) == ("us-west-2", "estimate")
    assert book.price("g5.xlarge") == load_price_book().price("g5.xlarge") == 1.006
    assert book.price("g5.xlarge", "spot") is None
    assert ESTIMATE in book.describe() and REFRESH in book.describe()
    assert "spot prices" in book.describe("spot")


def test_estimate_zones_are_the_regions_own() -> None:
    book, facts = price_book("us-west-2", estimate=True), region_offerings("us-west-2", GPUS)
    assert book.zones is not None
    assert facts.zones == ("us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d")
    assert book.zones["g5.xlarge"] == facts.gpu_types["g5.xlarge"]
    assert book.zones["m5.large"] == facts.zones  # CPU types are not bundled: every zone
    assert all(z.startswith("us-west-2") for zones in book.zones.values() for z in zones)
    assert book.zones_source is not None and "moto" in book.zones_source


def test_gpu_types_the_source_lists_nowhere_are_unknown_not_absent() -> None:
    """moto's recording lists no p3 or g4ad in any region: offered everywhere, not nowhere."""
    facts = region_offerings("us-west-2", GPUS)
    assert "p3.2xlarge" in facts.unknown and "g5.xlarge" not in facts.unknown
    assert facts.zones_of("p3.2xlarge", gpu=True) == facts.zones


def test_a_type_a_region_lacks_is_not_offered_and_said_so() -> None:
    book = estimate_price_book("eu-west-1")
    assert book.offered("g6e.xlarge") is False and book.offered("g4dn.xlarge") is True
    assert any("not offered in eu-west-1" in n and "g6e (every size)" in n for n in book.notes)


def test_unknown_region_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        price_book("xx-mars-1", estimate=True)
    assert "xx-mars-1" in str(caught.value)
    assert caught.value.hint is not None and "us-west-2, " not in caught.value.hint[:10]
    assert all(region in caught.value.hint for region in ("us-west-2", "eu-west-1"))
    assert "catalog refresh --region xx-mars-1" in caught.value.hint


@pytest.mark.parametrize("region", ["us-west-2", "xx-mars-1"])
def test_without_estimate_another_region_has_no_prices(region: str) -> None:
    """status and doctor price the region of the cluster's nodes in one-line findings: an
    unknown price there, never an unlabelled us-east-1 one, and no error for a new region."""
    book = price_book(region)
    assert (book.source, book.on_demand, book.zones) == ("none", {}, None)


def test_a_refresh_wins_over_the_estimate() -> None:
    save_price_book(PriceBook("us-west-2", "aws", "2026-11-30", on_demand={"g5.xlarge": 1.2}))
    assert price_book("us-west-2", estimate=True).source == "aws"


def test_us_east_1_is_unchanged() -> None:
    """The bundled region keeps its table and default zones; its facts are not an estimate."""
    book = price_book("us-east-1", estimate=True)
    assert (book.source, book.zones, book.zones_source) == ("bundled", None, None)


# --- plan, simulate, recommend ------------------------------------------------------------------


def test_plan_places_nodes_in_the_regions_zones(run_cli: RunCli) -> None:
    document = run_json(run_cli, "plan", "--region", "us-west-2")
    simulation = document["simulation"]
    facts = region_offerings("us-west-2", GPUS)
    assert simulation["nodeclaims"]
    for claim in simulation["nodeclaims"]:
        assert claim["zone"] in facts.zones_of(
            claim["instance_type"], claim["instance_type"] in GPUS
        )
    assert any(ESTIMATE in line for line in simulation["assumptions"])
    assert any(line.startswith("zones: us-west-2a, ") for line in simulation["assumptions"])
    table = run_cli("plan", "--region", "us-west-2")
    assert table.code == 0, table.err
    head = table.out.splitlines()[:2]
    assert head[0].startswith("Cost:") and ESTIMATE in head[1]
    assert "us-east-1a" not in table.out


def _type_missing_from_a_zone(region: str) -> tuple[str, str]:
    """A guide-pool GPU type (g4dn..g6e) offered in ``region`` but not in one of its zones."""
    facts = region_offerings(region, GPUS)
    for name, zones in sorted(facts.gpu_types.items()):
        missing = [z for z in facts.zones if z not in zones]
        if name.split(".")[0] in {"g4dn", "g5", "g6", "g6e"} and missing and zones:
            return name, missing[0]
    raise AssertionError(f"the bundled facts offer every type in every zone of {region}")


def test_simulate_places_a_type_only_where_it_is_offered(run_cli: RunCli, tmp_path: Path) -> None:
    name, lacking = _type_missing_from_a_zone("us-west-2")
    workload = workload_file(tmp_path, pinned_pod(name))
    placed = run_json(run_cli, "simulate", "--workload", workload, "--region", "us-west-2")
    [claim] = [c for c in placed["nodeclaims"] if c["instance_type"] == name]
    assert claim["zone"] in region_offerings("us-west-2", GPUS).gpu_types[name]
    stuck = run_json(
        run_cli, "simulate", "--workload", workload, "--region", "us-west-2", "--zones", lacking,
        code=1,
    )  # fmt: skip
    [pending] = stuck["unschedulable"]
    assert "pinned" in pending["pod"] and not stuck["nodeclaims"]


def test_simulate_says_which_types_a_region_lacks(run_cli: RunCli, tmp_path: Path) -> None:
    workload = workload_file(tmp_path, pinned_pod("g6e.xlarge"))
    document = run_json(
        run_cli, "simulate", "--workload", workload, "--region", "eu-west-1", code=1
    )
    assert any("not offered in eu-west-1" in line for line in document["assumptions"])
    [pending] = document["unschedulable"]
    assert "pinned" in pending["pod"]


def test_recommend_finds_a_fit_and_labels_the_estimate(run_cli: RunCli) -> None:
    args = (
        "recommend",
        "--workload",
        "inference",
        "--model-params",
        "70B",
        "--region",
        "us-west-2",
    )
    document = run_json(run_cli, *args)
    us_east = run_json(run_cli, *args[:-2])
    assert document["options"] and document["pod_gpu_request"]
    offered = region_offerings("us-west-2", GPUS)
    assert all(o["instance_type"] in offered.gpu_types for o in document["options"])
    assert [o["price_per_hour"] for o in document["options"]] == sorted(
        o["price_per_hour"] for o in document["options"]
    )
    assert {o["price_per_hour"] for o in document["options"]} <= {
        o["price_per_hour"] for o in run_json(run_cli, *args[:-2], "--limit", "99")["options"]
    }
    assert any(ESTIMATE in line and REFRESH in line for line in document["assumptions"])
    assert not any("estimate" in line for line in us_east["assumptions"])
    table = run_cli(*args)
    assert table.code == 0 and ESTIMATE in table.out
    assert "$/H (on-demand, us-east-1 estimate)" in table.out


def test_recommend_names_fits_the_region_does_not_offer(run_cli: RunCli) -> None:
    args = ("--workload", "inference", "--model-params", "7B", "--families", "g6e")
    document = run_json(run_cli, "recommend", *args, "--region", "eu-west-1", code=1)
    assert document["options"] == []
    assert any("not offered in eu-west-1: g6e.xlarge" in line for line in document["assumptions"])


@pytest.mark.parametrize(
    "args",
    [
        ("plan",),
        ("simulate",),
        ("recommend", "--workload", "inference", "--model-params", "7B"),
    ],
    ids=["plan", "simulate", "recommend"],
)
def test_unknown_region_is_a_usage_error_listing_known_regions(
    run_cli: RunCli, args: tuple[str, ...]
) -> None:
    result = run_cli(*args, "--region", "xx-mars-1")
    assert result.code == 2
    assert "--region xx-mars-1" in result.err and "us-west-2" in result.err
    assert "Traceback" not in result.err


# --- the generator ----------------------------------------------------------------------------

FIXTURE = {
    "us-west-2": [
        {"InstanceType": "g5.xlarge", "Location": "us-west-2b"},
        {"InstanceType": "m5.large", "Location": "us-west-2d"},
        {"InstanceType": "g5.xlarge", "Location": "us-west-2a"},
        {"InstanceType": "m5.large", "Location": "us-west-2a"},
        {"InstanceType": "p5.48xlarge", "Location": "us-west-2c"},
    ],
    "eu-west-1": [{"InstanceType": "m5.large", "Location": "eu-west-1a"}],
}


def test_generator_keeps_gpu_types_only_as_zone_letters(gen_offerings: ModuleType) -> None:
    document = gen_offerings.build_document(FIXTURE, ["g5.xlarge", "g6.xlarge"], "5.2.5", "D")
    assert document["regions"] == {
        "eu-west-1": {"zones": "a", "gpu_types": {}},
        "us-west-2": {"zones": "abcd", "gpu_types": {"g5.xlarge": "ab"}},  # c: p5, not asked
    }
    assert "moto 5.2.5" in document["source"] and document["date"] == "D"


def test_generator_is_deterministic(gen_offerings: ModuleType) -> None:
    def text(seed: int) -> str:
        shuffled = {}
        for region, rows in reversed(list(FIXTURE.items())):
            rows = list(rows)
            random.Random(seed).shuffle(rows)
            shuffled[region] = rows
        document = gen_offerings.build_document(shuffled, ["g5.xlarge"], "5.2.5", "2026-12-01")
        rendered: str = gen_offerings.render(document)
        return rendered

    first = text(0)
    assert all(text(seed) == first for seed in range(1, 6))
    assert json.loads(first)["regions"]["us-west-2"]["gpu_types"] == {"g5.xlarge": "ab"}


def test_generator_refuses_a_zone_of_another_region(gen_offerings: ModuleType) -> None:
    rows = {"us-west-2": [{"InstanceType": "g5.xlarge", "Location": "us-west-2-lax-1a"}]}
    with pytest.raises(ValueError, match="us-west-2-lax-1a"):
        gen_offerings.build_document(rows, ["g5.xlarge"], "5.2.5", "D")


def test_committed_file_is_the_generators_output_of_installed_moto(
    gen_offerings: ModuleType,
) -> None:
    committed = json.loads(DATA.read_text())
    if metadata.version("moto") != committed["moto_version"]:
        pytest.skip(
            f"moto {metadata.version('moto')} installed, file from {committed['moto_version']}"
        )
    import moto

    offerings = gen_offerings.read_moto(Path(moto.__file__).parent)
    document = gen_offerings.build_document(
        offerings, gen_offerings.catalog_gpu_types(), committed["moto_version"], committed["date"]
    )
    assert gen_offerings.render(document) == DATA.read_text()
    assert set(known_regions()) == set(offerings)
