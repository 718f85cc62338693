"""``eks-gpu verify``: flags -> :func:`eks_gpu.commands.verify.verify` -> a step table or the
VerifyReport JSON document; live progress goes to stderr, so ``-o json`` stays clean."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import cluster_options, comma_list, duration_seconds, render_source_options

if TYPE_CHECKING:
    from eks_gpu.commands.verify import VerifyResult


def table(result: VerifyResult) -> str:
    """One row per step, then each failed step's evidence, cleanup and the verdict."""
    from eks_gpu.cli.table import format_table

    rows = [[s.step, s.status.upper(), s.summary] for s in result.steps]
    text = format_table(("STEP", "STATUS", "RESULT"), rows) + "\n"
    for step in result.steps:
        if step.details and not step.passed:
            text += f"\n{step.step}:\n" + "".join(f"  {line}\n" for line in step.details)
    text += f"\ncleanup: {result.cleanup}\n"
    count = sum(1 for s in result.steps if s.passed)
    verdict = "verified" if result.ok else "NOT verified"
    return (
        text + f"{verdict}: {count} of {len(result.steps)} steps passed (NodePool/{result.pool})\n"
    )


@click.command()
@render_source_options("Verify the pool")
@cluster_options()
@click.option(
    "--only",
    multiple=True,
    metavar="STEP[,STEP]",
    help="Steps to run: objects, device-plugin, nodes, simple, pytorch, nvme (default: all).",
)
@click.option(
    "--timeout",
    default="20m",
    show_default=True,
    help="How long the test pods may take, GPU node launch included (s, m, h).",
)
@click.option(
    "--stall-after",
    default="2m",
    show_default=True,
    help="A test pod Pending this long with no NodeClaim made for it is stuck (s, m, h).",
)
@click.option("--keep", is_flag=True, help="Leave the test namespace and pods for inspection.")
@click.option(
    "-o", "--output", type=click.Choice(("table", "json")), default="table", show_default=True
)
def verify(
    config_path: Path | None,
    profile: str | None,
    cluster_name: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    only: tuple[str, ...],
    timeout: str,
    stall_after: str,
    keep: bool,
    output: str,
) -> int:
    """Verify the GPU pool as the guide does, automated: objects Ready, device plugin ready on
    every GPU node, nodes labelled/tainted with nvidia.com/gpu allocatable, then the three
    test pods (nvidia-smi, PyTorch, GPU + local NVMe) run and their output judged.

    The test pods run in a namespace of their own, deleted afterwards (also on failure,
    timeout and Ctrl-C) unless --keep. A stuck pod is explained by the doctor rules.
    Exit 0 only when every selected step passed; 1 otherwise; 130 when interrupted.

    \b
    Examples:
      eks-gpu verify -c eks-gpu.yaml
      eks-gpu verify --only objects,device-plugin,nodes
      eks-gpu verify --only simple,pytorch --timeout 30m -o json
    """
    from eks_gpu.cli.output import emit, say
    from eks_gpu.commands.cluster_source import ClusterSource
    from eks_gpu.commands.config_source import RenderSource
    from eks_gpu.commands.verify import verify as run

    result = run(
        RenderSource(config_path, profile, cluster_name),
        ClusterSource(None, kubeconfig, kube_context),
        only=comma_list(only),
        timeout_s=duration_seconds(timeout, "--timeout"),
        stall_after_s=duration_seconds(stall_after, "--stall-after"),
        keep=keep,
        say=lambda line: say(line, err=True),
    )
    return emit(result, output, {"table": table})
