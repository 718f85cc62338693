"""Fuzz the string and response parsers: Kubernetes quantities, durations, label selectors,
``nvidia-smi`` CSV and table output, the probes' JSON result lines and the verify judges, and
the AWS API answers ``catalog refresh`` reads.

Only the project's typed errors may escape (the probes, stdlib-only, raise their own
:class:`~eks_gpu.probes.gpu.ProbeError`; the judges and the AWS parsers return a verdict or
skip the damaged record instead of raising).

Budget: ~10 s of the fuzz suite's ~60 s (profile ``fuzz`` in ``test_fuzz_common``,
derandomized: the same examples on every run).
"""

from __future__ import annotations

import datetime
import json
import time
from decimal import Decimal

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eks_gpu.catalog import aws_responses
from eks_gpu.cli.params import duration_seconds
from eks_gpu.errors import EksGpuError, UsageError
from eks_gpu.inventory.selector import parse_selector
from eks_gpu.probes import gpu
from eks_gpu.scheduling.resources import (
    QuantityError,
    format_quantity,
    parse_quantity,
    parse_resources,
)
from eks_gpu.verify.judge import judge, result_line
from test_fuzz_common import FUZZ, FUZZ_CHEAP, JSON_VALUES, assert_typed_error

QUANTITY_LIKE = st.from_regex(
    r"[+-]?[0-9]{0,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,12}|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?",
    fullmatch=True,
)


@FUZZ_CHEAP
@given(QUANTITY_LIKE | st.text(max_size=30) | JSON_VALUES)
def test_parse_quantity_is_a_decimal_or_a_typed_error_naming_the_text(text: object) -> None:
    found = assert_typed_error(lambda: parse_quantity(text))  # type: ignore[arg-type]
    if isinstance(found, EksGpuError):
        assert isinstance(found, QuantityError) and isinstance(found, ValueError)
        assert "quantity" in found.message
    else:
        assert isinstance(found, Decimal) and found.is_finite()


@FUZZ_CHEAP
@given(QUANTITY_LIKE, st.sampled_from(["cpu", "memory", "nvidia.com/gpu"]))
def test_a_parsed_quantity_formats_back_to_itself(text: str, resource: str) -> None:
    """What parses, prints in a form that parses to the same value (status, simulate show it)."""
    value = assert_typed_error(lambda: parse_quantity(text))
    if isinstance(value, Decimal) and value.copy_abs() < Decimal(10) ** 30:
        assert parse_quantity(format_quantity(value, resource)) == value


@FUZZ
@given(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=4) | JSON_VALUES)
def test_parse_resources_is_a_typed_error_naming_the_resource(mapping: object) -> None:
    assert_typed_error(lambda: parse_resources(mapping))  # type: ignore[arg-type]


def test_huge_exponents_name_the_text() -> None:
    """Found by fuzzing: a 5,000-digit exponent escaped as Python's own "Exceeds the limit
    (4300 digits) for integer string conversion", which names neither the field nor the value."""
    with pytest.raises(QuantityError, match=r"'1e9999.*\.\.\. is out of range"):
        parse_quantity("1e" + "9" * 5000)


SELECTOR_TEXT = st.text(alphabet=st.sampled_from("ab=!,() .-/_1\t\u00e9"), max_size=40).map(
    lambda text: text.replace("ab", "a in ").replace("ba", "b notin ")
)


@FUZZ_CHEAP
@given(
    SELECTOR_TEXT | st.text(max_size=60),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)
def test_selector_is_parsed_or_refused_and_matching_never_fails(
    text: str, labels: dict[str, str]
) -> None:
    found = assert_typed_error(lambda: parse_selector(text))
    if isinstance(found, EksGpuError):
        assert isinstance(found, UsageError) and "--selector" in found.message
    else:
        assert isinstance(found.matches(labels), bool)


@pytest.mark.parametrize(
    "text", [" " * 20_000 + "x y", "!" + " " * 20_000 + "a b", "a" + " " * 20_000 + "= b c"]
)
def test_selector_with_a_long_run_of_spaces_is_refused_fast(text: str) -> None:
    """Found by fuzzing: ``\\s*(!?)\\s*`` backtracked quadratically, so 20,000 spaces before a
    bad term took 20 s to refuse."""
    started = time.monotonic()
    with pytest.raises(UsageError, match="not a label selector term"):
        parse_selector(text)
    assert time.monotonic() - started < 1


