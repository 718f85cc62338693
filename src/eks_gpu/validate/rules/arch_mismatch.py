"""``arch-mismatch``: a pool names families its architecture requirement rules out.

g5g is arm64 only (Graviton2 + T4g): a pool listing it with ``kubernetes.io/arch In
[amd64]`` silently never launches it, and an arm64-only pool listing x86 families launches
nothing. Each family's architectures come from the catalog.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from eks_gpu.manifests import ManifestSet
from eks_gpu.names import LABEL_ARCH, LABEL_INSTANCE_FAMILY, LABEL_INSTANCE_TYPE
from eks_gpu.scheduling.labels import nodepool_requirements, satisfies
from eks_gpu.scheduling.well_known import normalize_key
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.pools import Pool, candidate_types, pools_of
from eks_gpu.validate.rules.rule import Rule

ARCHITECTURES = ("amd64", "arm64")


@cache
def _family_architectures() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for it in candidate_types():
        out.setdefault(it.labels.get(LABEL_INSTANCE_FAMILY, ""), set()).add(
            it.labels.get(LABEL_ARCH, "")
        )
    return {family: frozenset(archs) for family, archs in out.items()}


def _named_families(pool: Pool) -> list[str]:
    """Families the pool asks for by name (``In`` on instance-family or instance-type)."""
    names: set[str] = set()
    for requirement in nodepool_requirements(pool.obj):
        key = normalize_key(str(requirement.get("key")))
        if requirement.get("operator") != "In" or key not in (
            LABEL_INSTANCE_FAMILY,
            LABEL_INSTANCE_TYPE,
        ):
            continue
        values = [str(v) for v in requirement.get("values") or []]
        names |= {v.partition(".")[0] if key == LABEL_INSTANCE_TYPE else v for v in values}
    return sorted(names)


def _allowed_architectures(pool: Pool) -> set[str]:
    arch = [
        r for r in nodepool_requirements(pool.obj) if normalize_key(str(r["key"])) == LABEL_ARCH
    ]
    return {a for a in ARCHITECTURES if satisfies({LABEL_ARCH: a}, arch)}


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    known = _family_architectures()
    for pool in pools_of(manifests):
        allowed = _allowed_architectures(pool)
        for family in _named_families(pool):
            archs = known.get(family)
            if archs is None or archs & allowed:
                continue
            need = "/".join(sorted(archs))
            yield RULE.finding(
                pool.obj,
                ".spec.template.spec.requirements",
                f"names {family} ({need} only) but {LABEL_ARCH} allows "
                f"{'/'.join(sorted(allowed)) or 'nothing'}: {family} is never launched",
                f"add {need} to the {LABEL_ARCH} requirement (with images built for it), "
                f"or remove {family}",
            )


RULE = Rule(
    id="arch-mismatch",
    severity="error",
    summary="a family allowed by name whose architecture the pool's arch requirement excludes",
    check=_check,
)

__all__ = ["RULE"]
