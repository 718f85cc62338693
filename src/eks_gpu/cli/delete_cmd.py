"""``eks-gpu delete``: flags -> :func:`eks_gpu.commands.delete.delete` -> table/JSON."""

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

if TYPE_CHECKING:
    from eks_gpu.commands.delete import Confirm, DeleteResult


def table(result: DeleteResult) -> str:
    """Each object's outcome, the GPU pods its NodePool's nodes run, and errors."""
    from eks_gpu.cli.table import format_table

    text = outcome_table(result.outcomes, result.dry_run)
    if result.gpu_pods:
        rows = [[p.nodepool, p.node, p.namespace, p.name] for p in result.gpu_pods]
        text += "\nrunning GPU pods that deleting the NodePool drains:\n"
        text += format_table(("NODEPOOL", "NODE", "NAMESPACE", "POD"), rows)
    return text


def confirmer(yes: bool) -> Confirm | None:
    """None (go ahead) with --yes; a prompt on a terminal; else "no" (the plan is printed)."""
    if yes:
        return None
    return terminal_prompt() or (lambda _question: False)


@click.command()
@render_source_options("Delete the objects", CLUSTER_HELP)
@cluster_options()
@dry_run_option("the API server checks the deletes (dryRun=All), deletes nothing.")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@click.option(
    "-o", "--output", type=click.Choice(("table", "json")), default="table", show_default=True
)
def delete(
    config_path: Path | None,
    profile: str | None,
    cluster_name: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    dry_run: str,
    yes: bool,
    output: str,
) -> int:
    """Delete the config's objects from the cluster: only those labelled managed-by eks-gpu.

    Objects of the same name without the label are left alone ("not ours"). Deleting a
    NodePool drains its nodes: the running GPU pods on them are listed first, and nothing is
    deleted without --yes (or a yes at the prompt on a terminal). Exit 0 when done, 1 when
    not confirmed, 2 for bad flags, 3 when the cluster refused.

    \b
    Examples:
      eks-gpu delete -c eks-gpu.yaml --dry-run=client
      eks-gpu delete -c eks-gpu.yaml --yes
    """
    from eks_gpu.cli.output import emit, say
    from eks_gpu.commands.config_source import RenderSource
    from eks_gpu.commands.delete import delete as run

    result = run(
        RenderSource(config_path, profile, cluster_name),
        kubeconfig=kubeconfig,
        kube_context=kube_context,
        dry_run=dry_run,
        confirm=confirmer(yes),
        progress=lambda line: say(line, err=True),
    )
    return emit(result, output, {"table": table})
