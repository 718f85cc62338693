"""``raid0-without-instance-store``: RAID0 on a node class whose pool allows types without NVMe.

``instanceStorePolicy: RAID0`` puts kubelet and containerd on the local NVMe disks; a type
without instance store (every p3 size, g5g) gets nothing from it, so images and scratch
land on the root EBS volume, sized as if they would not (shared/research/aws-gpu.md
section 5). Which types have local NVMe comes from the GPU catalog.
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.pools import families, pools_of
from eks_gpu.validate.rules.rule import Rule


def _raid0_classes(manifests: ManifestSet) -> set[str]:
    names = set()
    for node_class in manifests.nodeclasses:
        spec = node_class.get("spec")
        if isinstance(spec, dict) and spec.get("instanceStorePolicy") == "RAID0":
            names.add(str((node_class.get("metadata") or {}).get("name", "")))
    return names


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    raid0 = _raid0_classes(manifests)
    for pool in pools_of(manifests):
        if pool.node_class not in raid0:
            continue
        bare = [row for row in pool.gpu_types if row.local_nvme_count == 0]
        if not bare:
            continue
        shown = ", ".join(families(bare))
        yield RULE.finding(
            pool.obj,
            ".spec.template.spec.requirements",
            f"uses EC2NodeClass/{pool.node_class} with instanceStorePolicy: RAID0, but allows "
            f"GPU types with no local NVMe ({shown}): on those, images and scratch fall back "
            "to the root EBS volume",
            f"drop {shown} from this pool, or give them their own pool and EC2NodeClass "
            "without RAID0 and a root volume of at least 100Gi",
        )


RULE = Rule(
    id="raid0-without-instance-store",
    severity="warning",
    summary="RAID0 node class used by a pool that allows GPU types without local NVMe",
    check=_check,
)

__all__ = ["RULE"]
