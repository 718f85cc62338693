"""``eks-gpu catalog refresh`` / ``catalog show``: AWS prices and zone offerings.

EC2 runs against moto (``mock_aws``): DescribeInstanceTypes and
DescribeInstanceTypeOfferings come from moto's recorded per-region data;
DescribeSpotPriceHistory from moto returns one placeholder price (0.00001) per type and zone,
which is enough to prove the plumbing, so the "latest price wins" rule is tested on
hand-made records. moto has no Pricing API (GetProducts answers 404 "Not yet implemented"),
so GetProducts is answered by a ``before-call`` hook on the real boto3 session with
hand-written responses in the real shape (``PriceList`` holds JSON texts). Denied calls are
injected the same way, so every call still goes through botocore's own error handling.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from conftest import CliResult
from eks_gpu.catalog.aws_responses import (
    check_region,
    gpu_type_names,
    latest_spot_prices,
    on_demand_prices,
    pricing_filters,
    zones_by_type,
)
from eks_gpu.catalog.prices import bundled_price_book
from eks_gpu.errors import EXIT_CLUSTER, EXIT_USAGE, CloudAccessError, UsageError
from eks_gpu.loaders import aws_session
from eks_gpu.loaders.aws_refresh import refresh_prices
from eks_gpu.loaders.price_cache import cache_path, load_price_book
from environment import fake_aws

RunCli = Callable[..., CliResult]
Hook = Callable[..., Any]

# Illustrative on-demand prices for the recorded GetProducts answers (USD/hour).
RECORDED = {
    "g4dn.xlarge": "0.5260000000",
    "g5.xlarge": "1.0060000000",
    "g4dn.metal": "7.8240000000",
}
PAGED = "g5.xlarge"  # answered in two pages, to exercise the paginator


def price_item(instance_type: str, usd: str, tenancy: str = "Shared") -> str:
    """One ``PriceList`` entry as GetProducts returns it: a JSON text, Reserved terms included."""
    sku = "SKU" + instance_type.replace(".", "").upper()
    document = {
        "product": {
            "productFamily": "Compute Instance",
            "attributes": {
                "instanceType": instance_type,
                "regionCode": "us-west-2",
                "location": "US West (Oregon)",
                "operatingSystem": "Linux",
                "tenancy": tenancy,
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
                "marketoption": "OnDemand",
            },
            "sku": sku,
        },
        "serviceCode": "AmazonEC2",
        "terms": {
            "OnDemand": {
                f"{sku}.JRTCKXETXF": {
                    "priceDimensions": {
                        f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                            "unit": "Hrs",
                            "pricePerUnit": {"USD": usd},
                            "description": f"${usd} per On Demand Linux {instance_type}",
                        }
                    },
                    "sku": sku,
                    "effectiveDate": "2026-07-01T00:00:00Z",
                    "offerTermCode": "JRTCKXETXF",
                }
            },
            "Reserved": {
                f"{sku}.38NPMPTW36": {
                    "priceDimensions": {
                        f"{sku}.38NPMPTW36.2TG2D8R56U": {
                            "unit": "Quantity",
                            "pricePerUnit": {"USD": "4000"},
                        }
                    }
                }
            },
        },
        "version": "20260701000000",
        "publicationDate": "2026-07-01T00:00:00Z",
    }
    return json.dumps(document)


def _answer(status: int, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    parsed["ResponseMetadata"] = {"HTTPStatusCode": status}
    return AWSResponse("https://example.invalid", status, {}, None), parsed


def recorded_get_products(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
    """GetProducts from the recorded answers; unknown types get an empty PriceList."""
    body = json.loads(params["body"])
    filters = {f["Field"]: f["Value"] for f in body["Filters"]}
    assert body["ServiceCode"] == "AmazonEC2"
    assert filters["operatingSystem"] == "Linux" and filters["capacitystatus"] == "Used"
    name = filters["instanceType"]
    if name == PAGED and "NextToken" not in body:
        return _answer(200, {"FormatVersion": "aws_v1", "PriceList": [], "NextToken": "page2"})
    found = RECORDED.get(name)
    items = [price_item(name, found, filters["tenancy"])] if found else []
    return _answer(200, {"FormatVersion": "aws_v1", "PriceList": items})


def failing(code: str, message: str = "You are not authorized to perform this operation.") -> Hook:
    """A hook that answers with an AWS error, as the real service would."""

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return _answer(403, {"Error": {"Code": code, "Message": message}})

    return hook


@pytest.fixture(autouse=True)
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fake credentials, no real AWS config, and the price cache in ``tmp_path``."""
    fake_aws(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A boto3 session on moto's EC2, GetProducts answered from recorded responses.

    The CLI's session factory is patched to hand out this same session.
    """
    with mock_aws():
        aws = boto3.Session(region_name="us-west-2")
        aws.events.register("before-call.pricing.GetProducts", recorded_get_products)
        monkeypatch.setattr(aws_session, "make_session", lambda region, profile: (aws, region))
        yield aws


# -- pure parsing ---------------------------------------------------------------------------


def test_gpu_types_are_nvidia_and_amd_only() -> None:
    rows = [
        {"InstanceType": "g5.xlarge", "GpuInfo": {"Gpus": [{"Manufacturer": "NVIDIA"}]}},
        {"InstanceType": "g4ad.xlarge", "GpuInfo": {"Gpus": [{"Manufacturer": "AMD"}]}},
        {"InstanceType": "dl1.24xlarge", "GpuInfo": {"Gpus": [{"Manufacturer": "Habana"}]}},
        {"InstanceType": "m5.large"},
    ]
    assert gpu_type_names(rows) == ["g4ad.xlarge", "g5.xlarge"]


def test_zones_by_type_lists_unoffered_types_as_empty() -> None:
    offerings = [
        {"InstanceType": "g5.xlarge", "LocationType": "availability-zone", "Location": "b"},
        {"InstanceType": "g5.xlarge", "LocationType": "availability-zone", "Location": "a"},
    ]
    assert zones_by_type(offerings, ["g5.xlarge", "p5.48xlarge"]) == {
        "g5.xlarge": ("a", "b"),
        "p5.48xlarge": (),
    }


def test_latest_spot_price_wins_per_type_and_zone() -> None:
    now = datetime(2026, 7, 20, tzinfo=timezone.utc)
    older = now - timedelta(hours=3)

    def row(zone: str, price: str, stamp: datetime, name: str = "g5.xlarge") -> dict[str, Any]:
        return {
            "InstanceType": name,
            "AvailabilityZone": zone,
            "SpotPrice": price,
            "Timestamp": stamp,
        }

    history = [
        row("us-west-2a", "0.4000", older),
        row("us-west-2a", "0.3500", now),
        row("us-west-2b", "0.5000", now),
        row("us-west-2c", "not-a-price", now),
        row("us-west-2d", "0", now),
        row("us-west-2a", "0.2000", now, "g4dn.xlarge"),
    ]
    assert latest_spot_prices(history) == {
        "g4dn.xlarge": {"us-west-2a": 0.2},
        "g5.xlarge": {"us-west-2a": 0.35, "us-west-2b": 0.5},
    }


def test_on_demand_prices_parse_the_price_list_json() -> None:
    items = [
        price_item("g5.xlarge", "1.0060000000"),
        price_item("p5e.48xlarge", "0.0000000000"),  # placeholder: unknown, not free
        "{not json",
        json.dumps({"product": {"attributes": {}}, "terms": {}}),
    ]
    assert on_demand_prices(items) == {"g5.xlarge": 1.006}


def test_pricing_filters_ask_for_linux_shared_or_dedicated_metal() -> None:
    plain = {f["Field"]: f["Value"] for f in pricing_filters("us-west-2", "g5.xlarge")}
    metal = {f["Field"]: f["Value"] for f in pricing_filters("us-west-2", "g4dn.metal")}
    assert plain == {
        "regionCode": "us-west-2",
        "instanceType": "g5.xlarge",
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
        "marketoption": "OnDemand",
    }
    assert metal["tenancy"] == "Dedicated"


@pytest.mark.parametrize("bad", ["us-west", "../etc", "US-WEST-2", ""])
def test_region_names_are_checked(bad: str) -> None:
    with pytest.raises(UsageError):
        check_region(bad)


# -- refresh against moto -------------------------------------------------------------------


def test_full_refresh_writes_the_region_cache(session: Any, aws_env: Path) -> None:
    steps: list[str] = []
    result = refresh_prices("us-west-2", session, progress=steps.append)

    assert result.path == cache_path("us-west-2") == aws_env / "prices-us-west-2.json"
    assert "g5.xlarge" in result.gpu_types and "g4dn.metal" in result.gpu_types
    assert len(steps) == 4
    book = load_price_book("us-west-2")
    assert book.source == "aws" and book.region == "us-west-2"
    assert book.date.endswith("Z")
    assert book.zones is not None
    assert book.zones["g5.xlarge"] == ("us-west-2a", "us-west-2b", "us-west-2c")
    assert book.offered("g5.xlarge") is True
    assert book.price("g5.xlarge") == 1.006  # two GetProducts pages
    assert book.price("g4dn.metal") == 7.824
    assert book.price("g5.xlarge", "spot") == 0.00001  # moto's placeholder spot price
    assert set(book.spot["g5.xlarge"]) == set(book.zones["g5.xlarge"])
    # types without a recorded price are reported, not invented
    assert book.price("p5.48xlarge") is None
    assert any("no public on-demand price" in w for w in result.warnings)
    summary = result.summary()
    assert summary["on_demand_prices"] == 3
    assert "us-west-2a" in summary["zones"]


def test_denied_spot_history_leaves_spot_unknown(session: Any) -> None:
    session.events.register_first(
        "before-call.ec2.DescribeSpotPriceHistory", failing("UnauthorizedOperation")
    )
    result = refresh_prices("us-west-2", session)

    denied = [w for w in result.warnings if "denied" in w]
    assert denied == [
        "ec2:DescribeSpotPriceHistory denied (UnauthorizedOperation): spot prices left unknown"
    ]
    book = load_price_book("us-west-2")
    assert book.spot == {}
    assert book.price("g5.xlarge", "spot") is None
    assert book.price("g5.xlarge") == 1.006  # the rest still refreshed
    assert book.offered("g5.xlarge") is True


def test_denied_pricing_api_in_us_east_1_keeps_the_bundled_table(session: Any) -> None:
    session.events.register_first(
        "before-call.pricing.GetProducts", failing("AccessDeniedException")
    )
    result = refresh_prices("us-east-1", session)

    assert any(
        w.startswith("pricing:GetProducts denied (AccessDeniedException)") for w in result.warnings
    )
    book = load_price_book("us-east-1")
    assert book.on_demand["g5.xlarge"] == bundled_price_book().on_demand["g5.xlarge"]
    assert book.spot  # spot and zones came from moto


def test_denied_instance_types_fall_back_to_the_bundled_gpu_list(session: Any) -> None:
    session.events.register_first(
        "before-call.ec2.DescribeInstanceTypes", failing("UnauthorizedOperation")
    )
    result = refresh_prices("us-west-2", session)

    assert any(w.startswith("ec2:DescribeInstanceTypes denied") for w in result.warnings)
    assert "g5.xlarge" in result.gpu_types
    assert load_price_book("us-west-2").offered("g5.xlarge") is True


def test_every_call_denied_fails_and_writes_nothing(session: Any) -> None:
    for operation in (
        "ec2.DescribeInstanceTypes",
        "ec2.DescribeInstanceTypeOfferings",
        "ec2.DescribeSpotPriceHistory",
    ):
        session.events.register_first(f"before-call.{operation}", failing("UnauthorizedOperation"))
    session.events.register_first(
        "before-call.pricing.GetProducts", failing("AccessDeniedException")
    )

    with pytest.raises(CloudAccessError) as caught:
        refresh_prices("us-west-2", session)
    assert "ec2:DescribeSpotPriceHistory" in caught.value.message
    assert caught.value.exit_code == EXIT_CLUSTER
    assert not cache_path("us-west-2").exists()


def test_other_aws_errors_carry_code_and_message(session: Any) -> None:
    session.events.register_first(
        "before-call.ec2.DescribeInstanceTypes", failing("InternalError", "try again later")
    )
    with pytest.raises(CloudAccessError, match="InternalError: try again later"):
        refresh_prices("us-west-2", session)


def test_rejected_credentials_say_how_to_configure_them(session: Any) -> None:
    session.events.register_first("before-call.ec2.DescribeInstanceTypes", failing("AuthFailure"))
    with pytest.raises(CloudAccessError) as caught:
        refresh_prices("us-west-2", session)
    assert "aws configure" in (caught.value.hint or "")


# -- the CLI --------------------------------------------------------------------------------


def test_cli_refresh_then_show(session: Any, run_cli: RunCli, aws_env: Path) -> None:
    result = run_cli("catalog", "refresh", "--region", "us-west-2")
    assert result.code == 0, result.err
    assert "refreshed us-west-2 from the AWS APIs" in result.out
    assert "GPU instance types" in result.out and "on-demand prices" in result.out
    assert str(aws_env / "prices-us-west-2.json") in result.out
    assert "warning: no public on-demand price" in result.err

    shown = run_cli("catalog", "show", "--region", "us-west-2", "-o", "json")
    assert shown.code == 0, shown.err
    summary = json.loads(shown.out)
    assert summary["source"] == "aws" and summary["zones_known"] is True
    assert summary["cache_path"] == str(aws_env / "prices-us-west-2.json")
    assert "AWS APIs for us-west-2" in summary["description"]


def test_cli_refresh_json_and_denied_warning(session: Any, run_cli: RunCli) -> None:
    session.events.register_first(
        "before-call.ec2.DescribeSpotPriceHistory", failing("UnauthorizedOperation")
    )
    result = run_cli("catalog", "refresh", "--region", "us-west-2", "-o", "json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["spot_prices"] == 0 and summary["types_offered"] > 0
    assert "warning: ec2:DescribeSpotPriceHistory denied" in result.err


def test_cli_show_without_a_refresh(run_cli: RunCli) -> None:
    bundled = run_cli("catalog", "show")
    assert bundled.code == 0, bundled.err
    assert "bundled us-east-1 table" in bundled.out and "spot prices unknown" in bundled.out
    other = run_cli("catalog", "show", "--region", "eu-west-1", "-o", "json")
    assert json.loads(other.out)["source"] == "none"


def test_no_credentials_exit_3_and_say_what_to_do(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith(("AWS_CONTAINER_", "AWS_WEB_IDENTITY", "AWS_ROLE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))

    result = run_cli("catalog", "refresh", "--region", "us-west-2")
    assert result.code == EXIT_CLUSTER, (result.out, result.err)
    assert "error: no AWS credentials found" in result.err
    assert "aws configure" in result.err and "bundled prices" in result.err
    assert "Traceback" not in result.err


def test_missing_boto3_gives_the_pip_hint(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` now raises ImportError
    result = run_cli("catalog", "refresh", "--region", "us-west-2")
    assert result.code == EXIT_USAGE
    assert "pip install 'eks-gpu[aws]'" in result.err


def test_unknown_profile_and_bad_region_are_usage_errors(run_cli: RunCli) -> None:
    profile = run_cli("catalog", "refresh", "--region", "us-west-2", "--profile", "nope")
    assert profile.code == EXIT_USAGE and "nope" in profile.err
    region = run_cli("catalog", "refresh", "--region", "mars-1")
    assert region.code == EXIT_USAGE and "not an AWS region" in region.err
    missing = run_cli("catalog", "refresh")
    assert missing.code == EXIT_USAGE and "--region" in missing.err
