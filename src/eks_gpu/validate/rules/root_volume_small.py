"""``root-volume-small``: a GPU node class stores images on a root volume under 100Gi.

Without RAID0, kubelet and containerd live on the root EBS volume; CUDA and PyTorch images
are several GiB each, and the AL2023 default is 20Gi (Bottlerocket: a 20Gi data volume), so
nodes hit disk pressure and evict pods. Node classes used by GPU pools are checked, or
every node class when the set has no NodePool to tell which are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.pools import pools_of
from eks_gpu.validate.rules.rule import Rule

MINIMUM_GIB = 100
DEFAULT_SIZE = "20Gi"
_UNITS = {"Gi": 2**30, "G": 10**9, "Ti": 2**40, "T": 10**12}
_SIZE = re.compile(r"^([0-9]+)(Gi|G|Ti|T)$")


def size_bytes(size: Any) -> int | None:
    """An EBS ``volumeSize`` (``100Gi``, ``200G``, ``1Ti``) in bytes; None when unreadable."""
    match = _SIZE.match(str(size))
    return int(match[1]) * _UNITS[match[2]] if match else None


def _is_bottlerocket(spec: dict[str, Any]) -> bool:
    terms = spec.get("amiSelectorTerms") or []
    aliases = [str(t.get("alias", "")) for t in terms if isinstance(t, dict)]
    family = str(spec.get("amiFamily", ""))
    return family == "Bottlerocket" or any(a.startswith("bottlerocket@") for a in aliases)


def _image_volume(spec: dict[str, Any]) -> tuple[str, Any]:
    """(path, size) of the volume that holds images: root (AL2023) or data (Bottlerocket)."""
    raw = spec.get("blockDeviceMappings")
    wanted = "/dev/xvdb" if _is_bottlerocket(spec) else "/dev/xvda"
    for index, mapping in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(mapping, dict):
            continue
        is_root = mapping.get("rootVolume") is True and wanted == "/dev/xvda"
        if is_root or mapping.get("deviceName") == wanted:
            ebs = mapping.get("ebs")
            size = ebs.get("volumeSize") if isinstance(ebs, dict) else None
            return f".spec.blockDeviceMappings[{index}].ebs.volumeSize", size
    return ".spec.blockDeviceMappings", DEFAULT_SIZE


def _gpu_classes(manifests: ManifestSet) -> set[str] | None:
    """Node classes used by GPU pools; None (all) when the set has no NodePool."""
    pools = pools_of(manifests)
    if not pools:
        return None
    return {p.node_class for p in pools if p.can_launch_gpus and p.node_class}


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    wanted = _gpu_classes(manifests)
    for node_class in manifests.nodeclasses:
        name = (node_class.get("metadata") or {}).get("name")
        spec = node_class.get("spec")
        if not isinstance(spec, dict) or spec.get("instanceStorePolicy") == "RAID0":
            continue
        if wanted is not None and name not in wanted:
            continue
        path, size = _image_volume(spec)
        amount = size_bytes(size)
        if amount is None or amount >= MINIMUM_GIB * 2**30:
            continue
        yield RULE.finding(
            node_class,
            path,
            f"GPU nodes keep container images on a {size} volume without RAID0: CUDA images "
            "are several GiB each, so nodes run into disk pressure",
            f"set the volume to at least {MINIMUM_GIB}Gi, or instanceStorePolicy: RAID0 for "
            "families with local NVMe",
        )


RULE = Rule(
    id="root-volume-small",
    severity="warning",
    summary="a GPU node class with a root (image) volume under 100Gi and no RAID0",
    check=_check,
)

__all__ = ["RULE", "size_bytes"]
