"""Every Kubernetes API permission eks-gpu asks for, per mode, with the reason for each: the
one source of truth that ``eks-gpu rbac`` prints as ClusterRoles.

Three modes, one ClusterRole each, so a team can grant only what it runs:

* ``read``: ``status`` (and ``--watch``), ``doctor``, ``dump``, ``diff``, ``validate
  --from-cluster``;
* ``apply``: ``apply`` and ``delete`` (their preflight reads included);
* ``verify``: ``verify`` (its test namespace and pods, and the doctor rules it runs on a
  stuck pod).

The reads are those of ``cluster/snapshot.py`` (SOURCES), ``cluster/logs.py``,
``cluster/reader.py``, ``cluster/apply.py`` and ``verify/run.py``; tests/test_rbac.py checks
that every kind those modules LIST and every kind ``apply`` writes is here, and
tests/controlplane/test_rbac.py runs each command as a ServiceAccount bound to the printed
role and checks the API server's audit log for any request outside it. Secrets are never
asked for. Discovery (``/api``, ``/apis/...``) is listed although every authenticated user
has it from the built-in ``system:discovery`` role, so the printed role stands alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from eks_gpu.names import (
    GROUP_APIEXTENSIONS,
    GROUP_KARPENTER,
    GROUP_KARPENTER_AWS,
    GROUP_METRICS,
)

APPS = "apps"
CORE = ""
MODES = ("read", "apply", "verify")
COMMANDS: dict[str, tuple[str, ...]] = {
    "read": ("status", "doctor", "dump", "diff", "validate --from-cluster"),
    "apply": ("apply", "delete"),
    "verify": ("verify",),
}
DISCOVERY_URLS = ("/api", "/api/*", "/apis", "/apis/*")
WRITE_VERBS = ("create", "patch", "delete")
"""A server-side apply is a PATCH; the API server also checks ``create`` when the object
does not exist yet (apiserver endpoints/handlers/patch.go, PatchResource)."""


@dataclass(frozen=True)
class Permission:
    """``verbs`` on ``resource`` (a plural, or ``pods/log``) of API group ``group``, and why."""

    group: str
    resource: str
    verbs: tuple[str, ...]
    why: str

    @property
    def qualified(self) -> str:
        """``nodepools.karpenter.sh``, ``pods``: how the API server and our errors name it."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def allows(self, group: str, resource: str, verb: str) -> bool:
        return (group, resource) == (self.group, self.resource) and verb in self.verbs

    def rule(self) -> dict[str, list[str]]:
        """The ClusterRole rule: one per resource, so a 403's missing rule reads the same."""
        return {"apiGroups": [self.group], "resources": [self.resource], "verbs": list(self.verbs)}


def _p(group: str, resource: str, verbs: str, why: str) -> Permission:
    return Permission(group, resource, tuple(verbs.split(",")), why)


# The kinds ``apply`` writes (render/apply_order.py: everything rendered but the test pods).
WRITTEN: tuple[tuple[str, str], ...] = (
    (GROUP_KARPENTER_AWS, "ec2nodeclasses"),
    (GROUP_KARPENTER, "nodepools"),
    (CORE, "configmaps"),
    (APPS, "daemonsets"),
    (GROUP_KARPENTER, "nodeoverlays"),
)

