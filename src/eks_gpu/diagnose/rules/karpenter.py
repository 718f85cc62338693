"""Karpenter could not launch: a NodeClaim's launch failed, or its EC2NodeClass is not ready.

Karpenter v1.14.1 ``pkg/controllers/nodeclaim/lifecycle/launch.go``: an insufficient-capacity
or NodeClass-not-ready error deletes the NodeClaim and leaves only a Warning event
(``InsufficientCapacityError`` / ``NodeClassNotReady``, ``events.go``); any other error sets
``Launched=Unknown`` with the error's reason (``LaunchFailed``, or the provider's
``CreateError`` reason). Fresh NodeClaims sit at ``Unknown``/``AwaitingReconciliation``
(operatorpkg ``ConditionSet.SetUnknown``), which is not a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eks_gpu.diagnose.context import Context
from eks_gpu.diagnose.finding import Diagnosis
from eks_gpu.diagnose.view import ClusterView, conditions, name_of, ref

PENDING_REASONS = ("", "AwaitingReconciliation")
LAUNCH_EVENTS = ("InsufficientCapacityError", "NodeClassNotReady")
QUOTA_MARKS = ("VcpuLimitExceeded", "MaxSpotInstanceCountExceeded", "vCPU")
NODECLASS_FIXES = {
    "AMIsReady": "fix amiSelectorTerms: an alias must exist for the cluster's Kubernetes minor "
    "(al2023@latest, or a pinned al2023@vYYYYMMDD that AWS published); `aws ssm "
    "get-parameters-by-path --path "
    "/aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/x86_64/nvidia` lists them",
    "SubnetsReady": "tag the cluster's private subnets with the subnetSelectorTerms tag "
    "(karpenter.sh/discovery: <cluster>), or fix the selector",
    "SecurityGroupsReady": "tag the node security group with the securityGroupSelectorTerms tag "
    "(karpenter.sh/discovery: <cluster>), or fix the selector",
    "InstanceProfileReady": "check spec.role (the node IAM role) exists and Karpenter's "
    "controller role may iam:PassRole and create instance profiles",
    "ValidationSucceeded": "Karpenter's dry-run CreateFleet/RunInstances was refused: read the "
    "message; usually the controller role's IAM policy or an SCP",
}


def _fix_for(message: str) -> str:
    if any(mark in message for mark in QUOTA_MARKS):
        return (
            "raise the EC2 vCPU quota for the family (Service Quotas: 'Running On-Demand G and "
            "VT instances' or 'P instances', and the Spot equivalents), or allow other types"
        )
    if "InsufficientInstanceCapacity" in message or "insufficient capacity" in message.lower():
        return (
            "allow more instance types, zones or capacity types in the NodePool (spot and "
            "on-demand), so Karpenter can fall back; ICE offerings are retried after 3 minutes"
        )
    if "AMI" in message or "ami" in message:
        return "fix the EC2NodeClass amiSelectorTerms (see nodeclass-not-ready)"
    return "read the message; `kubectl describe nodeclaim` and the Karpenter controller log"


def launch_failed(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``nodeclaim-launch-failed``: ``Launched`` not True with a failure reason, or Warning
    events Karpenter left for NodeClaims it deleted after a launch error."""
    out = []
    for claim in view.state.of("NodeClaim"):
        launched = conditions(claim).get("Launched")
        if launched is None or launched.get("status") == "True":
            continue
        reason = str(launched.get("reason") or "")
        if reason in PENDING_REASONS:
            continue
        message = str(launched.get("message") or "")
        out.append(
            Diagnosis(
                "nodeclaim-launch-failed",
                "error",
                ref(claim),
                f"NodeClaim {name_of(claim)} could not launch an instance ({reason})",
                (f"Launched={launched.get('status')} {reason}: {message}", *_offering(claim)),
                _fix_for(message),
            )
        )
    out.extend(_launch_events(view))
    return out


def _offering(claim: Mapping[str, Any]) -> tuple[str, ...]:
    spec = claim.get("spec") if isinstance(claim.get("spec"), Mapping) else {}
    parts = []
    for requirement in (spec or {}).get("requirements") or []:
        if isinstance(requirement, Mapping) and requirement.get("operator") == "In":
            key = str(requirement.get("key") or "")
            if key.endswith(("instance-type", "capacity-type", "zone")):
                values = [str(v) for v in requirement.get("values") or []]
                shown = ", ".join(values[:6]) + (" ..." if len(values) > 6 else "")
                parts.append(f"{key} In [{shown}]")
    return ("offering asked for: " + "; ".join(parts),) if parts else ()


def _launch_events(view: ClusterView) -> list[Diagnosis]:
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for event in view.state.of("Event"):
        involved = (
            event.get("involvedObject") if isinstance(event.get("involvedObject"), Mapping) else {}
        )
        if (involved or {}).get("kind") != "NodeClaim" or event.get("reason") not in LAUNCH_EVENTS:
            continue
        grouped.setdefault((str(event["reason"]), str((involved or {}).get("name"))), []).append(
            event
        )
    out = []
    for (reason, claim), events in sorted(grouped.items()):
        count = sum(int(e.get("count") or 1) for e in events)
        message = str(events[-1].get("message") or "")
        out.append(
            Diagnosis(
                "nodeclaim-launch-failed",
                "error" if reason == "NodeClassNotReady" or count > 1 else "warning",
                f"NodeClaim/{claim}",
                f"Karpenter could not launch NodeClaim {claim} ({reason}, {count}x) and deleted it",
                (f"event {reason}: {message}",),
                _fix_for(message),
            )
        )
    return out


def nodeclass_not_ready(view: ClusterView, ctx: Context) -> list[Diagnosis]:
    """``nodeclass-not-ready``: an EC2NodeClass condition is False (AMIs, subnets, security
    groups, instance profile, validation); ``Ready`` alone is reported only when no more
    specific condition explains it."""
    out = []
    for nodeclass in view.state.of("EC2NodeClass"):
        found = conditions(nodeclass)
        failed = [c for t, c in found.items() if t != "Ready" and c.get("status") == "False"]
        if not failed and (found.get("Ready") or {}).get("status") == "False":
            failed = [found["Ready"]]
        for condition in failed:
            kind = str(condition.get("type"))
            message = str(condition.get("message") or "")
            out.append(
                Diagnosis(
                    "nodeclass-not-ready",
                    "error",
                    ref(nodeclass),
                    f"EC2NodeClass {name_of(nodeclass)} is not ready ({kind}=False): Karpenter "
                    "launches nothing with it",
                    (f"{kind}=False {condition.get('reason', '')}: {message}",),
                    NODECLASS_FIXES.get(
                        kind, "read the condition message and fix the field it names"
                    ),
                )
            )
    return out


__all__ = ["LAUNCH_EVENTS", "launch_failed", "nodeclass_not_ready"]
