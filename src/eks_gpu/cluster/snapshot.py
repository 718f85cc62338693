"""Read a live cluster into a :class:`~eks_gpu.manifests.cluster_state.ClusterState`: one
paginated LIST per kind, never a call per node or per pod.

Required kinds (nodes, pods) fail the read with the client's typed error; optional ones
(Karpenter's kinds on a cluster without them, NodeOverlay before v1.14's feature gate, the
metrics API) are recorded in ``missing`` with the reason, so a command can say "not read"
instead of showing an empty table as if it had checked.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from collections.abc import Collection as CollectionOf
from dataclasses import dataclass
from typing import Any

from eks_gpu.cluster.client import Client
from eks_gpu.errors import ClusterAccessError, NotFoundError
from eks_gpu.manifests.cluster_state import KIND_NODE_METRICS, ClusterState, karpenter_version
from eks_gpu.names import (
    API_VERSION_APIEXTENSIONS,
    API_VERSION_APPS,
    API_VERSION_EC2NODECLASS,
    API_VERSION_NODEOVERLAY,
    API_VERSION_NODEPOOL,
    KARPENTER_GROUPS,
)

Obj = dict[str, Any]
NON_TERMINAL = "status.phase!=Succeeded,status.phase!=Failed"
METRICS_API_VERSION = "metrics.k8s.io/v1beta1"


@dataclass(frozen=True)
class Source:
    """Where one kind is LISTed, and whether the command can do without it."""

    kind: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    optional: bool = False
    absent: str = ""  # why a 404 happens, for ``missing``


SOURCES: tuple[Source, ...] = (
    Source("Node", "/api/v1/nodes"),
    Source("Pod", "/api/v1/pods", (("fieldSelector", NON_TERMINAL),)),
    Source("DaemonSet", f"/apis/{API_VERSION_APPS}/daemonsets"),
    Source("Deployment", f"/apis/{API_VERSION_APPS}/deployments"),
    Source("Event", "/api/v1/events", optional=True),
    Source(
        "NodePool",
        f"/apis/{API_VERSION_NODEPOOL}/nodepools",
        optional=True,
        absent="the Karpenter v1 CRDs are not installed",
    ),
    Source(
        "EC2NodeClass",
        f"/apis/{API_VERSION_EC2NODECLASS}/ec2nodeclasses",
        optional=True,
        absent="the Karpenter v1 CRDs are not installed",
    ),
    Source(
        "NodeClaim",
        f"/apis/{API_VERSION_NODEPOOL}/nodeclaims",
        optional=True,
        absent="the Karpenter v1 CRDs are not installed",
    ),
    Source(
        "NodeOverlay",
        f"/apis/{API_VERSION_NODEOVERLAY}/nodeoverlays",
        optional=True,
        absent="the NodeOverlay CRD (karpenter.sh/v1alpha1) is not installed",
    ),
    Source(
        "CustomResourceDefinition",
        f"/apis/{API_VERSION_APIEXTENSIONS}/customresourcedefinitions",
        optional=True,
    ),
    Source(
        KIND_NODE_METRICS,
        f"/apis/{METRICS_API_VERSION}/nodes",
        optional=True,
        absent="the metrics API (metrics-server) is not installed",
    ),
)
KINDS = tuple(source.kind for source in SOURCES)
Progress = Callable[[str, "int | None", str], None]
"""Told after each kind: (kind, how many objects, or None when not read, and why not)."""


def _slim_crd(crd: Obj) -> Obj | None:
    """A Karpenter CRD without its schema (versions and annotations are what we read);
    None for other groups' CRDs."""
    spec = crd.get("spec") or {}
    if spec.get("group") not in KARPENTER_GROUPS:
        return None
    metadata = crd.get("metadata") or {}
    versions = [
        {k: v for k, v in version.items() if k in ("name", "served", "storage")}
        for version in spec.get("versions") or []
        if isinstance(version, dict)
    ]
    return {
        "apiVersion": crd.get("apiVersion"),
        "kind": crd.get("kind"),
        "metadata": {
            "name": metadata.get("name"),
            "annotations": metadata.get("annotations") or {},
        },
        "spec": {"group": spec.get("group"), "names": spec.get("names"), "versions": versions},
    }


def _read(client: Client, source: Source) -> list[Obj]:
    items = client.list(source.path, dict(source.query))
    if source.kind == "CustomResourceDefinition":
        return [slim for crd in items if (slim := _slim_crd(crd)) is not None]
    if source.kind == KIND_NODE_METRICS:
        for item in items:
            item["kind"] = KIND_NODE_METRICS
    return items


def read_state(
    client: Client, kinds: CollectionOf[str] | None = None, progress: Progress | None = None
) -> ClusterState:
    """The cluster's objects of ``kinds`` (every kind of :data:`SOURCES` when None), and the
    Karpenter version when Deployments are read; ``progress`` is told after each kind.

    Raises:
        ClusterAccessError: a required kind could not be read (with the RBAC rule to add).
    """
    wanted = [s for s in SOURCES if kinds is None or s.kind in kinds]
    objects: dict[str, tuple[Obj, ...]] = {}
    missing: dict[str, str] = {}
    for source in wanted:
        try:
            objects[source.kind] = tuple(_read(client, source))
        except NotFoundError as error:
            if not source.optional:
                raise
            missing[source.kind] = source.absent or error.message
        except ClusterAccessError as error:
            if not source.optional or error.code not in (403, 503):
                raise
            missing[source.kind] = error.message
        if progress is not None:
            read = objects.get(source.kind)
            progress(source.kind, None if read is None else len(read), missing.get(source.kind, ""))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ClusterState(
        objects,
        (),
        frozenset(objects),
        missing,
        f"context {client.context} ({client.server})",
        now,
        karpenter_version(objects.get("Deployment", ())),
    )


__all__ = ["KINDS", "NON_TERMINAL", "SOURCES", "Progress", "Source", "read_state"]
