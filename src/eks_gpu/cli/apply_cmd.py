"""``eks-gpu apply``: flags -> :func:`eks_gpu.commands.apply.apply` -> table/JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.cluster_writes import (
    CLUSTER_HELP,
    dry_run_option,
    outcome_table,
    terminal_prompt,
)
from eks_gpu.cli.params import cluster_options, render_source_options
from eks_gpu.errors import UsageError

if TYPE_CHECKING:
    from eks_gpu.commands.apply import ApplyResult, Confirm


def table(result: ApplyResult) -> str:
    """The preflight checks, then each object's outcome, then errors and the summary."""
    from eks_gpu.cli.table import format_table

    checks = [[c.name, c.status.upper(), c.detail] for c in result.preflight.checks]
    text = format_table(("CHECK", "STATUS", "DETAIL"), checks) + "\n"
    text += outcome_table(result.outcomes, result.dry_run)
    return text + f"\n{result.summary}\n"


def confirmer(yes: bool, dry_run: str) -> Confirm | None:
    """None (go ahead) with --yes or a dry run; a prompt on a terminal; else a usage error
    before anything is read, so a script without --yes fails fast."""
    if yes or dry_run != "none":
        return None
    prompt = terminal_prompt()
    if prompt is not None:
        return prompt
    raise UsageError(
        "apply writes to the cluster and stdin is not a terminal to ask on",
        hint="pass --yes, or --dry-run=client|server to see what it would do",
    )


@click.command()
@render_source_options("Apply the objects", CLUSTER_HELP)
@cluster_options()
@dry_run_option("the API server checks and defaults everything (dryRun=All), persists nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before writing.")
@click.option(
    "--force-conflicts",
    is_flag=True,
    help="Take over fields another field manager (kubectl, Helm, ...) owns.",
)
@click.option(
    "--skip-cluster-name-check",
    is_flag=True,
    help="Apply even when the cluster's name cannot be found out (reported as skipped).",
)
@click.option(
    "-o", "--output", type=click.Choice(("table", "json")), default="table", show_default=True
)
def apply(
    config_path: Path | None,
    profile: str | None,
    cluster_name: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    dry_run: str,
    yes: bool,
    force_conflicts: bool,
    skip_cluster_name_check: bool,
    output: str,
) -> int:
    """Apply the EC2NodeClass, NodePool, device plugin and NodeOverlays to the cluster.

    Preflight first (Karpenter's CRDs serve what is rendered; the cluster's name, from
    Karpenter's CLUSTER_NAME or the kubeconfig's EKS ARN, matches the config's discovery
    tags; validate against the cluster's CRDs finds no error), then server-side apply with
    field manager eks-gpu, in dependency order. The smoke-test pods are not applied.
    Exit 0 when applied (or unchanged), 1 when the preflight refused, 2 for bad flags,
    3 when the cluster refused a write (the report says which objects were applied).

    \b
    Examples:
      eks-gpu apply -c eks-gpu.yaml --dry-run=server
      eks-gpu apply -c eks-gpu.yaml --yes
      eks-gpu apply --profile inference --cluster-name prod --context prod --yes -o json
    """
    from eks_gpu.cli.output import emit, say
    from eks_gpu.commands.apply import apply as run
    from eks_gpu.commands.config_source import RenderSource

    result = run(
        RenderSource(config_path, profile, cluster_name),
        kubeconfig=kubeconfig,
        kube_context=kube_context,
        dry_run=dry_run,
        force_conflicts=force_conflicts,
        skip_cluster_name_check=skip_cluster_name_check,
        confirm=confirmer(yes, dry_run),
        progress=lambda line: say(line, err=True),
    )
    return emit(result, output, {"table": table})
