"""NodePool ``minValues``: how many distinct values a NodeClaim's candidate types must span.

Karpenter (sigs.k8s.io/karpenter v1.14.1):

* ``cloudprovider/types.go`` ``InstanceTypes.SatisfiesMinValues``: for every requirement
  with ``minValues``, the candidate types together must carry at least that many distinct
  values of its key;
* ``provisioning/scheduling/nodeclaim.go`` ``filterInstanceTypesByRequirements``: checked
  each time a pod is added to a NodeClaim; under the default ``--min-values-policy Strict``
  a NodeClaim that falls short is refused (``BestEffort`` relaxes minValues instead);
* ``scheduler.go`` ``Results.TruncateInstanceTypes``: the candidates are cut to the 600
  cheapest (``MaxInstanceTypes``) and checked again;
* aws/karpenter-provider-aws v1.14.1 ``pkg/providers/instance/instance.go``
  ``filterInstanceTypes``: at launch the candidates are cut to the 60 cheapest
  (``maxInstanceTypes``) and checked again; the launch fails when they fall short. The
  same function skips the exotic-type filter (``ExoticInstanceTypeFilter``) when any
  requirement has ``minValues``, so GPU and metal types stay in the launch request.
"""

from __future__ import annotations

from collections.abc import Sequence

from eks_gpu.names import LABEL_CAPACITY_TYPE, LABEL_ZONE
from eks_gpu.scheduling.instance_model import SimInstanceType
from eks_gpu.scheduling.requirements import Requirements

MAX_INSTANCE_TYPES = 600
"""Karpenter core's ``MaxInstanceTypes`` (``nodeclaimtemplate.go``)."""
MAX_LAUNCH_TYPES = 60
"""The AWS provider's ``maxInstanceTypes`` (``instance.go``): what CreateFleet is sent."""
STRICT, BEST_EFFORT = "Strict", "BestEffort"
"""The two ``--min-values-policy`` settings (``pkg/operator/options/options.go``)."""

MinValues = tuple[tuple[str, int], ...]


def min_values_of(requirements: Requirements) -> MinValues:
    """``(key, minValues)`` for each requirement that sets one, by key."""
    return tuple((r.key, r.min_values) for r in requirements if r.min_values is not None)


def _values(instance_type: SimInstanceType, key: str) -> frozenset[str]:
    """The values ``instance_type`` offers for ``key`` (zones and capacity types from its
    offerings, as the provider's instance-type requirements list them)."""
    if key == LABEL_ZONE:
        return frozenset(o.zone for o in instance_type.offerings)
    if key == LABEL_CAPACITY_TYPE:
        return frozenset(o.capacity_type for o in instance_type.offerings)
    requirement = instance_type.requirements.get(key)
    return frozenset() if requirement.complement else requirement.values


def shortfalls(types: Sequence[SimInstanceType], wanted: MinValues) -> dict[str, int]:
    """``SatisfiesMinValues``: each key whose distinct values among ``types`` stay below
    its minValues, with the count reached (empty when every key is met)."""
    out = {}
    for key, needed in wanted:
        seen: set[str] = set()
        for instance_type in types:
            seen |= _values(instance_type, key)
            if len(seen) >= needed:
                break
        if len(seen) < needed:
            out[key] = len(seen)
    return out


def message(short: dict[str, int], wanted: MinValues, where: str) -> str:
    """``minValues requirement is not met for label(s)`` with the counts, for people."""
    needed = dict(wanted)
    parts = [f"{key} has {count} distinct value(s), minValues is {needed[key]}"
             for key, count in sorted(short.items())]  # fmt: skip
    return f"minValues requirement is not met {where}: " + "; ".join(parts)


__all__ = [
    "BEST_EFFORT",
    "MAX_INSTANCE_TYPES",
    "MAX_LAUNCH_TYPES",
    "STRICT",
    "MinValues",
    "message",
    "min_values_of",
    "shortfalls",
]