@FUZZ_CHEAP
@given(st.text(max_size=20) | st.from_regex(r"[-+0-9e._]{0,12}[smhd]", fullmatch=True))
def test_duration_is_seconds_or_a_bad_parameter(text: str) -> None:
    try:
        seconds = duration_seconds(text, "--timeout")
    except click.BadParameter as error:
        assert "--timeout" in str(error.param_hint) and repr(text) in error.message
        return
    assert seconds >= 0


@pytest.mark.parametrize("text", ["infs", "1e400s", "99999999999d"])
def test_duration_refuses_what_no_clock_can_hold(text: str) -> None:
    with pytest.raises(click.BadParameter):
        datetime.timedelta(seconds=duration_seconds(text, "--idle-after"))


SMI_CELLS = st.sampled_from(
    [
        "0",
        "Tesla T4",
        "GPU-1234abcd",
        "550.90.07",
        "15360 MiB",
        "[N/A]",
        "[Not Supported]",
        "Enabled",
        "Disabled",
        "0x0000000000000004",
        "P0",
        "70.00 W",
        "",
        "9" * 400,
        "-1",
        "x,y",
    ]
) | st.text(max_size=10)
SMI_CSV = st.lists(st.lists(SMI_CELLS, min_size=1, max_size=6), max_size=4).map(
    lambda rows: "\n".join(", ".join(row) for row in rows)
)
TABLE_ROWS = st.lists(
    st.sampled_from(
        [
            "| {n}  Tesla T4          On  |   00000000:00:1E.0 Off |         {n} |",
            "| N/A   {n}C    P0   {n}W /   70W |    {n}MiB /  {n}MiB |  0%  Default |",
            "|                            |                        |       {n} |",
            "GPU {n}: Tesla T4 (UUID: GPU-{n})",
            "| NVIDIA-SMI 550.90.07   Driver Version: {n}   CUDA Version: {n} |",
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
        ]
    ).flatmap(
        lambda row: st.sampled_from(["0", "1", "9" * 30, "9" * 5000, "N/A", "\u0663", "-1"]).map(
            lambda n: row.format(n=n)
        )
    ),
    max_size=8,
).map("\n".join)
"""nvidia-smi table and ``-L`` lines with numbers from 0 to 5,000 digits (garbled logs)."""


@FUZZ
@given(SMI_CSV | st.text(), st.lists(st.sampled_from(gpu.QUERY_FIELDS), min_size=1, max_size=6))
def test_query_gpu_csv_is_gpus_or_a_probe_error(text: str, fields: list[str]) -> None:
    try:
        gpus = gpu.parse_query_gpu(text, fields)
    except gpu.ProbeError as error:
        assert "--query-gpu line" in str(error)
        return
    json.dumps(gpu.result(gpus, None, None))  # the probe prints it: it must serialise
    gpu.parse_remapped_rows(text)


@FUZZ
@given(TABLE_ROWS | st.text())
def test_pod_log_is_always_a_result(text: str) -> None:
    out = gpu.parse_pod_log(text)
    assert out["probe"] == "gpu" and isinstance(out["ok"], bool)
    json.dumps(out)
    gpu.parse_table(text)
    gpu.parse_list(text)


@pytest.mark.parametrize("digits", [400, 5000])
def test_garbled_numbers_in_nvidia_smi_output_are_unknown(digits: int) -> None:
    """Found by fuzzing: a long digit run (a garbled log) overflowed ``int(float(...))`` with
    OverflowError, or ``int()`` with ValueError past 4,300 digits, in the gpu probe's parsers,
    so ``verify``'s simple step crashed instead of failing."""
    big = "9" * digits
    assert gpu.parse_query_gpu(big, ["index"])[0]["index"] is None
    assert gpu.parse_remapped_rows(f"GPU-1, {big}, 0, No, No")["GPU-1"]["correctable"] is None
    table = f"| {big}  Tesla T4   On  | 00000000:00:1E.0 Off |                    0 |"
    assert gpu.parse_table(table)[0]["index"] is None
    assert gpu.parse_list(f"GPU {big}: Tesla T4 (UUID: GPU-1)")[0]["index"] is None


