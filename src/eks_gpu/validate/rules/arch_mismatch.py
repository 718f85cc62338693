"""``arch-mismatch``: a pool names families its architecture requirement rules out.

g5g is arm64 only (Graviton2 + T4g): a pool listing it with ``kubernetes.io/arch In
[amd64]`` silently never launches it, and an arm64-only pool listing x86 families launches
nothing. A named family is flagged when it has instance types in the one instance-type
model (Karpenter v1.14's list plus derived GPU types such as p3) and none of them intersects
the pool's ``kubernetes.io/arch`` requirement (``Requirements.is_intersecting``, as Karpenter
admits types); families the model lacks are ``legacy-gpu-family``'s to report.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_ARCH, LABEL_INSTANCE_FAMILY, LABEL_INSTANCE_TYPE
from eks_gpu.scheduling.instance_model import CatalogType, catalog_types
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.pools import Pool, named_values, pools_of
from eks_gpu.validate.rules.rule import Rule

ARCHITECTURES = ("amd64", "arm64")


@cache
def family_types() -> dict[str, tuple[CatalogType, ...]]:
    """The model's instance types by family."""
    out: dict[str, list[CatalogType]] = {}
    for instance_type in catalog_types():
        family = instance_type.spec.labels.get(LABEL_INSTANCE_FAMILY, "")
        out.setdefault(family, []).append(instance_type)
    return {family: tuple(types) for family, types in out.items()}


def named_families(pool: Pool) -> list[str]:
    """Families the pool asks for by name (``In`` on instance-family or instance-type)."""
    types = named_values(pool, LABEL_INSTANCE_TYPE)
    return sorted(
        {*named_values(pool, LABEL_INSTANCE_FAMILY), *(t.partition(".")[0] for t in types)}
    )


def _architectures(types: tuple[CatalogType, ...]) -> list[str]:
    return sorted({t.spec.labels.get(LABEL_ARCH, "") for t in types})


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    known = family_types()
    for pool in pools_of(manifests):
        arch = Requirements([pool.requirements.get(LABEL_ARCH)])
        allowed = [a for a in ARCHITECTURES if arch.get(LABEL_ARCH).has(a)]
        for family in named_families(pool):
            types = known.get(family, ())
            if not types or any(t.requirements.is_intersecting(arch) for t in types):
                continue
            need = "/".join(_architectures(types))
            yield RULE.finding(
                pool.obj,
                ".spec.template.spec.requirements",
                f"names {family} ({need} only) but {LABEL_ARCH} allows "
                f"{'/'.join(allowed) or 'nothing'}: {family} is never launched",
                f"add {need} to the {LABEL_ARCH} requirement (with images built for it), "
                f"or remove {family}",
            )


RULE = Rule(
    id="arch-mismatch",
    severity="error",
    summary="a family allowed by name whose architecture the pool's arch requirement excludes",
    check=_check,
)

__all__ = ["RULE", "family_types", "named_families"]
