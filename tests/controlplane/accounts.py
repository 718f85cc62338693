"""A real ServiceAccount identity on the local control plane, as a kubeconfig file.

:func:`service_account_kubeconfig` creates the ServiceAccount, a ClusterRole with the given
rules and a ClusterRoleBinding to it, asks the TokenRequest API for a token (``POST
.../serviceaccounts/NAME/token``, what ``kubectl create token`` does) and writes a kubeconfig
with that bearer token and the plane's CA. eks-gpu run with it is held to exactly ``rules``,
which is how restricted-user and least-privilege tests ask for a user.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .kube import ApiError, Kube, Obj
from .plane import Plane

RBAC = "rbac.authorization.k8s.io/v1"
TOKEN_SECONDS = 3600  # the API server's minimum is 600
# the conftest fixture: (namespace, name, rules) -> kubeconfig path
ServiceAccountKubeconfig = Callable[[str, str, list[dict[str, Any]]], Path]


def role_name(namespace: str, name: str) -> str:
    """The ClusterRole and ClusterRoleBinding of ServiceAccount ``namespace/name``."""
    return f"eks-gpu-test:{namespace}:{name}"


def account_objects(namespace: str, name: str, rules: list[dict[str, Any]]) -> list[Obj]:
    """The ServiceAccount, its ClusterRole (``rules``) and the binding between them."""
    role = role_name(namespace, name)
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        },
        {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": role}, "rules": rules},
        {
            "apiVersion": RBAC,
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    ]


def ensure_namespace(kube: Kube, namespace: str) -> bool:
    """Create ``namespace`` unless it exists; True when this call created it."""
    try:
        kube.get(f"/api/v1/namespaces/{namespace}")
        return False
    except ApiError as err:
        if err.status != 404:
            raise
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    return True


def request_token(kube: Kube, namespace: str, name: str, seconds: int = TOKEN_SECONDS) -> str:
    """A bound token for ServiceAccount ``namespace/name`` from the TokenRequest API."""
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": seconds},
    }
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
    token: str = kube.request("POST", path, body)["status"]["token"]
    return token


def write_token_kubeconfig(plane: Plane, path: Path, user: str, token: str) -> Path:
    """A kubeconfig whose only context, ``user``, sends ``token`` to the plane."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {"server": plane.server, "certificate-authority": str(plane.ca_file)},
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "local", "user": user}}],
        "current-context": user,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def service_account_kubeconfig(
    kube: Kube,
    plane: Plane,
    namespace: str,
    name: str,
    rules: list[dict[str, Any]],
    path: Path,
) -> Path:
    """Create ServiceAccount ``namespace/name`` bound to ``rules``; its kubeconfig at ``path``.

    The objects are applied (server-side), so calling it again with other rules changes them.
    """
    for obj in account_objects(namespace, name, rules):
        kube.apply(obj, "eks-gpu-test", force=True)
    token = request_token(kube, namespace, name)
    return write_token_kubeconfig(plane, path, f"{namespace}-{name}", token)


def remove_service_account(kube: Kube, namespace: str, name: str) -> None:
    """Delete what :func:`service_account_kubeconfig` created (tokens die with the account)."""
    for obj in reversed(account_objects(namespace, name, [])):
        kube.delete(obj)