TORCH_DEVICE = st.fixed_dictionaries(
    {},
    optional={
        "index": JSON_VALUES,
        "name": st.sampled_from(["Tesla T4", "NVIDIA A10G", "NVIDIA H100 80GB HBM3"]) | JSON_VALUES,
        "memory_bytes": st.integers() | st.floats() | JSON_VALUES,
        "tflops": st.dictionaries(st.sampled_from(["fp16", "bf16"]), st.floats() | JSON_VALUES)
        | JSON_VALUES,
        "copy_gb_s": st.floats() | st.integers(min_value=-(10**400), max_value=10**400),
    },
)
RESULT_LINES = st.one_of(
    st.text(),
    JSON_VALUES.map(json.dumps),
    st.fixed_dictionaries(
        {"probe": st.just("torch"), "ok": JSON_VALUES},
        optional={
            "devices": st.lists(TORCH_DEVICE, max_size=2) | JSON_VALUES,
            "reason": JSON_VALUES,
            "torch_version": JSON_VALUES,
        },
    ).map(json.dumps),
    st.fixed_dictionaries(
        {"probe": st.just("storage"), "ok": JSON_VALUES},
        optional={k: JSON_VALUES for k in ("members", "notes", "device", "dir", "reason")},
    ).map(json.dumps),
)


@FUZZ
@given(
    st.lists(RESULT_LINES | TABLE_ROWS, max_size=4), st.sampled_from(["simple", "pytorch", "nvme"])
)
def test_judges_always_give_a_verdict(lines: list[str], step: str) -> None:
    """A pod's log is whatever the pod printed: every judge returns passed or failed."""
    verdict = judge(step, "\n".join(lines))
    assert verdict.status in ("passed", "failed")
    json.dumps(verdict.as_json(), default=str)


@pytest.mark.parametrize(
    ("step", "line"),
    [
        ("nvme", {"probe": "storage", "ok": True, "members": 5.0, "notes": 3}),
        ("pytorch", {"probe": "torch", "ok": True, "devices": [{"memory_bytes": "16 GB"}]}),
        ("pytorch", {"probe": "torch", "ok": True, "devices": [{"memory_bytes": {"a": 1}}]}),
        (
            "pytorch",
            {"probe": "torch", "ok": True, "devices": [{"name": "Tesla T4", "tflops": [1]}]},
        ),
        ("pytorch", {"probe": "torch", "ok": True, "devices": [{"copy_gb_s": 10**400}]}),
        ("pytorch", {"probe": "torch", "ok": False, "devices": 7}),
    ],
)
def test_damaged_probe_results_fail_the_step_without_crashing(step: str, line: dict) -> None:
    """Found by fuzzing: ``members: 5.0`` (len() of a float), ``memory_bytes: "16 GB"`` (int()
    of a string), a list where ``tflops`` belongs, and a copy figure too big for a float each
    raised from the verify judges instead of giving a verdict."""
    verdict = judge(step, "nvidia-smi -L\nGPU 0: Tesla T4 (UUID: GPU-1)\n" + json.dumps(line))
    assert verdict.status in ("passed", "failed")


def test_result_line_skips_json_nested_past_the_stack() -> None:
    """Found by fuzzing: one deeply nested line in a pod log raised RecursionError."""
    good = json.dumps({"probe": "torch", "ok": True})
    assert result_line(good + "\n" + '{"a":' * 100_000, "torch") == {"probe": "torch", "ok": True}


AWS_ROWS = st.lists(
    st.dictionaries(
        st.sampled_from(
            [
                "InstanceType",
                "GpuInfo",
                "Location",
                "LocationType",
                "AvailabilityZone",
                "Timestamp",
                "SpotPrice",
            ]
        ),
        JSON_VALUES
        | st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc))
        | st.sampled_from(["g5.xlarge", "us-east-1a", "0.5", "inf", "NaN", "-1"])
        | st.just({"Gpus": [{"Manufacturer": "NVIDIA"}]}),
        max_size=5,
    )
    | JSON_VALUES,
    max_size=4,
)
PRICE_ITEMS = st.lists(
    st.one_of(
        st.text(max_size=20),
        JSON_VALUES.map(json.dumps),
        st.builds(
            lambda name, price: json.dumps(
                {
                    "product": {"attributes": {"instanceType": name}},
                    "terms": {
                        "OnDemand": {
                            "t": {"priceDimensions": {"d": {"pricePerUnit": {"USD": price}}}}
                        }
                    },
                }
            ),
            JSON_VALUES | st.just("g5.xlarge"),
            JSON_VALUES | st.sampled_from(["1.006", "0", "inf", "NaN", "-1"]),
        ),
    ),
    max_size=4,
)


