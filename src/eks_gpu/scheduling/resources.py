"""Resource quantities as exact decimals, resource fit, and a pod's effective requests.

Quantities follow the Kubernetes grammar (``100m``, ``1.5Gi``, ``2``, ``1e3``, ``1k``) and
parse into :class:`~decimal.Decimal`, never floats, so ``3 x 100m`` is exactly ``300m`` and
a fit decision never flips on a rounding error. Resource lists are plain
``dict[str, Decimal]``; a resource absent from a list is 0, so a node that does not list
``nvidia.com/gpu`` has none to give.

A pod's effective requests are what kube-scheduler (and Karpenter) reserve for it: the larger
of its steady state (app containers plus sidecars) and its busiest init step, plus pod
overhead, plus one ``pods`` slot (:func:`pod_requests`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, DecimalException, Inexact, localcontext
from typing import Any

from eks_gpu.errors import EXIT_USAGE, EksGpuError

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"

Resources = Mapping[str, Decimal]
"""A resource list: resource name → amount (``cpu`` in cores, ``memory`` in bytes)."""


class QuantityError(EksGpuError, ValueError):
    """A value that is not a Kubernetes quantity, or not one that fits a resource list.

    A typed error (exit 2, as bad input is) that is also the ``ValueError`` these functions
    always raised, so callers that add the object and field to the message keep working.
    """

    exit_code = EXIT_USAGE


_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<exponent>[eE][+-]?[0-9]+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?"
)
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# Enough digits for any quantity a person writes; Inexact is trapped, so an operation that
# would round raises instead of silently losing a digit.
_PRECISION = 80
_BYTE_UNITS: tuple[tuple[str, int], ...] = (
    *((suffix, 1024**power) for suffix, power in _BINARY_SUFFIXES.items()),
    *((suffix, 10**power) for suffix, power in _DECIMAL_SUFFIXES.items() if power > 0),
)


def _exact(operation: str, compute: Callable[..., Decimal], *args: Any) -> Decimal:
    """``compute(*args)`` with enough precision that the result is exact, or ValueError."""
    with localcontext() as context:
        context.prec = _PRECISION
        context.traps[Inexact] = True
        try:
            result = compute(*args)
        except DecimalException:
            raise QuantityError(f"{operation} is out of range for an exact quantity") from None
    return result


def _canonical(value: Decimal) -> Decimal:
    """``value`` with no trailing zeros and no positive exponent: ``1E+3`` → ``1000``."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1)) if value else Decimal(0)
    return value.normalize()


def _scaled(number: Decimal, power10: int, power1024: int) -> Decimal:
    return _canonical(number.scaleb(power10) * (1 << (10 * power1024)))


def parse_quantity(text: str | int | float) -> Decimal:
    """The exact value of a Kubernetes quantity: ``"100m"`` → 0.1, ``"1Gi"`` → 1073741824.

    Accepts every suffix Kubernetes does (``n u m k M G T P E``, ``Ki Mi Gi Ti Pi Ei``), a
    decimal exponent (``1e3``, ``5E-1``; ``1E`` alone is exa), and YAML numbers (``2``,
    ``0.5``). The result is canonical: ``Decimal("1000")`` for ``1k``, never ``1E+3``.

    Raises:
        QuantityError: naming ``text`` when it is not a quantity (a ``ValueError``).
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise QuantityError(f"{text!r} is not a Kubernetes quantity ({_EXPECTED})")
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise QuantityError(f"{text!r} is not a Kubernetes quantity (not a finite number)")
        return _exact(repr(text), _canonical, Decimal(repr(text)))
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError(f"{_shown(text)} is not a Kubernetes quantity ({_EXPECTED})")
    number = Decimal(match["number"])
    suffix, exponent = match["suffix"], match["exponent"]
    if exponent and len(exponent.lstrip("eE+-")) > _MAX_EXPONENT_DIGITS:
        raise QuantityError(f"{_shown(text)} is out of range for an exact quantity")
    power10 = int(exponent[1:]) if exponent else _DECIMAL_SUFFIXES.get(suffix or "", 0)
    power1024 = _BINARY_SUFFIXES.get(suffix or "", 0)
    return _exact(_shown(text), _scaled, number, power10, power1024)


_EXPECTED = "expected e.g. 100m, 1.5Gi, 2"
_MAX_EXPONENT_DIGITS = 9
"""More exponent digits than any decimal context accepts (and than ``int()`` may read)."""


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short when it is long (a fuzzed 5,000 digits)."""
    return repr(text) if len(text) <= 64 else repr(text[:60]) + "..."


