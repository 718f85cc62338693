"""``eks-gpu validate``: offline validation as strict as the API server, plus GPU lint rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import render_source_options

if TYPE_CHECKING:
    from eks_gpu.cluster.client import Client
    from eks_gpu.manifests import Manifest
    from eks_gpu.validate.crds import CrdSet
    from eks_gpu.validate.engine import Report

SEVERITY_COLOURS = {"error": "red", "warning": "yellow", "info": "blue"}
EXAMPLE_CLUSTER = "example-cluster"
NO_CRDS = (
    "no Karpenter CRDs available offline; pass --karpenter-version v1.14.1 "
    "(downloaded once, then cached) or --crds DIR"
)


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
    crd_paths: tuple[str, ...], karpenter_version: str | None, cluster: Client | None = None
) -> tuple[CrdSet | None, str | None, str | None]:
    """(CRDs, why they are missing, the Karpenter version to warn against)."""
    from eks_gpu.loaders.crd_release import (
        crds_from_paths,
        karpenter_crds,
        newest_cached_version,
    )
    from eks_gpu.validate.crds import CrdUnavailable, check_version

    target = check_version(karpenter_version) if karpenter_version else None
    if cluster is not None:
        return (*cluster_crds(cluster), target)
    if crd_paths:
        return crds_from_paths(crd_paths), None, target
    version = target or newest_cached_version()
    if version is None:
        return None, NO_CRDS, None
    try:
        return karpenter_crds(version, download=target is not None), None, version
    except CrdUnavailable as error:
        return None, f"Karpenter {version} CRDs unavailable: {error}", version


def rendered_manifests(
    config_path: Path | None, profile: str | None, cluster: str | None
) -> list[Manifest]:
    """What ``render`` would produce, as manifests (the default input)."""
    from eks_gpu.cli.config_source import resolve_config
    from eks_gpu.manifests import Manifest
    from eks_gpu.render.bundle import render_all

    loaded = resolve_config(config_path, profile)
    name = cluster or loaded.config.cluster_name or EXAMPLE_CLUSTER
    items = render_all(loaded.config, name)
    return [
        Manifest(item.obj, f"render ({loaded.source})", index) for index, item in enumerate(items)
    ]


def table(report: Report) -> str:
    """Findings as a table, errors first, then a summary line."""
    from eks_gpu.cli.table import format_table

    rows = [
        [f.severity.upper(), f.rule, f.object, f.path, f.message, f.fix] for f in report.findings
    ]
    text = (
        format_table(("SEVERITY", "RULE", "OBJECT", "PATH", "MESSAGE", "FIX"), rows) if rows else ""
    )
    for severity, colour in SEVERITY_COLOURS.items():
        text = text.replace(
            f"\n{severity.upper()} ", "\n" + click.style(severity.upper(), fg=colour) + " "
        )
    lines = [f"skipped: {item}" for item in report.skipped]
    counts = [f"{report.count(s)} {s}{'s' if s != 'info' else ''}" for s in SEVERITY_COLOURS]
    summary = ", ".join(counts)
    return text + "".join(line + "\n" for line in lines) + summary + "\n"


@click.command()
@click.argument("paths", nargs=-1, metavar="[FILE|DIR|-]...")
@render_source_options("With no files: the objects")
@click.option(
    "--crds",
    "crd_paths",
    multiple=True,
    metavar="FILE|DIR",
    help="CRD files to validate custom resources against.",
)
@click.option(
    "--karpenter-version",
    metavar="vX.Y.Z",
    help="Validate against this Karpenter release's CRDs (downloaded once, cached), "
    "and warn about fields newer than it.",
)
@click.option(
    "--from-cluster",
    is_flag=True,
    help="Use the CRDs installed in the cluster, and check transition rules (oldSelf) "
    "against the live objects.",
)
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    help="With --from-cluster: kubeconfig file (default: $KUBECONFIG, ~/.kube/config).",
)
@click.option("--context", "kube_context", help="With --from-cluster: kubeconfig context.")
@click.option(
    "--kubernetes-version",
    default="1.33",
    show_default=True,
    help="Kubernetes version for core object schemas.",
)
@click.option(
    "-o", "--output", type=click.Choice(("table", "json")), default="table", show_default=True
)
def validate(
    paths: tuple[str, ...],
    config_path: Path | None,
    profile: str | None,
    cluster_name: str | None,
    crd_paths: tuple[str, ...],
    karpenter_version: str | None,
    from_cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    kubernetes_version: str,
    output: str,
) -> int:
    """Validate Karpenter and Kubernetes manifests offline, plus GPU lint rules.

    With no FILE, validates what `eks-gpu render` would produce. Files may hold several
    YAML documents or a `kind: List`; folders are read recursively; `-` reads stdin.
    Exit 0 when there are no errors, 1 when there are, 2 for unreadable input,
    3 when --from-cluster cannot read the cluster.

    \b
    Examples:
      eks-gpu validate --karpenter-version v1.14.1
      eks-gpu validate nodepool.yaml --from-cluster --context prod
      eks-gpu validate manifests/ --crds ../karpenter/pkg/apis/crds/
      kubectl get nodepools -o yaml | eks-gpu validate - -o json
    """
    from eks_gpu.errors import UsageError
    from eks_gpu.loaders.manifest_files import load_manifests
    from eks_gpu.validate.core import check_kubernetes_version
    from eks_gpu.validate.engine import Options, validate_manifests

    if paths and (config_path or profile or cluster_name):
        raise UsageError(
            "-c/--profile/--cluster-name choose what to render; they do not apply to files",
            hint="drop them to validate the files, or drop the files to validate the render",
        )
    if from_cluster and crd_paths:
        raise UsageError("--crds and --from-cluster both choose the CRDs", hint="keep one of them")
    if (kubeconfig or kube_context) and not from_cluster:
        raise UsageError(
            "--kubeconfig/--context choose the cluster of --from-cluster",
            hint="add --from-cluster, or drop them",
        )
    version = check_kubernetes_version(kubernetes_version)
    manifests = (
        load_manifests(paths) if paths else rendered_manifests(config_path, profile, cluster_name)
    )
    client = None
    if from_cluster:
        from eks_gpu.cluster.client import connect

        client = connect(kubeconfig, kube_context)
    crds, missing, target = choose_crds(crd_paths, karpenter_version, client)
    live = None
    if client is not None:
        from eks_gpu.cluster.reader import live_lookup

        live = live_lookup(client)
    report = validate_manifests(manifests, Options(crds, missing, version, target, live))
    if output == "json":
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(table(report), nl=False)
    return 1 if report.count("error") else 0
