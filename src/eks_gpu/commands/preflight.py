"""``apply``'s preflight: what must hold before anything is written, each a :class:`Check`.

1. Karpenter's CRDs are installed and serve every Karpenter apiVersion we render
   (``karpenter.sh/v1``, ``karpenter.k8s.aws/v1``, ``karpenter.sh/v1alpha1`` for NodeOverlays);
   the Karpenter version is reported (the controller image's tag).
2. The cluster is the one the config names: the EC2NodeClass's discovery tags
   (``karpenter.sh/discovery: NAME``) and its node role are per cluster, so applying another
   cluster's config finds no subnets and launches nothing. The cluster's own name comes from
   Karpenter's Deployment (its ``CLUSTER_NAME`` env, what the Helm chart's
   ``settings.clusterName`` sets), else the kubeconfig (an EKS ARN
   ``arn:aws:eks:REGION:ACCOUNT:cluster/NAME`` as context or cluster name, or the exec
   plugin's ``--cluster-name NAME``). When neither says, the check did not run, and apply
   refuses unless ``--skip-cluster-name-check``: never a silent pass.
3. ``validate`` against the cluster's own CRDs finds no error.

The decisions are pure functions over what was read, so they are unit-tested without a
cluster; :func:`run_preflight` does the reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from eks_gpu.errors import ClusterAccessError, UsageError
from eks_gpu.manifests import cluster_state
from eks_gpu.names import KARPENTER_GROUPS

if TYPE_CHECKING:
    from eks_gpu.cluster.client import Client
    from eks_gpu.commands.config_source import RenderSource
    from eks_gpu.validate.findings import Finding

Obj = dict[str, Any]
Status = Literal["pass", "fail", "not-run", "skipped"]
CLUSTER_NAME_ENV = "CLUSTER_NAME"
EKS_ARN = re.compile(r"^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster/([0-9A-Za-z][\w-]{0,99})$")
NAME_FLAGS = ("--cluster-name", "--cluster-id", "-i")  # aws eks get-token, aws-iam-authenticator
SKIP_FLAG = "--skip-cluster-name-check"
DryRun = Literal["none", "client", "server"]
DRY_RUNS: tuple[DryRun, ...] = ("none", "client", "server")


def check_dry_run(value: str) -> DryRun:
    """``--dry-run`` as kubectl spells it: none, client (reads only) or server (dryRun=All)."""
    for choice in DRY_RUNS:
        if value == choice:
            return choice
    raise UsageError(
        f"--dry-run={value}: not one of {', '.join(DRY_RUNS)}", hint="e.g. --dry-run=server"
    )


@dataclass(frozen=True)
class Check:
    """One preflight check: its name, ``pass``/``fail``/``not-run``/``skipped`` (by the user's
    flag), and what it found."""

    name: str
    status: Status
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class Preflight:
    """The checks, and the Karpenter version found (None: could not tell)."""

    checks: tuple[Check, ...]
    karpenter_version: str | None

    @property
    def ok(self) -> bool:
        """Whether apply may go ahead: every check passed, or was skipped by the user."""
        return all(check.status in ("pass", "skipped") for check in self.checks)


def served_versions(crds: Iterable[Obj]) -> set[str]:
    """``group/version`` of every served version of ``crds``."""
    out = set()
    for crd in crds:
        spec = crd.get("spec") or {}
        for version in spec.get("versions") or []:
            if version.get("served"):
                out.add(f"{spec.get('group')}/{version.get('name')}")
    return out


def crd_check(crds: Iterable[Obj], objects: Iterable[Obj]) -> Check:
    """Every Karpenter apiVersion of ``objects`` is served by one of ``crds``."""
    needed = sorted(
        {str(o.get("apiVersion")) for o in objects}
        & {f"{g}/{v}" for g in KARPENTER_GROUPS for v in ("v1", "v1alpha1", "v1beta1")}
    )
    served = served_versions(crds)
    absent = [api for api in needed if api not in served]
    if absent:
        offered = ", ".join(sorted(served)) or "none"
        return Check(
            "karpenter-crds",
            "fail",
            f"the cluster does not serve {', '.join(absent)} (Karpenter CRD versions served: "
            f"{offered}); install or upgrade Karpenter v1 and its CRDs (NodeOverlay needs "
            "v1.14+ with the NodeOverlay feature gate)",
        )
    return Check("karpenter-crds", "pass", f"served: {', '.join(needed)}")


def image_tag(image: str) -> str | None:
    """``1.14.1`` of ``public.ecr.aws/karpenter/controller:1.14.1@sha256:...`` (None untagged):
    :func:`eks_gpu.manifests.cluster_state.image_tag`, the one dump reads too."""
    return cluster_state.image_tag(image) or None


def _containers(deployment: Obj) -> list[Obj]:
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [c for c in spec.get("containers") or [] if isinstance(c, dict)]


def karpenter_version(deployments: Sequence[Obj]) -> str | None:
    """The tag of the Karpenter controller image (the container named ``controller``, else
    the first), as :func:`eks_gpu.manifests.cluster_state.karpenter_version` reads it."""
    return cluster_state.karpenter_version(deployments) or None


def deployment_cluster_names(deployments: Sequence[Obj]) -> list[tuple[str, str]]:
    """``(where, name)`` for each Karpenter Deployment with a literal ``CLUSTER_NAME`` env."""
    found = []
    for deployment in deployments:
        meta = deployment.get("metadata") or {}
        where = f"Deployment {meta.get('namespace')}/{meta.get('name')} env {CLUSTER_NAME_ENV}"
        for container in _containers(deployment):
            for env in container.get("env") or []:
                if env.get("name") == CLUSTER_NAME_ENV and env.get("value"):
                    found.append((where, str(env["value"])))
    return found


def _flag_value(args: Sequence[str]) -> str | None:
    for index, arg in enumerate(args):
        for flag in NAME_FLAGS:
            if arg == flag and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(f"{flag}="):
                return arg.split("=", 1)[1]
    return None


def kubeconfig_cluster_names(
    context: str, cluster: str, exec_args: Sequence[str]
) -> list[tuple[str, str]]:
    """``(where, name)`` from the kubeconfig: an EKS ARN as context or cluster name (what
    ``aws eks update-kubeconfig`` writes), and the exec plugin's ``--cluster-name``."""
    found = []
    for where, value in (("kubeconfig context", context), ("kubeconfig cluster", cluster)):
        match = EKS_ARN.match(value)
        if match:
            found.append((f"{where} {value}", match.group(1)))
    flagged = _flag_value(exec_args)
    if flagged:
        found.append(("kubeconfig exec plugin args", flagged))
    return found


