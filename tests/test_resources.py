"""Quantities as exact decimals, resource fit, and a pod's effective requests (init
containers, sidecars, limits-only GPUs, overhead, pod-level resources)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eks_gpu.scheduling.resources import (
    add,
    check_fits,
    fits,
    format_quantity,
    maximum,
    parse_quantity,
    parse_resources,
    pod_requests,
    shortfalls,
    subtract,
    total,
)

D = Decimal
Ki, Mi, Gi = 1024, 1024**2, 1024**3


def container(
    name: str = "app",
    *,
    cpu: str | None = None,
    memory: str | None = None,
    gpus: int | None = None,
    limits: dict[str, Any] | None = None,
    sidecar: bool = False,
) -> dict[str, Any]:
    """A container requesting ``cpu``/``memory``; GPUs go in limits, as users write them."""
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    all_limits = dict(limits or {})
    if gpus is not None:
        all_limits["nvidia.com/gpu"] = gpus
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = requests
    if all_limits:
        resources["limits"] = all_limits
    out: dict[str, Any] = {"name": name, "image": "busybox", "resources": resources}
    if sidecar:
        out["restartPolicy"] = "Always"
    return out


def pod_spec(
    *containers: dict[str, Any],
    init: list[dict[str, Any]] | None = None,
    overhead: dict[str, Any] | None = None,
    resources: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers) or [container(cpu="1")]}
    if init is not None:
        spec["initContainers"] = init
    if overhead is not None:
        spec["overhead"] = overhead
    if resources is not None:
        spec["resources"] = resources
    return spec


# --- parse_quantity -------------------------------------------------------------------

QUANTITIES = [
    # (text, exact value)
    ("2", D(2)),
    ("0", D(0)),
    ("100m", D("0.1")),
    ("1500m", D("1.5")),
    ("0.5", D("0.5")),
    (".5", D("0.5")),
    ("5.", D(5)),
    ("1.25", D("1.25")),
    ("+3", D(3)),
    ("-1", D(-1)),
    ("1n", D("0.000000001")),
    ("1u", D("0.000001")),
    ("250m", D("0.25")),
    ("1k", D(1000)),
    ("1M", D(10**6)),
    ("1G", D(10**9)),
    ("1T", D(10**12)),
    ("1P", D(10**15)),
    ("1E", D(10**18)),  # a lone E is exa, not an exponent
    ("1Ki", D(Ki)),
    ("500Mi", D(500 * Mi)),
    ("1.5Gi", D(3 * Gi // 2)),
    ("2Ti", D(2 * 1024**4)),
    ("1Pi", D(1024**5)),
    ("1Ei", D(1024**6)),
    ("0.5Ki", D(512)),
    ("1e3", D(1000)),
    ("1E3", D(1000)),
    ("1e+3", D(1000)),
    ("5e-1", D("0.5")),
    ("1.5e2", D(150)),
    ("12345678901234567890123", D(12345678901234567890123)),  # exact past float precision
    (2, D(2)),
    (0, D(0)),
    (0.5, D("0.5")),
    (0.1, D("0.1")),  # the float's shortest repr, not its binary expansion
    (1e3, D(1000)),
]


@pytest.mark.parametrize(("text", "value"), QUANTITIES)
def test_parse_quantity(text: str | int | float, value: Decimal) -> None:
    parsed = parse_quantity(text)
    assert parsed == value
    assert isinstance(parsed, Decimal)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("1k", "1000"),
        ("1e3", "1000"),
        ("2Gi", "2147483648"),
        ("0.000", "0"),
        ("-0", "0"),
        ("1.50", "1.5"),
        ("100m", "0.1"),
    ],
)
def test_parse_quantity_is_canonical(text: str, shown: str) -> None:
    """No exponent notation or trailing zeros leak into str() (and so into JSON)."""
    assert str(parse_quantity(text)) == shown


BAD_QUANTITIES = [
    "",
    "abc",
    "Gi",
    "m",
    "1 Gi",
    " 1",
    "1gi",
    "1KI",
    "1ki",
    "1K",
    "1mi",
    "1e",
    "1e1.5",
    "1.2.3",
    "1,5",
    "0x10",
    "Infinity",
    "NaN",
    "1Gi2",
    "--1",
    "1e99999999",  # out of range, not silently rounded
]


@pytest.mark.parametrize("text", BAD_QUANTITIES)
def test_parse_quantity_rejects_bad_text_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="quantity") as error:
        parse_quantity(text)
    assert repr(text) in str(error.value)


@pytest.mark.parametrize("value", [True, None, float("inf"), float("nan"), [1], {"a": 1}])
def test_parse_quantity_rejects_non_quantities(value: Any) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(value)


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["", "m", "k", "Ki", "Mi"]))
def test_parse_quantity_suffix_is_exact_multiplication(number: int, suffix: str) -> None:
    scale = {"": D(1), "m": D("0.001"), "k": D(1000), "Ki": D(Ki), "Mi": D(Mi)}[suffix]
    assert parse_quantity(f"{number}{suffix}") == number * scale


def test_quantities_add_up_exactly() -> None:
    """Three 100m pods are exactly 300m: floats would make it 0.30000000000000004."""
    three = total([{"cpu": parse_quantity("100m")}] * 3)
    assert three == {"cpu": D("0.3")}
    assert fits(three, {"cpu": parse_quantity("300m")})


# --- format_quantity ------------------------------------------------------------------

FORMATS = [
    # (value, resource, text)
    (D(4), "cpu", "4"),
    (D("3.92"), "cpu", "3920m"),
    (D("0.1"), "cpu", "100m"),
    (D("1.5"), "cpu", "1500m"),
    (D("0.0005"), "cpu", "0.0005"),  # below a millicore: plain, still exact
    (D(0), "cpu", "0"),
    (D(14162 * Mi), "memory", "14162Mi"),
    (D(3 * Gi // 2), "memory", "1.5Gi"),
    (D(512 * Mi), "memory", "512Mi"),  # not 0.5Gi: a unit is used from 1 up
    (D(1280 * Mi), "memory", "1280Mi"),  # a tie in length prefers no decimal point
    (D(16 * Gi), "memory", "16Gi"),
    (D(Ki), "memory", "1Ki"),
    (D(1000), "memory", "1k"),
    (D(1_500_000_000), "memory", "1.5G"),
    (D(123), "memory", "123"),
    (D("0.5"), "memory", "0.5"),
    (D(-2 * Gi), "memory", "-2Gi"),
    (D(100 * Gi), "ephemeral-storage", "100Gi"),
    (D(2 * Mi), "hugepages-2Mi", "2Mi"),
    (D(8), "nvidia.com/gpu", "8"),
    (D(110), "pods", "110"),
    (D("1.50"), "example.com/thing", "1.5"),
]


@pytest.mark.parametrize(("value", "resource", "text"), FORMATS)
def test_format_quantity(value: Decimal, resource: str, text: str) -> None:
    assert format_quantity(value, resource) == text


@pytest.mark.parametrize(("value", "resource", "text"), FORMATS)
def test_format_quantity_round_trips(value: Decimal, resource: str, text: str) -> None:
    assert parse_quantity(text) == value


@given(st.integers(min_value=0, max_value=2**50), st.sampled_from(["cpu", "memory", "pods"]))
def test_format_then_parse_is_identity(number: int, resource: str) -> None:
    value = D(number) / 1000 if resource == "cpu" else D(number)
    assert parse_quantity(format_quantity(value, resource)) == value


# --- resource lists -------------------------------------------------------------------


def test_parse_resources() -> None:
    assert parse_resources(None) == {}
    assert parse_resources({"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": 1}) == {
        "cpu": D("0.5"),
        "memory": D(Gi),
        "nvidia.com/gpu": D(1),
    }


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"cpu": "lots"}, "cpu: 'lots' is not a Kubernetes quantity"),
        ({"memory": "-1Gi"}, "memory: '-1Gi' is negative"),
        (["cpu"], "expected a map of resource names"),
    ],
)
def test_parse_resources_names_the_resource(mapping: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_resources(mapping)


def test_arithmetic_treats_missing_as_zero() -> None:
    a = {"cpu": D(2), "memory": D(4)}
    b = {"cpu": D(1), "nvidia.com/gpu": D(1)}
    assert add(a, b) == {"cpu": D(3), "memory": D(4), "nvidia.com/gpu": D(1)}
    assert subtract(a, b) == {"cpu": D(1), "memory": D(4), "nvidia.com/gpu": D(-1)}
    assert maximum(a, b) == {"cpu": D(2), "memory": D(4), "nvidia.com/gpu": D(1)}
    assert total([]) == {}
    assert a == {"cpu": D(2), "memory": D(4)}, "inputs are not mutated"


FITS = [
    # (requests, allocatable, short)
    ({"cpu": D(1)}, {"cpu": D(2)}, []),
    ({"cpu": D(2)}, {"cpu": D(2)}, []),  # equal fits
    ({"cpu": D(3)}, {"cpu": D(2)}, ["cpu"]),
    ({"nvidia.com/gpu": D(1)}, {"cpu": D(8)}, ["nvidia.com/gpu"]),  # missing counts as 0
    ({"nvidia.com/gpu": D(0)}, {"cpu": D(8)}, []),  # asking for none needs none
    (
        {"cpu": D(9), "memory": D(1), "pods": D(1)},
        {"cpu": D(8), "pods": D(0)},
        ["cpu", "memory", "pods"],
    ),
    ({}, {}, []),
]


@pytest.mark.parametrize(("requests", "allocatable", "short"), FITS)
def test_fits(
    requests: dict[str, Decimal], allocatable: dict[str, Decimal], short: list[str]
) -> None:
    assert shortfalls(requests, allocatable) == short
    assert fits(requests, allocatable) is (not short)


def test_check_fits_says_how_much() -> None:
    reasons = check_fits(
        {"nvidia.com/gpu": D(16), "memory": D(2 * Gi), "cpu": D("0.5")},
        {"nvidia.com/gpu": D(8), "memory": D(Gi), "cpu": D(4)},
    )
    assert reasons == [
        "memory: needs 2Gi, 1Gi allocatable",
        "nvidia.com/gpu: needs 16, 8 allocatable",
    ]
    assert check_fits({"cpu": D(1)}, {"cpu": D(1)}) == []


# --- pod_requests ---------------------------------------------------------------------

POD_REQUESTS = [
    # (id, spec, expected requests without "pods")
    (
        "one container",
        pod_spec(container(cpu="500m", memory="1Gi")),
        {"cpu": "500m", "memory": "1Gi"},
    ),
    (
        "containers add up",
        pod_spec(container("a", cpu="500m", memory="1Gi"), container("b", cpu="250m")),
        {"cpu": "750m", "memory": "1Gi"},
    ),
    ("limits-only GPU", pod_spec(container(cpu="1", gpus=1)), {"cpu": "1", "nvidia.com/gpu": "1"}),
    (
        "limit stands in for a missing request only",
        pod_spec(container(cpu="1", limits={"cpu": "2", "memory": "4Gi"})),
        {"cpu": "1", "memory": "4Gi"},
    ),
    ("no resources at all", pod_spec(container()), {}),
    (
        "init container bigger than the app",
        pod_spec(
            container(cpu="1", memory="1Gi"), init=[container("init", cpu="4", memory="512Mi")]
        ),
        {"cpu": "4", "memory": "1Gi"},
    ),
    (
        "init containers run one at a time: max, not sum",
        pod_spec(
            container(cpu="1"),
            init=[container("i1", cpu="3"), container("i2", cpu="2")],
        ),
        {"cpu": "3"},
    ),
    (
        "sidecar adds to the app",
        pod_spec(
            container(cpu="1", memory="1Gi"),
            init=[container("proxy", cpu="250m", memory="64Mi", sidecar=True)],
        ),
        {"cpu": "1250m", "memory": "1088Mi"},
    ),
    (
        "init after a sidecar runs beside it",
        pod_spec(
            container(cpu="1"),
            init=[container("proxy", cpu="500m", sidecar=True), container("migrate", cpu="2")],
        ),
        {"cpu": "2500m"},
    ),
    (
        "init before a sidecar does not",
        pod_spec(
            container(cpu="1"),
            init=[container("migrate", cpu="2"), container("proxy", cpu="500m", sidecar=True)],
        ),
        {"cpu": "2"},
    ),
    (
        "sidecars alone outgrow a small init step",
        pod_spec(
            container(cpu="100m"),
            init=[
                container("s1", cpu="1", sidecar=True),
                container("i", cpu="200m"),
                container("s2", cpu="1", sidecar=True),
            ],
        ),
        {"cpu": "2100m"},
    ),
    (
        "GPU init container",
        pod_spec(container(cpu="1"), init=[container("warm", gpus=2)]),
        {"cpu": "1", "nvidia.com/gpu": "2"},
    ),
    (
        "overhead is added on top",
        pod_spec(container(cpu="1", memory="1Gi"), overhead={"cpu": "250m", "memory": "120Mi"}),
        {"cpu": "1250m", "memory": "1144Mi"},
    ),
    (
        "overhead is added after the init maximum",
        pod_spec(container(cpu="1"), init=[container("i", cpu="3")], overhead={"cpu": "100m"}),
        {"cpu": "3100m"},
    ),
    (
        "pod-level resources replace the containers' cpu and memory",
        pod_spec(
            container(cpu="1", memory="1Gi", gpus=1),
            resources={"requests": {"cpu": "2"}, "limits": {"memory": "3Gi"}},
        ),
        {"cpu": "2", "memory": "3Gi", "nvidia.com/gpu": "1"},
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [case[1:] for case in POD_REQUESTS],
    ids=[case[0] for case in POD_REQUESTS],
)
def test_pod_requests(spec: dict[str, Any], expected: dict[str, str]) -> None:
    wanted = {name: parse_quantity(text) for name, text in expected.items()}
    assert pod_requests(spec) == {**wanted, "pods": D(1)}


def test_pod_requests_of_an_empty_spec_is_one_pod_slot() -> None:
    assert pod_requests({}) == {"pods": D(1)}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (pod_spec(container(cpu="fast")), r"containers\[0\]\.resources\.requests\.cpu: 'fast'"),
        (
            pod_spec(container(), init=[container(limits={"nvidia.com/gpu": "one"})]),
            r"initContainers\[0\]\.resources\.limits\.nvidia\.com/gpu: 'one'",
        ),
        (pod_spec(container(), overhead={"memory": "x"}), r"overhead\.memory: 'x'"),
        (
            pod_spec(container(), resources={"requests": {"cpu": "-1"}}),
            r"resources\.requests\.cpu: '-1' is negative",
        ),
        ({"containers": "app"}, "containers: expected a list of containers"),
    ],
)
def test_pod_requests_errors_name_the_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pod_requests(spec)
