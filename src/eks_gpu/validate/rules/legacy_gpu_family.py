"""``legacy-gpu-family``: a pool allows a legacy GPU family (p3/p3dn: V100).

Volta's last driver branch is R580 and its last toolkit CUDA 12.x; new images and AMIs drop
it. Which families are legacy, and why, comes from the catalog's family notes.

Two ways in: a legacy family among the types the pool launches (p3dn, p3), or one the
pool names in its requirements that the instance-type model does not have at all. The
second is still worth a warning, and a more pointed one: the pool asks for something
Karpenter never launches, and launches nothing at all if that is all it asks for.

p3 is missing from Karpenter v1.14's generated instance-type list (which shows what one
account's subnets offered), not from Karpenter: the model derives it from EC2 facts with
Karpenter's formulas, and the warning says that its launch depends on the account.
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.catalog.notes import notes_for
from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_INSTANCE_FAMILY
from eks_gpu.scheduling.instance_model import catalog_types
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.arch_mismatch import family_types, named_families
from eks_gpu.validate.rules.pools import Pool, families, pools_of
from eks_gpu.validate.rules.rule import Rule


def _unlisted(pool: Pool) -> list[str]:
    """Legacy families the pool names that the instance-type model does not have."""
    known = family_types()
    return [f for f in named_families(pool) if f not in known and notes_for(f).legacy]


def _derived(families: list[str]) -> list[str]:
    """Of ``families``, those the model derives because Karpenter's generated list lacks them."""
    derived = {
        t.spec.labels.get(LABEL_INSTANCE_FAMILY, "") for t in catalog_types() if t.spec.derived
    }
    return [f for f in families if f in derived]


def _message(launched: list[str], unlisted: list[str], pool: Pool) -> str:
    parts = []
    if launched:
        parts.append(f"allows legacy GPU families {', '.join(launched)}.")
    if derived := _derived(launched):
        parts.append(
            f"{', '.join(derived)} is missing from Karpenter v1.14's generated instance-type "
            "list (it shows what one account was offered); Karpenter launches it where your "
            "account and region still offer it, with the allocatable modelled here."
        )
    if unlisted:
        nothing = "; it launches no instance type at all" if not pool.types else ""
        parts.append(
            f"names legacy GPU families {', '.join(unlisted)}, which Karpenter v1.14's "
            f"instance-type list does not have, so it never launches them{nothing}."
        )
    parts += notes_for((launched or unlisted)[0]).notes[:1]
    return " ".join(parts)


def _fix(launched: list[str], unlisted: list[str]) -> str:
    parts = ["prefer current families (g5/g6/g6e for inference, p4d/p5 for training)"]
    if launched:
        parts.append(f"keep {', '.join(launched)} only for workloads pinned to CUDA 12.x images")
    if unlisted:
        parts.append(f"drop {', '.join(unlisted)}, which Karpenter cannot launch")
    return "; ".join(parts)


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for pool in pools_of(manifests):
        launched = [name for name in families(pool.gpu_types) if notes_for(name).legacy]
        unlisted = _unlisted(pool)
        if not launched and not unlisted:
            continue
        yield RULE.finding(
            pool.obj,
            ".spec.template.spec.requirements",
            _message(launched, unlisted, pool),
            _fix(launched, unlisted),
        )


RULE = Rule(
    id="legacy-gpu-family",
    severity="warning",
    summary="a pool that allows legacy GPU families (p3/p3dn, V100)",
    check=_check,
)

__all__ = ["RULE"]