def cluster_name_check(
    expected: str, deployment: Sequence[tuple[str, str]], kubeconfig: Sequence[tuple[str, str]]
) -> Check:
    """The config's cluster name against what the cluster says: Karpenter's Deployment when
    it says, else the kubeconfig; ``not-run`` when neither says."""
    sources = list(deployment) or list(kubeconfig)
    if not sources:
        return Check(
            "cluster-name",
            "not-run",
            "cannot tell the cluster's name: no Karpenter Deployment with a CLUSTER_NAME env "
            "could be read, and the kubeconfig holds no EKS ARN or --cluster-name; pass "
            f"{SKIP_FLAG} if you are sure the discovery tags name this cluster",
        )
    wrong = [(where, name) for where, name in sources if name != expected]
    if wrong:
        where, name = wrong[0]
        return Check(
            "cluster-name",
            "fail",
            f"the config is for cluster {expected!r} (its discovery tags and node role), but "
            f"this cluster is {name!r} ({where}); pass --cluster-name {name}, or pick the "
            "right cluster with --context",
        )
    where = "; ".join(w for w, _ in sources)
    return Check("cluster-name", "pass", f"{expected} ({where})")


def skipped_name_check() -> Check:
    """The name check as reported when the user skipped it."""
    return Check("cluster-name", "skipped", f"not checked ({SKIP_FLAG})")


