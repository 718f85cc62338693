"""Which CRDs custom resources are validated against: ``--crds`` files, a Karpenter release
(``--karpenter-version``, cached), the newest cached release, or the cluster's own CRDs
(``--from-cluster``); and, when there are none, why, so the report can say it skipped them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eks_gpu.cluster.client import Client
    from eks_gpu.validate.crds import CrdSet

NO_CRDS = (
    "no Karpenter CRDs available offline; pass --karpenter-version v1.14.1 "
    "(downloaded once, then cached) or --crds DIR"
)


@dataclass(frozen=True)
class CrdChoice:
    """The CRDs to use (None: none available), why they are missing, the target version."""

    crds: CrdSet | None
    missing: str | None
    karpenter_version: str | None


def cluster_crds(cluster: Client) -> tuple[CrdSet, str | None]:
    """Every CRD the cluster serves, and why Karpenter objects go unchecked (if they do)."""
    from eks_gpu.cluster.reader import installed_crds
    from eks_gpu.names import KARPENTER_GROUPS
    from eks_gpu.validate.crds import crds_from_cluster

    origin = f"the cluster {cluster.server} (context {cluster.context.context})"
    found = crds_from_cluster(installed_crds(cluster, groups=None), origin)
    absent = [group for group in KARPENTER_GROUPS if not found.knows_group(group)]
    missing = f"{origin} has no CRD of {', '.join(absent)}; is Karpenter installed?"
    return found, missing if absent else None


def choose_crds(
    crd_paths: Sequence[str], karpenter_version: str | None, cluster: Client | None = None
) -> CrdChoice:
    """The CRDs for this run, in the order of precedence the docs give."""
    from eks_gpu.loaders.crd_release import crds_from_paths, karpenter_crds, newest_cached_version
    from eks_gpu.validate.crds import CrdUnavailable, check_version

    target = check_version(karpenter_version) if karpenter_version else None
    if cluster is not None:
        return CrdChoice(*cluster_crds(cluster), target)
    if crd_paths:
        return CrdChoice(crds_from_paths(crd_paths), None, target)
    version = target or newest_cached_version()
    if version is None:
        return CrdChoice(None, NO_CRDS, None)
    try:
        return CrdChoice(karpenter_crds(version, download=target is not None), None, version)
    except CrdUnavailable as error:
        return CrdChoice(None, f"Karpenter {version} CRDs unavailable: {error}", version)


__all__ = ["NO_CRDS", "CrdChoice", "choose_crds", "cluster_crds"]