def _plain(value: Decimal) -> str:
    """``value`` as a plain decimal numeral: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("0", "-0") else text


def _is_bytes(resource: str) -> bool:
    return resource in (MEMORY, "ephemeral-storage") or resource.startswith("hugepages-")


def _format_bytes(value: Decimal) -> str:
    """The shortest exact form; ties prefer no decimal point, then binary, then bigger units."""
    texts = [(_plain(value), len(_BYTE_UNITS))]
    for rank, (suffix, unit) in enumerate(_BYTE_UNITS):
        try:
            amount = _exact("division", Decimal.__truediv__, value, Decimal(unit))
        except ValueError:  # not exact in this unit at any sane precision
            continue
        if amount >= 1:
            texts.append((_plain(amount) + suffix, rank))
    return min(texts, key=lambda item: (len(item[0]), "." in item[0], item[1]))[0]


def format_quantity(value: Decimal, resource: str) -> str:
    """A compact, exact, human form of ``value`` for ``resource``.

    ``cpu`` in whole cores or millicores (``"4"``, ``"3920m"``); byte resources (``memory``,
    ``ephemeral-storage``, ``hugepages-*``) in the shortest exact unit (``"14162Mi"``,
    ``"1.5Gi"``); everything else as a plain number (``"1"``).
    """
    with localcontext() as context:
        context.prec = _PRECISION  # the default 28 digits would round a long quantity
        return _format_quantity(value, resource)


def _format_quantity(value: Decimal, resource: str) -> str:
    if value < 0:
        return "-" + _format_quantity(-value, resource)
    if resource == CPU and value != value.to_integral_value():
        milli = value.scaleb(3)
        if milli == milli.to_integral_value():
            return f"{_plain(milli)}m"
    if _is_bytes(resource) and value >= 1:
        return _format_bytes(value)
    return _plain(value)


def parse_resources(mapping: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """A resource list (``{"cpu": "500m", "nvidia.com/gpu": 1}``) as exact decimals.

    Raises:
        ValueError: naming the resource and its text, for a bad or negative quantity.
    """
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise QuantityError(f"expected a map of resource names to quantities, got {mapping!r}")
    out: dict[str, Decimal] = {}
    for name, text in mapping.items():
        try:
            amount = parse_quantity(text)
        except ValueError as error:
            raise QuantityError(f"{name}: {error}") from None
        if amount < 0:
            raise QuantityError(f"{name}: {text!r} is negative; requests cannot be")
        out[str(name)] = amount
    return out


def add(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """``a + b`` per resource (missing = 0)."""
    out = dict(a)
    for name, amount in b.items():
        out[name] = out.get(name, Decimal(0)) + amount
    return out


def subtract(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """``a - b`` per resource (missing = 0); results may be negative."""
    out = dict(a)
    for name, amount in b.items():
        out[name] = out.get(name, Decimal(0)) - amount
    return out


def maximum(a: Mapping[str, Decimal], b: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The larger of ``a`` and ``b`` per resource (missing = 0)."""
    out = dict(a)
    for name, amount in b.items():
        out[name] = max(out.get(name, Decimal(0)), amount)
    return out


