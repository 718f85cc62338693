"""``raid0-user-data-conflict``: user data formats or mounts the instance store itself while
``instanceStorePolicy: RAID0`` is set.

With RAID0, Karpenter asks nodeadm to assemble every local NVMe disk into one md array and
put kubelet and containerd on it (aws/karpenter-provider-aws@v1.14.1
``pkg/providers/amifamily/bootstrap/nodeadm.go``: ``localStorage: {strategy: RAID0}``) before
any user script runs. A script that runs ``mdadm``/``mkfs`` on those disks, mounts them, or a
NodeConfig part with its own ``localStorage`` fights that: the disks are busy (the script
fails) or get reformatted under kubelet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.user_data import USER_DATA_PATH, node_class_spec, user_data_of

DISK_COMMANDS = re.compile(
    r"\bmdadm\b|\bmkfs(\.\w+)?\b|\bsetup-local-disks\b|\bmount\b[^\n]*/dev/(nvme|md)"
)


def _what(script: str) -> str | None:
    found = DISK_COMMANDS.search(script)
    return found.group(0).split()[0] if found else None


def _local_storage(configs: tuple[dict[str, object], ...]) -> bool:
    for config in configs:
        spec = config.get("spec")
        instance = spec.get("instance") if isinstance(spec, dict) else None
        if isinstance(instance, dict) and "localStorage" in instance:
            return True
    return False


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for node_class in manifests.nodeclasses:
        parts = user_data_of(node_class)
        if parts is None or node_class_spec(node_class).get("instanceStorePolicy") != "RAID0":
            continue
        commands = sorted({c for c in map(_what, parts.scripts) if c})
        if _local_storage(parts.node_configs):
            commands.append("NodeConfig spec.instance.localStorage")
        if not commands:
            continue
        yield RULE.finding(
            node_class,
            USER_DATA_PATH,
            f"instanceStorePolicy: RAID0 already has nodeadm build the md array on the local "
            f"NVMe disks and mount it for kubelet and containerd, but the user data sets them "
            f"up too ({', '.join(commands)}): the disks are busy or get reformatted",
            "remove the disk setup from the user data (RAID0 does it), or drop "
            "instanceStorePolicy: RAID0 and manage the disks yourself",
        )


RULE = Rule(
    id="raid0-user-data-conflict",
    severity="error",
    summary="user data that formats or mounts the instance store while RAID0 is set",
    check=_check,
)

__all__ = ["RULE"]
