"""``eks-gpu validate``: flags -> :func:`eks_gpu.commands.validate.validate` -> table/JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import eks_admission_option, render_source_options

if TYPE_CHECKING:
    from eks_gpu.commands.validate import ValidationResult

SEVERITY_COLOURS = {"error": "red", "warning": "yellow", "info": "blue"}


def table(report: ValidationResult, wide: bool = False) -> str:
    """Findings as a table, errors first (severity coloured where colour is on), then a
    summary line; fitted to the terminal unless ``wide``."""
    from eks_gpu.cli.output import paint, plural
    from eks_gpu.cli.table import format_table

    rows = [
        [f.severity.upper(), f.rule, f.object, f.path, f.message, f.fix] for f in report.findings
    ]
    headers = ("SEVERITY", "RULE", "OBJECT", "PATH", "MESSAGE", "FIX")
    text = format_table(headers, rows, wide=wide) if rows else ""
    for severity, colour in SEVERITY_COLOURS.items():
        label = severity.upper()
        text = text.replace(f"\n{label} ", "\n" + paint(label, colour) + " ")
    lines = [f"skipped: {item}" for item in report.skipped]
    counts = [plural(report.count("error"), "error"), plural(report.count("warning"), "warning")]
    summary = ", ".join([*counts, f"{report.count('info')} info"])
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
    "and warn about fields newer than it. Default: the newest supported release.",
)
@click.option(
    "--skip-crd-checks",
    is_flag=True,
    help="Do not check Karpenter objects against CRDs (reported as skipped); without it, "
    "CRDs that cannot be had exit 3.",
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
    "--allow-empty",
    is_flag=True,
    help="Accept files or stdin that hold no object (by default an error: exit 2).",
)
@eks_admission_option
@click.option(
    "-o",
    "--output",
    type=click.Choice(("table", "wide", "json", "sarif")),
    default="table",
    show_default=True,
    help="table fits the terminal; wide keeps every cell whole; sarif: SARIF 2.1.0 for "
    "GitHub code scanning (docs/ci.md).",
)
def validate(
    paths: tuple[str, ...],
    config_path: Path | None,
    profile: str | None,
    cluster_name: str | None,
    crd_paths: tuple[str, ...],
    karpenter_version: str | None,
    skip_crd_checks: bool,
    from_cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    kubernetes_version: str,
    allow_empty: bool,
    eks_admission: bool,
    output: str,
) -> int:
    """Validate Karpenter and Kubernetes manifests offline, plus GPU lint rules.

    With no FILE, validates what `eks-gpu render` would produce. Files may hold several
    YAML documents or a `kind: List`; folders are read recursively; `-` reads stdin.
    Exit 0 when there are no errors, 1 when there are, 2 for unreadable input,
    3 when --from-cluster cannot read the cluster or the Karpenter CRDs cannot be had.

    \b
    Examples:
      eks-gpu validate --karpenter-version v1.14.1
      eks-gpu validate nodepool.yaml --from-cluster --context prod
      eks-gpu validate manifests/ --crds ../karpenter/pkg/apis/crds/
      kubectl get nodepools -o yaml | eks-gpu validate - -o json
      eks-gpu validate manifests/ -o wide
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.config_source import RenderSource
    from eks_gpu.commands.validate import validate as run

    result = run(
        paths,
        source=RenderSource(config_path, profile, cluster_name),
        crd_paths=crd_paths,
        karpenter_version=karpenter_version,
        from_cluster=from_cluster,
        kubeconfig=kubeconfig,
        kube_context=kube_context,
        kubernetes_version=kubernetes_version,
        eks_admission=eks_admission,
        skip_crd_checks=skip_crd_checks,
        allow_empty=allow_empty,
    )
    from eks_gpu.cli.sarif import sarif_text

    formats = {"table": table, "wide": lambda r: table(r, wide=True), "sarif": sarif_text}
    return emit(result, output, formats)
