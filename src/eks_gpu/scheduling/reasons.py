"""Why a pod cannot get a node: the stable reason codes, in one place.

Every "no" the placement model gives carries a code from :data:`ReasonCode`, so callers
(the simulator's JSON, the validate rules, the doctor) branch on a code, never on the
wording of a message. The codes are part of the ``simulate -o json`` contract.

Two levels of answer exist, after Karpenter (STYLE.md lesson 4):

* :class:`Incompatibility`: why two requirement sets cannot hold together
  (``Requirements.check_compatible`` / ``check_intersects``), without any NodePool in view;
* :class:`Reason`: why one NodePool (or ``-`` for none at all) cannot take a pod.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

RequirementCode = Literal["label-undefined", "requirement-conflict"]
"""How two requirement sets disagree: the pod selects a custom label the node side never
defines (``label-undefined``), or a shared key has no value both allow
(``requirement-conflict``)."""

ReasonCode = Literal[
    "taint-not-tolerated",
    "label-undefined",
    "requirement-conflict",
    "affinity-matches-nothing",
    "nodepool-admits-no-type",
    "pod-excludes-nodepool-types",
    "no-instance-type-fits",
    "no-offering",
    "nodepool-limit-exceeded",
    "min-values-unsatisfied",
    "no-nodepool",
]
"""Why a NodePool cannot take a pod, in the order the checks run (see ``placement``).

When no instance type matches, the code says which side matched nothing:
``nodepool-admits-no-type`` (the NodePool's own requirements admit no type, whatever the
pod) or ``pod-excludes-nodepool-types`` (the pod's requirements exclude every type this
NodePool admits; the message adds when one matches no instance type at all).
``no-instance-type-fits`` is about resources: matching types exist, none has room for the
requests. ``no-offering``: matching types exist, none is offered in the zones and capacity
types allowed."""

REASON_CODES: tuple[ReasonCode, ...] = get_args(ReasonCode)
"""Every :data:`ReasonCode`, for tests and documentation."""


@dataclass(frozen=True)
class Incompatibility:
    """One key on which a pod-side requirement set cannot run on a node-side one.

    ``message`` is Karpenter's wording (``label "k" does not have known values`` or
    ``key k, <incoming> not in <existing>``); ``detail`` says the same with the pod's and
    the pool's side named, for people.
    """

    code: RequirementCode
    key: str
    message: str
    detail: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Reason:
    """Why one NodePool (or ``-`` when there is none) could not take a pod."""

    nodepool: str
    code: ReasonCode
    message: str


__all__ = ["REASON_CODES", "Incompatibility", "Reason", "ReasonCode", "RequirementCode"]