def validation_check(findings: Sequence[Finding], skipped: Sequence[str] = ()) -> Check:
    """``validate`` against the cluster's CRDs (its findings, the checks it skipped): no
    errors."""
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        shown = "; ".join(f"{f.object} {f.path}: {f.message}" for f in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return Check(
            "validate",
            "fail",
            f"{len(errors)} validation errors: {shown}{more}; run `eks-gpu validate "
            "--from-cluster` for all of them",
        )
    warnings = sum(1 for f in findings if f.severity == "warning")
    notes = f"; skipped: {'; '.join(skipped)}" if skipped else ""
    return Check("validate", "pass", f"no errors, {warnings} warnings{notes}")


def _kubeconfig_names(client: Client) -> list[tuple[str, str]]:
    config = client.config
    exec_args: list[str] = []
    if config.user is not None and config.user.exec is not None:
        exec_args = [str(a) for a in config.user.exec.args or []]
    return kubeconfig_cluster_names(
        str(config.context_name), str(config.context.cluster or ""), exec_args
    )


def _deployments(client: Client) -> tuple[list[Obj], str | None]:
    """Karpenter's Deployments, or why they could not be read (a 403 is not fatal here)."""
    from eks_gpu.cluster.apply import karpenter_deployments

    try:
        return karpenter_deployments(client), None
    except ClusterAccessError as error:
        if error.code != 403:
            raise
        return [], error.message


def run_preflight(
    client: Client,
    objects: Sequence[Obj],
    cluster_name: str,
    *,
    validation: Check,
    skip_name_check: bool = False,
) -> Preflight:
    """Read what the checks need (the CRDs, Karpenter's Deployment) and decide;
    ``validation`` is :func:`validation_check` of the caller's ``validate`` run."""
    from eks_gpu.cluster.reader import installed_crds

    crds = installed_crds(client)
    deployments, unreadable = _deployments(client)
    if skip_name_check:
        name = skipped_name_check()
    else:
        name = cluster_name_check(
            cluster_name, deployment_cluster_names(deployments), _kubeconfig_names(client)
        )
        if unreadable and name.status == "not-run":
            name = Check(name.name, name.status, f"{name.detail} ({unreadable})")
    checks = (crd_check(crds, objects), name, validation)
    return Preflight(checks, karpenter_version(deployments))


@dataclass(frozen=True)
class ApplySet:
    """What ``apply`` writes (dependency order, test pods left out), for which cluster, from
    which config."""

    objects: tuple[Obj, ...]
    cluster_name: str
    source: str


def apply_set(source: RenderSource) -> ApplySet:
    """Render ``source`` for ``apply``/``diff``/``delete``: a real cluster name is required
    (it is in the discovery tags), never the example one."""
    from eks_gpu.commands.config_source import require_cluster_name, resolve_config
    from eks_gpu.render.apply_order import apply_objects
    from eks_gpu.render.bundle import render_all

    loaded = resolve_config(source.config_path, source.profile)
    name = require_cluster_name(loaded.config, source.cluster_name)
    objects = apply_objects(render_all(loaded.config, name))
    return ApplySet(tuple(objects), name, loaded.source)


__all__ = [
    "DRY_RUNS",
    "SKIP_FLAG",
    "ApplySet",
    "Check",
    "DryRun",
    "Preflight",
    "apply_set",
    "check_dry_run",
    "cluster_name_check",
    "crd_check",
    "deployment_cluster_names",
    "image_tag",
    "karpenter_version",
    "kubeconfig_cluster_names",
    "run_preflight",
    "served_versions",
    "skipped_name_check",
    "validation_check",
]
