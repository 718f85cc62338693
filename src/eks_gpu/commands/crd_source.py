"""Which CRDs custom resources are validated against: ``--crds`` files, a Karpenter release
(``--karpenter-version``, else the newest supported one; downloaded once, cached), or the
cluster's own CRDs (``--from-cluster``).

Never a silent pass: when the release's CRDs cannot be had the run fails with exit 3 and a
hint; skipping the CRD checks takes ``--skip-crd-checks``, and the report says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eks_gpu.errors import EXIT_CLUSTER, EksGpuError, UsageError

if TYPE_CHECKING:
    from eks_gpu.cluster.client import Client
    from eks_gpu.validate.crds import CrdSet

SKIPPED = "CRD checks skipped (--skip-crd-checks)"


class CrdSourceError(EksGpuError):
    """The Karpenter CRDs to validate against cannot be had (not cached, download failed)."""

    exit_code = EXIT_CLUSTER


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

    origin = f"the cluster {cluster.server} (context {cluster.context})"
    found = crds_from_cluster(installed_crds(cluster, groups=None), origin)
    absent = [group for group in KARPENTER_GROUPS if not found.knows_group(group)]
    missing = f"{origin} has no CRD of {', '.join(absent)}; is Karpenter installed?"
    return found, missing if absent else None


def _check_skip(crd_paths: Sequence[str], cluster: Client | None, skip: bool) -> None:
    if skip and (crd_paths or cluster is not None):
        raise UsageError(
            "--skip-crd-checks and --crds/--from-cluster contradict each other",
            hint="keep the CRD source, or drop it to skip the CRD checks",
        )


def release_crds(version: str, explicit: bool) -> CrdChoice:
    """Karpenter ``version``'s CRDs, cached or downloaded; exit 3 with a hint when neither."""
    from eks_gpu.loaders.crd_release import URL_ENV, crd_cache, karpenter_crds
    from eks_gpu.validate.crds import CrdUnavailable

    try:
        return CrdChoice(karpenter_crds(version), None, version)
    except CrdUnavailable as error:
        asked = "--karpenter-version" if explicit else "the newest supported release"
        raise CrdSourceError(
            f"cannot validate against Karpenter {version} CRDs ({asked}): {error}",
            hint=f"connect once to cache them in {crd_cache(version)}, point ${URL_ENV} at a "
            "copy of the release's pkg/apis/crds/, pass --crds DIR, or --skip-crd-checks "
            "to skip the CRD checks (reported as skipped)",
        ) from None


def choose_crds(
    crd_paths: Sequence[str],
    karpenter_version: str | None,
    cluster: Client | None = None,
    skip: bool = False,
) -> CrdChoice:
    """The CRDs for this run, in the order of precedence the docs give."""
    from eks_gpu.loaders.crd_release import crds_from_paths
    from eks_gpu.validate.crds import SUPPORTED_KARPENTER_VERSION, check_version

    _check_skip(crd_paths, cluster, skip)
    target = check_version(karpenter_version) if karpenter_version else None
    if cluster is not None:
        return CrdChoice(*cluster_crds(cluster), target)
    if crd_paths:
        return CrdChoice(crds_from_paths(crd_paths), None, target)
    if skip:
        return CrdChoice(None, SKIPPED, target)
    return release_crds(target or SUPPORTED_KARPENTER_VERSION, explicit=target is not None)


__all__ = ["SKIPPED", "CrdChoice", "CrdSourceError", "choose_crds", "cluster_crds", "release_crds"]
