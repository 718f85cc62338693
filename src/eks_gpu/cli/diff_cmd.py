"""``eks-gpu diff``: flags -> :func:`eks_gpu.commands.diff.diff` -> unified diff."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.cluster_writes import CLUSTER_HELP
from eks_gpu.cli.params import cluster_options, render_source_options

if TYPE_CHECKING:
    from eks_gpu.commands.diff import DiffResult


def text(result: DiffResult) -> str:
    """The unified diffs (empty when the cluster matches the render)."""
    return result.text


@click.command()
@render_source_options("Diff the objects", CLUSTER_HELP)
@cluster_options()
@click.option(
    "-o",
    "--output",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="text: unified diffs; json: each object's state and diff.",
)
def diff(
    config_path: Path | None,
    profile: str | None,
    cluster_name: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    output: str,
) -> int:
    """Show what apply would change: a unified diff of live against rendered objects.

    Only the fields eks-gpu renders are compared (status, server-managed metadata and
    defaults the server adds are left out); objects not in the cluster show as all added.
    Exit 0 when nothing differs, 1 when something does (as kubectl diff), 2 for bad flags,
    3 when the cluster cannot be read.

    \b
    Examples:
      eks-gpu diff -c eks-gpu.yaml
      eks-gpu diff --profile inference --cluster-name prod --context prod
      eks-gpu diff -o json | jq '.objects[] | select(.state != "same") | .object'
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.config_source import RenderSource
    from eks_gpu.commands.diff import diff as run

    result = run(
        RenderSource(config_path, profile, cluster_name),
        kubeconfig=kubeconfig,
        kube_context=kube_context,
    )
    return emit(result, output, {"text": text})