def total(lists: Sequence[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    """The sum of several resource lists."""
    out: dict[str, Decimal] = {}
    for resources in lists:
        out = add(out, resources)
    return out


def shortfalls(requests: Mapping[str, Decimal], allocatable: Mapping[str, Decimal]) -> list[str]:
    """Names of the resources ``requests`` need more of than ``allocatable`` has, sorted.

    Empty when it fits. A resource missing from ``allocatable`` counts as 0, so a pod that
    asks for ``nvidia.com/gpu`` never fits a node that does not list it.
    """
    zero = Decimal(0)
    return sorted(name for name, amount in requests.items() if amount > allocatable.get(name, zero))


def fits(requests: Mapping[str, Decimal], allocatable: Mapping[str, Decimal]) -> bool:
    """True when ``allocatable`` has enough of every resource ``requests`` asks for
    (``not shortfalls(...)``, without building the list; for the solver's hot loops)."""
    zero = Decimal(0)
    for name, amount in requests.items():  # noqa: SIM110 - a plain loop beats all() here
        if amount > allocatable.get(name, zero):
            return False
    return True


def check_fits(requests: Mapping[str, Decimal], allocatable: Mapping[str, Decimal]) -> list[str]:
    """Why ``requests`` do not fit, one line per short resource, e.g.
    ``nvidia.com/gpu: needs 16, 8 allocatable``; empty when they fit."""
    zero = Decimal(0)
    return [
        f"{name}: needs {format_quantity(requests[name], name)}, "
        f"{format_quantity(allocatable.get(name, zero), name)} allocatable"
        for name in shortfalls(requests, allocatable)
    ]


def _section(resources: Any, section: str, where: str) -> dict[str, Decimal]:
    raw = resources.get(section) if isinstance(resources, Mapping) else None
    try:
        return parse_resources(raw)
    except ValueError as error:
        raise QuantityError(f"{where}.{section}.{error}") from None


def resource_requests(resources: Any, where: str) -> dict[str, Decimal]:
    """A ``resources`` block's requests, each missing request defaulted to its limit (as the
    API server does; extended resources such as ``nvidia.com/gpu`` are usually limits only).

    ``where`` prefixes error messages (``containers[0].resources``).
    """
    requests = _section(resources, "requests", where)
    for name, amount in _section(resources, "limits", where).items():
        requests.setdefault(name, amount)
    return requests


def _containers(pod_spec: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    raw = pod_spec.get(field)
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(c, Mapping) for c in raw):
        raise QuantityError(f"{field}: expected a list of containers")
    return raw


def _is_sidecar(container: Mapping[str, Any]) -> bool:
    """A restartable init container (``restartPolicy: Always``), which runs beside the app."""
    return container.get("restartPolicy") == "Always"


def _pod_level(resources: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The pod-level requests that replace the containers' sum (cpu, memory, hugepages)."""
    return {
        name: amount
        for name, amount in resources.items()
        if name in (CPU, MEMORY) or name.startswith("hugepages-")
    }


def pod_requests(pod_spec: Mapping[str, Any]) -> dict[str, Decimal]:
    """The requests kube-scheduler reserves for a pod with this spec.

    ``max(app containers + sidecars, max over init containers of (that container + the
    sidecars started before it))``; pod-level ``spec.resources`` replaces that for cpu and
    memory when set; plus ``spec.overhead``; plus ``pods: 1``. A container with only a limit
    for a resource requests the limit.

    Raises:
        ValueError: naming the container and resource with a bad quantity.
    """
    steady: dict[str, Decimal] = {}
    for index, container in enumerate(_containers(pod_spec, "containers")):
        steady = add(
            steady, resource_requests(container.get("resources"), f"containers[{index}].resources")
        )
    sidecars: dict[str, Decimal] = {}
    init_peak: dict[str, Decimal] = {}
    for index, container in enumerate(_containers(pod_spec, "initContainers")):
        own = resource_requests(container.get("resources"), f"initContainers[{index}].resources")
        if _is_sidecar(container):
            steady = add(steady, own)
            sidecars = add(sidecars, own)
            init_peak = maximum(init_peak, sidecars)
        else:
            init_peak = maximum(init_peak, add(own, sidecars))
    effective = maximum(steady, init_peak)
    effective.update(_pod_level(resource_requests(pod_spec.get("resources"), "resources")))
    try:
        overhead = parse_resources(pod_spec.get("overhead"))
    except ValueError as error:
        raise QuantityError(f"overhead.{error}") from None
    effective = add(effective, overhead)
    effective[PODS] = Decimal(1)
    return effective


__all__ = [
    "CPU",
    "MEMORY",
    "PODS",
    "QuantityError",
    "Resources",
    "add",
    "check_fits",
    "fits",
    "format_quantity",
    "maximum",
    "parse_quantity",
    "parse_resources",
    "pod_requests",
    "resource_requests",
    "shortfalls",
    "subtract",
    "total",
]
