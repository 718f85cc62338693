"""``gpu-limit-first-pass``: a NodePool's ``nvidia.com/gpu`` limit below twice its largest
candidate type's GPU count, so Karpenter opens fewer NodeClaims at once than the limit allows.

In one provisioning pass Karpenter charges each new NodeClaim the **largest** capacity among
its candidate instance types against the pool's remaining limits, and drops candidates larger
than what remains (sigs.k8s.io/karpenter@v1.14.1
``pkg/controllers/provisioning/scheduling/scheduler.go``: ``subtractMax`` and
``filterByRemainingResources``). With 8-GPU types allowed and a 16-GPU limit, the first pass
opens at most two NodeClaims even for 1-GPU pods; the other pods stay Pending until a later
pass, when the launched NodeClaims' real types are known (aws/karpenter-provider-aws#8068).

Capacities are Karpenter's: a NodeOverlay's ``nvidia.com/gpu`` (time-slicing: GPUs x
replicas) replaces the type's GPU count, so under time-slicing the limit counts shared GPUs.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.resources import parse_quantity
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.overlays import GpuOverlay, gpu_overlays, overlaid_gpus
from eks_gpu.validate.rules.pools import Pool, pools_of
from eks_gpu.validate.rules.rule import Rule

PATH = f".spec.limits[{RESOURCE_NVIDIA_GPU}]"


def first_pass_claims(limit: Decimal, gpu_counts: list[Decimal] | list[int]) -> int:
    """NodeClaims Karpenter's first pass can open under ``limit`` GPUs, one small pod each:
    each is charged the largest candidate that still fits what remains (``subtractMax``)."""
    remaining, claims = limit, 0
    while True:
        fitting = [count for count in gpu_counts if count <= remaining]
        if not fitting:
            return claims
        remaining -= max(fitting)
        claims += 1


def _limit(pool: Pool) -> Decimal | None:
    raw = pool.limits.get(RESOURCE_NVIDIA_GPU)
    try:
        return None if raw is None else parse_quantity(raw)
    except (ValueError, InvalidOperation):
        return None  # the CRD schema reports a malformed quantity


def capacities(pool: Pool, overlays: list[GpuOverlay]) -> dict[str, Decimal]:
    """``nvidia.com/gpu`` per NVIDIA type of the pool as Karpenter plans (overlays applied)."""
    out = {}
    for row in pool.nvidia_types:
        overlaid = overlaid_gpus(pool, row.instance_type, overlays)
        out[row.instance_type] = Decimal(row.nvidia_gpus) if overlaid is None else overlaid
    return {name: gpus for name, gpus in out.items() if gpus > 0}


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    overlays = gpu_overlays(manifests)
    for pool in pools_of(manifests):
        limit = _limit(pool)
        by_type = capacities(pool, overlays) if limit is not None else {}
        counts = sorted(set(by_type.values()))
        if limit is None or not counts or limit >= 2 * counts[-1]:
            continue
        largest = counts[-1]
        big = sorted(name for name, gpus in by_type.items() if gpus == largest)
        message = _message(limit, largest, big, counts)
        yield RULE.finding(pool.obj, PATH, message, _fix(limit, largest))


def _message(limit: Decimal, largest: Decimal, big: list[str], counts: list[Decimal]) -> str:
    text = (
        f"the {RESOURCE_NVIDIA_GPU} limit {limit} is below twice the largest candidate's "
        f"{largest} {RESOURCE_NVIDIA_GPU} ({', '.join(big[:3])}): in each provisioning pass "
        "Karpenter charges every new NodeClaim the largest candidate's capacity "
        f"(subtractMax), so its first pass opens at most {first_pass_claims(limit, counts)} "
        "NodeClaim(s) even for 1-GPU pods; the other pods stay Pending until a later pass, "
        "once the launched types are known (aws/karpenter-provider-aws#8068)"
    )
    if largest > limit:
        text += (
            f"; types with more than {limit} are never launched (they exceed the limit on "
            "their own: filterByRemainingResources)"
        )
    return text


def _fix(limit: Decimal, largest: Decimal) -> str:
    return (
        f"raise the limit to at least {2 * largest}, or keep types with more than "
        f"{limit / 2:g} {RESOURCE_NVIDIA_GPU} out of this pool"
    )


RULE = Rule(
    id="gpu-limit-first-pass",
    severity="warning",
    summary="a GPU limit below twice the largest candidate's GPUs (slow first provisioning)",
    check=_check,
)

__all__ = ["RULE", "first_pass_claims"]