@FUZZ
@given(AWS_ROWS, PRICE_ITEMS)
def test_aws_answers_are_parsed_or_skipped(rows: list, items: list) -> None:
    """Damaged or zero records are skipped, never guessed (and never raise)."""
    names = aws_responses.gpu_type_names(rows)
    assert all(isinstance(name, str) for name in names)
    zones = aws_responses.zones_by_type(rows, ["g5.xlarge"])
    assert all(isinstance(zone, str) for found in zones.values() for zone in found)
    for by_zone in aws_responses.latest_spot_prices(rows).values():
        assert all(0 < price < float("inf") for price in by_zone.values())
    prices = aws_responses.on_demand_prices(items)
    assert all(isinstance(n, str) and 0 < p < float("inf") for n, p in prices.items())
    for row in rows:
        assert all(isinstance(part, str) for part in aws_responses.error_code(row))


@pytest.mark.parametrize(
    "call",
    [
        lambda: aws_responses.gpu_type_names([None, [], {"GpuInfo": None}]),
        lambda: aws_responses.zones_by_type([{}, {"InstanceType": "g5.xlarge"}], ["g5.xlarge"]),
        lambda: aws_responses.error_code(None),  # type: ignore[arg-type]
        lambda: aws_responses.latest_spot_prices(
            [
                {
                    "InstanceType": "g5.xlarge",
                    "AvailabilityZone": "a",
                    "SpotPrice": "1",
                    "Timestamp": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
                },
                {
                    "InstanceType": "g5.xlarge",
                    "AvailabilityZone": "a",
                    "SpotPrice": "2",
                    "Timestamp": "2026-01-02",
                },
            ]
        ),
        lambda: aws_responses.on_demand_prices(
            [
                json.dumps(
                    {
                        "product": {"attributes": {"instanceType": ["g5"]}},
                        "terms": {
                            "OnDemand": {
                                "t": {"priceDimensions": {"d": {"pricePerUnit": {"USD": "1"}}}}
                            }
                        },
                    }
                )
            ]
        ),
    ],
    ids=["gpu-types", "offerings", "error", "spot-stamps", "unhashable-name"],
)
def test_damaged_aws_records_are_skipped(call) -> None:  # type: ignore[no-untyped-def]
    """Found by fuzzing: a None or list row, a row without InstanceType/Location, a Timestamp
    that is not a datetime, and a list as the instance type raised AttributeError, KeyError or
    TypeError from the refresh's parsers, against their own rule (skip, never guess)."""
    call()


def test_infinite_prices_are_skipped() -> None:
    """Found by fuzzing: ``float("inf")`` parsed as a price and would have been cached."""
    spot = [
        {
            "InstanceType": "g5.xlarge",
            "AvailabilityZone": "a",
            "SpotPrice": "inf",
            "Timestamp": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        }
    ]
    assert aws_responses.latest_spot_prices(spot) == {}


@FUZZ_CHEAP
@given(st.text(max_size=20) | st.sampled_from(["us-east-1\n", "us-east-\u0661", "eu-west-1"]))
def test_region_names_are_checked_in_full(text: str) -> None:
    """A region names the cache file: a trailing newline or a non-ASCII digit must not pass."""
    found = assert_typed_error(lambda: aws_responses.check_region(text))
    if not isinstance(found, EksGpuError):
        assert found.isascii() and "\n" not in found and "/" not in found


class JunkClient:
    """A boto3 client whose every paginated call answers ``pages`` (whatever they hold)."""

    def __init__(self, pages: list) -> None:
        self.pages = pages

    def get_paginator(self, _operation: str) -> JunkClient:
        return self

    def paginate(self, **_params: object) -> list:
        return self.pages


class JunkSession:
    def __init__(self, pages: list) -> None:
        self.pages = pages

    def client(self, _service: str, region_name: str) -> JunkClient:
        return JunkClient(self.pages)


PAGES = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            key: AWS_ROWS | PRICE_ITEMS | JSON_VALUES
            for key in ("InstanceTypes", "InstanceTypeOfferings", "SpotPriceHistory", "PriceList")
        },
    )
    | JSON_VALUES,
    max_size=3,
)


@settings(FUZZ, max_examples=25)  # each example runs a whole refresh (about 150 price calls)
@given(PAGES)
def test_refresh_over_junk_pages_writes_a_readable_cache(pages: list) -> None:
    """``catalog refresh`` end to end over damaged answers: a cache that loads back, or a
    typed error (conftest points the cache folder at a temporary one)."""
    from eks_gpu.loaders.aws_refresh import refresh_prices
    from eks_gpu.loaders.price_cache import load_price_book

    found = assert_typed_error(lambda: refresh_prices("us-west-2", JunkSession(pages)))
    if not isinstance(found, EksGpuError):
        assert load_price_book("us-west-2").region == "us-west-2"
