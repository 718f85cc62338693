"""``legacy-gpu-family``: a pool allows a legacy GPU family (p3/p3dn: V100).

Volta's last driver branch is R580 and its last toolkit CUDA 12.x; new images and AMIs drop
it. Which families are legacy, and why, comes from the catalog's family notes.
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.catalog.notes import notes_for
from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.pools import families, pools_of
from eks_gpu.validate.rules.rule import Rule


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for pool in pools_of(manifests):
        legacy = [name for name in families(pool.gpu_types) if notes_for(name).legacy]
        if not legacy:
            continue
        notes = " ".join(notes_for(legacy[0]).notes[:1])
        yield RULE.finding(
            pool.obj,
            ".spec.template.spec.requirements",
            f"allows legacy GPU families {', '.join(legacy)}. {notes}",
            f"prefer current families (g5/g6/g6e for inference, p4d/p5 for training); keep "
            f"{', '.join(legacy)} only for workloads pinned to CUDA 12.x images",
        )


RULE = Rule(
    id="legacy-gpu-family",
    severity="warning",
    summary="a pool that allows legacy GPU families (p3/p3dn, V100)",
    check=_check,
)

__all__ = ["RULE"]