READ: tuple[Permission, ...] = (
    _p(CORE, "nodes", "list,watch", "GPU nodes (one LIST; status --watch follows them)"),
    _p(CORE, "pods", "list,watch", "GPU requests and pending pods (status --watch follows)"),
    _p(CORE, "pods/log", "get", "doctor and dump read the device plugin's and Karpenter's logs"),
    _p(CORE, "events", "list", "doctor reads scheduling and launch failures from events"),
    _p(CORE, "configmaps", "get", "diff compares the device plugin's ConfigMap, by name"),
    _p(APPS, "daemonsets", "get,list", "the device plugin DaemonSet (diff GETs the rendered one)"),
    _p(APPS, "deployments", "list", "Karpenter's Deployment: its version and settings"),
    _p(GROUP_KARPENTER, "nodepools", "get,list", "NodePools (diff and validate GET ours)"),
    _p(GROUP_KARPENTER, "nodeclaims", "get,list,watch", "NodeClaims still launching"),
    _p(GROUP_KARPENTER, "nodeoverlays", "get,list", "NodeOverlays that change offerings"),
    _p(GROUP_KARPENTER_AWS, "ec2nodeclasses", "get,list", "EC2NodeClasses and their status"),
    _p(GROUP_APIEXTENSIONS, "customresourcedefinitions", "list", "installed Karpenter CRDs"),
    _p(GROUP_METRICS, "nodes", "list", "status -o wide: CPU and memory use (metrics-server)"),
)

APPLY: tuple[Permission, ...] = (
    _p(GROUP_APIEXTENSIONS, "customresourcedefinitions", "list", "preflight: served versions"),
    _p(APPS, "deployments", "list", "preflight: Karpenter's version and cluster name"),
    _p(CORE, "nodes", "list", "delete: the NodePool's nodes, to name the pods it would stop"),
    _p(CORE, "pods", "list", "delete: the GPU pods running on those nodes"),
    *(
        _p(group, plural, "get,create,patch,delete", "server-side apply; delete ours")
        for group, plural in WRITTEN
    ),
)

VERIFY: tuple[Permission, ...] = (
    _p(CORE, "namespaces", "get,list,create,patch,delete", "the run's test namespace"),
    _p(CORE, "pods", "list,create,patch", "the GPU test pods (and doctor's read of all pods)"),
    _p(CORE, "pods/log", "get", "the test pods' results"),
    _p(CORE, "configmaps", "create,patch", "the probe scripts the test pods run"),
    _p(CORE, "nodes", "list", "the pool's nodes: labels, taints, GPUs"),
    _p(CORE, "events", "list", "doctor on a stuck pod"),
    _p(APPS, "daemonsets", "list", "the device plugin is running on the pool's nodes"),
    _p(APPS, "deployments", "list", "doctor on a stuck pod"),
    _p(GROUP_KARPENTER, "nodepools", "get,list", "the pool is Ready"),
    _p(GROUP_KARPENTER, "nodeclaims", "list", "the pool's NodeClaims"),
    _p(GROUP_KARPENTER, "nodeoverlays", "list", "doctor on a stuck pod"),
    _p(GROUP_KARPENTER_AWS, "ec2nodeclasses", "get,list", "the EC2NodeClass is Ready"),
    _p(GROUP_APIEXTENSIONS, "customresourcedefinitions", "list", "doctor on a stuck pod"),
    _p(GROUP_METRICS, "nodes", "list", "doctor on a stuck pod"),
)

PERMISSIONS: dict[str, tuple[Permission, ...]] = {"read": READ, "apply": APPLY, "verify": VERIFY}


def permissions(mode: str) -> tuple[Permission, ...]:
    """The permissions of ``mode`` (one of :data:`MODES`)."""
    return PERMISSIONS[mode]


def allowed(mode: str, group: str, resource: str, verb: str) -> bool:
    """Whether ``mode``'s role grants ``verb`` on ``resource`` of ``group``."""
    return any(p.allows(group, resource, verb) for p in PERMISSIONS[mode])


def rules(mode: str) -> list[dict[str, list[str]]]:
    """``mode``'s ClusterRole rules: one per resource, then discovery."""
    listed: list[dict[str, list[str]]] = [p.rule() for p in PERMISSIONS[mode]]
    listed.append({"nonResourceURLs": list(DISCOVERY_URLS), "verbs": ["get"]})
    return listed


__all__ = [
    "COMMANDS",
    "DISCOVERY_URLS",
    "MODES",
    "PERMISSIONS",
    "WRITTEN",
    "Permission",
    "allowed",
    "permissions",
    "rules",
]
