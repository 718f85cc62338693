"""Writes for ``apply`` and ``delete``: server-side apply, DELETE, and the GETs around them.

Every object's REST path comes from discovery (``reader.api_resources``), asked once per
apiVersion, so CRD kinds need no table of plurals. Server-side apply is a PATCH with
``Content-Type: application/apply-patch+yaml`` (JSON is YAML, so the body is JSON) and
``fieldManager=eks-gpu``; ``force=true`` only when the user passed ``--force-conflicts``, so a
field another manager owns is a 409 naming it (client.translate). Failures are the client's
typed errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eks_gpu.cluster.client import Client
from eks_gpu.cluster.reader import api_resources, object_path
from eks_gpu.cluster.snapshot import NON_TERMINAL
from eks_gpu.errors import NotFoundError
from eks_gpu.manifests.live_diff import FIELD_MANAGER
from eks_gpu.names import API_VERSION_APPS, LABEL_APP_NAME, LABEL_NODEPOOL

Obj = dict[str, Any]
APPLY_PATCH = "application/apply-patch+yaml"
KARPENTER = "karpenter"
PROPAGATION = "Background"
"""kubectl's default: the object goes at once and the garbage collector removes what it
owns (a NodePool's NodeClaims, a DaemonSet's pods) afterwards. Foreground would keep the
NodePool, marked deleted, until every node is drained, which a PodDisruptionBudget can hold
up for hours, and a re-apply in the meantime fails on an object being deleted."""


@dataclass
class Resolver:
    """apiVersion + kind -> REST path, with discovery asked once per apiVersion."""

    client: Client
    discovered: dict[str, list[Obj]] = field(default_factory=dict)

    def resource(self, api_version: str, kind: str) -> Obj:
        """The discovery entry of ``kind``; :class:`NotFoundError` when it is not served."""
        if api_version not in self.discovered:
            self.discovered[api_version] = api_resources(self.client, api_version)
        for entry in self.discovered[api_version]:
            if entry.get("kind") == kind and "/" not in str(entry.get("name")):
                return entry
        raise NotFoundError(
            f"the cluster does not serve {kind} in {api_version}",
            hint="install the CRD (for Karpenter kinds: Karpenter v1's CRDs) first",
            code=404,
        )

    def path(self, obj: Obj) -> str:
        """The object's own path: ``/apis/karpenter.sh/v1/nodepools/gpu``."""
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        entry = self.resource(api_version, kind)
        meta = obj.get("metadata") or {}
        namespace = None
        if entry.get("namespaced"):
            namespace = str(meta.get("namespace") or self.client.namespace or "default")
        return object_path(api_version, str(entry["name"]), str(meta.get("name")), namespace)


def fetch(client: Client, path: str) -> Obj | None:
    """The live object at ``path``, None when it does not exist."""
    try:
        return client.get(path)
    except NotFoundError:
        return None


def server_side_apply(
    client: Client, path: str, obj: Obj, *, force: bool = False, dry_run: bool = False
) -> Obj:
    """Apply ``obj`` as field manager ``eks-gpu``; returns the object as the server now has
    it (as it would have it, with ``dry_run``)."""
    query = {"fieldManager": FIELD_MANAGER}
    if force:
        query["force"] = "true"
    if dry_run:
        query["dryRun"] = "All"
    body = json.dumps(obj).encode()
    return client.request("PATCH", path, query, body=body, content_type=APPLY_PATCH)


def delete(client: Client, path: str, *, dry_run: bool = False) -> Obj:
    """DELETE the object at ``path`` with background propagation (see :data:`PROPAGATION`)."""
    options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": PROPAGATION}
    if dry_run:
        options["dryRun"] = ["All"]
    return client.request("DELETE", path, body=json.dumps(options).encode())


def karpenter_deployments(client: Client) -> list[Obj]:
    """Deployments labelled ``app.kubernetes.io/name=karpenter`` in any namespace (the Helm
    chart's label; installs put it in ``kube-system`` or ``karpenter``)."""
    query = {"labelSelector": f"{LABEL_APP_NAME}={KARPENTER}"}
    return client.list(f"/apis/{API_VERSION_APPS}/deployments", query)


def nodepool_nodes(client: Client, nodepool: str) -> list[Obj]:
    """The nodes Karpenter launched for ``nodepool`` (label ``karpenter.sh/nodepool``)."""
    return client.list("/api/v1/nodes", {"labelSelector": f"{LABEL_NODEPOOL}={nodepool}"})


def pods_on(client: Client, node: str) -> list[Obj]:
    """The running (non-terminal) pods bound to ``node``: one field-selected LIST."""
    selector = f"spec.nodeName={node},{NON_TERMINAL}"
    return client.list("/api/v1/pods", {"fieldSelector": selector})


__all__ = [
    "FIELD_MANAGER",
    "PROPAGATION",
    "Resolver",
    "delete",
    "fetch",
    "karpenter_deployments",
    "nodepool_nodes",
    "pods_on",
    "server_side_apply",
]
