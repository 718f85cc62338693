"""Taints and tolerations, as the Kubernetes scheduler and Karpenter match them (pure).

Taints and tolerations are plain dicts as the API returns them (``{key, value, effect}``
and ``{key, operator, value, effect, tolerationSeconds}``); a missing field reads as ``""``.

For provisioning, Karpenter requires a pod to tolerate **every** NodePool taint, whatever
its effect (``PreferNoSchedule`` included; relaxation may later add
:data:`PREFER_NO_SCHEDULE_TOLERATION`). On nodes still initializing, the ephemeral start-up
taints (:func:`is_ephemeral`) are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from eks_gpu.names import (
    TAINT_NOT_READY,
    TAINT_PREFIX_READINESS,
    TAINT_UNINITIALIZED,
    TAINT_UNREACHABLE,
    TAINT_UNREGISTERED,
)
from eks_gpu.scheduling.requirement import parse_int

Taint = Mapping[str, Any]
Toleration = Mapping[str, Any]

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
EPHEMERAL_TAINT_KEYS: frozenset[str] = frozenset(
    {
        TAINT_NOT_READY,
        TAINT_UNREACHABLE,
        TAINT_UNINITIALIZED,
        TAINT_UNREGISTERED,
    }
)
"""Taints a node carries only while it starts (matched by key, whatever the effect)."""
PREFER_NO_SCHEDULE_TOLERATION: Toleration = MappingProxyType(
    {"operator": "Exists", "effect": "PreferNoSchedule"}
)
"""What Karpenter's last relaxation step adds: tolerate every ``PreferNoSchedule`` taint."""


def _field(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    return "" if value is None else str(value)


def is_ephemeral(taint: Taint) -> bool:
    """True for a start-up taint Karpenter ignores on a node that is still initializing."""
    key = _field(taint, "key")
    return key in EPHEMERAL_TAINT_KEYS or key.startswith(TAINT_PREFIX_READINESS)


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Whether ``toleration`` matches ``taint`` (Kubernetes' ``ToleratesTaint``).

    Effect: empty matches every effect, else equal. Key: empty matches every key (the API
    allows that only with ``Exists``), else equal. Operator: ``Exists`` matches any value;
    ``Equal`` or empty compares values; ``Gt``/``Lt`` (newer Kubernetes, behind the
    ``TaintTolerationComparisonOperators`` gate) hold when the taint's value is an integer
    greater/less than the toleration's. Any other operator matches nothing.
    """
    effect = _field(toleration, "effect")
    if effect and effect != _field(taint, "effect"):
        return False
    key = _field(toleration, "key")
    if key and key != _field(taint, "key"):
        return False
    operator = _field(toleration, "operator")
    if operator == "Exists":
        return True
    if operator in ("", "Equal"):
        return _field(toleration, "value") == _field(taint, "value")
    if operator in ("Gt", "Lt"):
        mine, theirs = parse_int(_field(toleration, "value")), parse_int(_field(taint, "value"))
        if mine is None or theirs is None:
            return False
        return theirs > mine if operator == "Gt" else theirs < mine
    return False


def untolerated(
    taints: Iterable[Taint] | None,
    tolerations: Iterable[Toleration] | None,
    ignore_ephemeral: bool = False,
) -> list[Taint]:
    """Every taint (any effect) that no toleration matches, in the given order.

    ``ignore_ephemeral`` skips start-up taints (:func:`is_ephemeral`), as Karpenter does
    for a node that is still initializing.
    """
    tolerations = tuple(tolerations or ())
    return [
        taint
        for taint in taints or ()
        if not (ignore_ephemeral and is_ephemeral(taint))
        and not any(tolerates(toleration, taint) for toleration in tolerations)
    ]


def check_tolerates(
    taints: Iterable[Taint] | None,
    tolerations: Iterable[Toleration] | None,
    ignore_ephemeral: bool = False,
) -> list[str]:
    """Why the tolerations fall short: one ``taint "k=v:Effect" is not tolerated`` each."""
    missing = untolerated(taints, tolerations, ignore_ephemeral)
    return [f'taint "{taint_str(taint)}" is not tolerated' for taint in missing]


def tolerates_all(
    taints: Iterable[Taint] | None,
    tolerations: Iterable[Toleration] | None,
    ignore_ephemeral: bool = False,
) -> bool:
    """True when every taint is tolerated (``not untolerated(...)``)."""
    return not untolerated(taints, tolerations, ignore_ephemeral)


def taint_str(taint: Taint) -> str:
    """``key=value:Effect``, or ``key:Effect`` without a value (kubectl's spelling)."""
    value, effect = _field(taint, "value"), _field(taint, "effect")
    text = _field(taint, "key") + (f"={value}" if value else "")
    return f"{text}:{effect}" if effect else text


def toleration_str(toleration: Toleration) -> str:
    """E.g. ``nvidia.com/gpu Exists:NoSchedule``, ``key=value:NoSchedule``, ``* Exists``."""
    key, operator = _field(toleration, "key") or "*", _field(toleration, "operator") or "Equal"
    value, effect = _field(toleration, "value"), _field(toleration, "effect")
    text = f"{key}={value}" if operator == "Equal" else f"{key} {operator} {value}".rstrip()
    return f"{text}:{effect}" if effect else text


__all__ = [
    "EFFECTS",
    "EPHEMERAL_TAINT_KEYS",
    "PREFER_NO_SCHEDULE_TOLERATION",
    "Taint",
    "Toleration",
    "check_tolerates",
    "is_ephemeral",
    "taint_str",
    "tolerates",
    "tolerates_all",
    "toleration_str",
    "untolerated",
]
