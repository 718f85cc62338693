"""``apiVersion`` and ``kind``: an object without them is refused, never "skipped".

kubectl checks both before anything else (``kubectl apply --dry-run=client -f pod.yaml``
without ``apiVersion`` exits 1 with ``error validating data: apiVersion not set``; see
k8s.io/kubectl ``pkg/validation/validation.go`` ``getObjectKind``, which also says
``apiVersion isn't string type``, ``kind not set`` and ``kind isn't string type``), and the
API server's decoder refuses them too (k8s.io/apimachinery
``pkg/runtime/serializer/json/json.go`` ``Serializer.Decode``: ``Object 'apiVersion' is
missing in '...'``). Without them no schema can be chosen, so nothing else is checked.
"""

from __future__ import annotations

from typing import Any

from eks_gpu import names
from eks_gpu.validate.findings import Finding, object_ref

RULE = "type-meta"
_CORE = names.API_VERSION_CORE
# The apiVersion to suggest for kinds people write by hand (others: "the one its kind uses").
KNOWN_API_VERSIONS: dict[str, str] = {
    "Pod": _CORE,
    "ConfigMap": _CORE,
    "Namespace": _CORE,
    "Secret": _CORE,
    "Service": _CORE,
    "ServiceAccount": _CORE,
    "PersistentVolumeClaim": _CORE,
    "Deployment": names.API_VERSION_APPS,
    "DaemonSet": names.API_VERSION_APPS,
    "StatefulSet": names.API_VERSION_APPS,
    "ReplicaSet": names.API_VERSION_APPS,
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "NodePool": names.API_VERSION_NODEPOOL,
    "EC2NodeClass": names.API_VERSION_EC2NODECLASS,
    "NodeOverlay": names.API_VERSION_NODEOVERLAY,
}


def _problem(value: Any, field: str) -> str | None:
    """kubectl's words for a missing or mistyped field; an empty string counts as missing."""
    if value is None or value == "":
        return f"{field} not set"
    if not isinstance(value, str):
        return f"{field} isn't string type"
    return None


def _api_version_fix(kind: Any) -> str:
    known = KNOWN_API_VERSIONS.get(kind) if isinstance(kind, str) else None
    if known:
        return f"add apiVersion: {known}"
    return "add the apiVersion its kind is served at (kubectl api-resources lists them)"


def type_meta_findings(obj: dict[str, Any]) -> list[Finding]:
    """An error for each of ``apiVersion`` and ``kind`` that is missing, empty or not a string."""
    ref = object_ref(obj)
    kind = obj.get("kind")
    out = []
    api_problem = _problem(obj.get("apiVersion"), "apiVersion")
    if api_problem:
        out.append(
            Finding(
                RULE,
                "error",
                ref,
                ".apiVersion",
                f"{api_problem}: kubectl and the API server refuse an object without a string "
                "apiVersion, and no schema can be chosen for it",
                _api_version_fix(kind),
            )
        )
    kind_problem = _problem(kind, "kind")
    if kind_problem:
        out.append(
            Finding(
                RULE,
                "error",
                ref,
                ".kind",
                f"{kind_problem}: kubectl and the API server refuse an object without a string "
                "kind, and no schema can be chosen for it",
                "add kind: (e.g. Pod, Deployment, NodePool)",
            )
        )
    return out


__all__ = ["KNOWN_API_VERSIONS", "RULE", "type_meta_findings"]
