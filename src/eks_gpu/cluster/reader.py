"""Narrow reads for the commands: the installed CRDs, and the live twin of a manifest.

Each function takes a :class:`~eks_gpu.cluster.client.Client` and returns plain dicts (or
None for "not there"); errors are the client's :class:`ClusterAccessError`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Collection
from typing import Any

from eks_gpu.cluster.client import Client
from eks_gpu.errors import NotFoundError
from eks_gpu.names import API_VERSION_APIEXTENSIONS, KARPENTER_GROUPS

Obj = dict[str, Any]
CRD_PATH = f"/apis/{API_VERSION_APIEXTENSIONS}/customresourcedefinitions"


def installed_crds(client: Client, groups: Collection[str] | None = KARPENTER_GROUPS) -> list[Obj]:
    """The cluster's CustomResourceDefinitions of ``groups`` (every group when None)."""
    crds = client.list(CRD_PATH)
    if groups is None:
        return crds
    return [crd for crd in crds if (crd.get("spec") or {}).get("group") in groups]


def _base(api_version: str) -> str:
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


def api_resources(client: Client, api_version: str) -> list[Obj]:
    """Discovery: the resources ``api_version`` serves (empty when it is not served)."""
    try:
        resources = client.get(_base(api_version)).get("resources")
    except NotFoundError:
        return []
    return [r for r in resources or [] if isinstance(r, dict)]


def object_path(api_version: str, plural: str, name: str, namespace: str | None = None) -> str:
    """The REST path of one object: ``/apis/karpenter.sh/v1/nodepools/gpu``."""
    scope = f"/namespaces/{urllib.parse.quote(namespace, safe='')}" if namespace else ""
    return f"{_base(api_version)}{scope}/{plural}/{urllib.parse.quote(name, safe='')}"


def live_object(
    client: Client,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    *,
    resources: list[Obj] | None = None,
) -> Obj | None:
    """The object ``kind`` (a kind such as ``NodePool`` or a plural such as ``nodepools``)
    ``name`` as the cluster serves it at ``api_version``; None when it does not exist.

    ``namespace`` defaults to the kubeconfig context's for namespaced kinds; ``resources`` is
    ``api_resources(client, api_version)`` when the caller already has it.
    """
    if resources is None:
        resources = api_resources(client, api_version)
    resource = next(
        (
            r
            for r in resources
            if "/" not in str(r.get("name")) and kind in (r.get("kind"), r.get("name"))
        ),
        None,
    )
    if resource is None:
        return None
    scope = (namespace or client.namespace) if resource.get("namespaced") else None
    try:
        return client.get(object_path(api_version, str(resource["name"]), name, scope))
    except NotFoundError:
        return None


def live_lookup(client: Client) -> Callable[[Obj], Obj | None]:
    """``lookup(manifest) -> live object | None``, with discovery done once per apiVersion."""
    discovered: dict[str, list[Obj]] = {}

    def lookup(obj: Obj) -> Obj | None:
        api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        name = str((metadata or {}).get("name") or "")
        if not (api_version and kind and name):
            return None
        if api_version not in discovered:
            discovered[api_version] = api_resources(client, api_version)
        namespace = (metadata or {}).get("namespace")
        return live_object(
            client, api_version, kind, name, namespace, resources=discovered[api_version]
        )

    return lookup


__all__ = [
    "CRD_PATH",
    "api_resources",
    "installed_crds",
    "live_lookup",
    "live_object",
    "object_path",
]
