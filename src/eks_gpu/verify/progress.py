"""Where a test pod is on its way to a result, and when it is stuck (pure).

A GPU node takes minutes to come up, so ``verify`` shows each pod's phase, the NodeClaim
Karpenter made for the pool (launched, registered, initialized, its instance type) and the
time waited. A pod is *stalled* (then ``verify`` asks the ``doctor`` rules why, instead of
waiting for the timeout) when:

- it is Pending, unbound, and no NodeClaim of the pool appeared since the run started,
  for longer than ``stall_after`` (Karpenter batches pending pods for 1-10 s and creates a
  NodeClaim at once; ``sigs.k8s.io/karpenter`` pkg/controllers/provisioning ``Provisioner``);
- or a container waits for a reason that does not clear by itself (an image that cannot
  be pulled, a config error).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from eks_gpu.diagnose.view import conditions, name_of
from eks_gpu.manifests.cluster_state import parse_time, short_age
from eks_gpu.names import LABEL_INSTANCE_TYPE

Obj = dict[str, Any]
TERMINAL = ("Succeeded", "Failed")
STUCK_WAITING = (
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "CrashLoopBackOff",
)
CLAIM_STAGES = ("Initialized", "Registered", "Launched")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def phase(pod: Mapping[str, Any]) -> str:
    return str(_map(pod.get("status")).get("phase") or "Pending")


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return phase(pod) in TERMINAL


def waiting_reason(pod: Mapping[str, Any]) -> str:
    """The first container's waiting reason (``ContainerCreating``, ``ImagePullBackOff``)."""
    for status in _map(pod.get("status")).get("containerStatuses") or []:
        waiting = _map(_map(_map(status).get("state")).get("waiting"))
        if waiting.get("reason"):
            return str(waiting["reason"])
    return ""


def exit_status(pod: Mapping[str, Any]) -> str:
    """``exit 1 (Error)`` of the first terminated container, or ``""``."""
    for status in _map(pod.get("status")).get("containerStatuses") or []:
        done = _map(_map(_map(status).get("state")).get("terminated"))
        if done:
            return f"exit {done.get('exitCode')} ({done.get('reason') or 'terminated'})"
    return ""


def claim_stage(claim: Mapping[str, Any]) -> str:
    """``initialized``/``registered``/``launched``/``launching``, from its conditions."""
    found = conditions(claim)
    for stage in CLAIM_STAGES:
        if _map(found.get(stage)).get("status") == "True":
            return stage.lower()
    return "launching"


def new_claims(claims: Sequence[Obj], since: datetime.datetime) -> list[Obj]:
    """NodeClaims created at or after ``since`` (a second's slack for clock rounding)."""
    slack = since - datetime.timedelta(seconds=1)
    out = []
    for claim in claims:
        created = parse_time(_map(claim.get("metadata")).get("creationTimestamp"))
        if created is not None and created >= slack:
            out.append(claim)
    return out


def describe_claims(claims: Sequence[Obj]) -> str:
    """``NodeClaim gpu-x7k2p launched (g5.xlarge)`` for each, or ``no NodeClaim yet``."""
    if not claims:
        return "no NodeClaim yet"
    parts = []
    for claim in claims:
        kind = _map(_map(claim.get("metadata")).get("labels")).get(LABEL_INSTANCE_TYPE)
        parts.append(
            f"NodeClaim {name_of(claim)} {claim_stage(claim)}" + (f" ({kind})" if kind else "")
        )
    return ", ".join(parts)


def describe_pod(step: str, pod: Mapping[str, Any]) -> str:
    """``pytorch: Running on ip-10-0-1-2`` / ``pytorch: Pending (ContainerCreating)``."""
    text = f"{step}: {phase(pod)}"
    reason = waiting_reason(pod)
    if reason:
        text += f" ({reason})"
    node = _map(pod.get("spec")).get("nodeName")
    return text + (f" on {node}" if node else "")


def progress_line(pods: Mapping[str, Obj], claims: Sequence[Obj]) -> str:
    """One line for the run: each pod still waited for, the pool's new NodeClaims."""
    parts = [describe_pod(step, pod) for step, pod in pods.items()]
    return "; ".join(parts) + f" | {describe_claims(claims)}"


def stall_reason(
    pod: Mapping[str, Any], claims: Sequence[Obj], elapsed_s: float, stall_after_s: float
) -> str | None:
    """Why the pod is stuck, or None while it may still make progress."""
    reason = waiting_reason(pod)
    if reason in STUCK_WAITING:
        return f"container waiting: {reason}"
    bound = bool(_map(pod.get("spec")).get("nodeName"))
    if phase(pod) == "Pending" and not bound and not claims and elapsed_s >= stall_after_s:
        return f"Pending for {short_age(elapsed_s)} and Karpenter made no NodeClaim for it"
    return None


__all__ = [
    "describe_claims",
    "describe_pod",
    "exit_status",
    "is_terminal",
    "new_claims",
    "phase",
    "progress_line",
    "stall_reason",
]
