"""``eks-gpu dump``: flags -> :func:`eks_gpu.commands.dump.dump` -> a file, or stdout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import cluster_options
from eks_gpu.errors import UsageError

if TYPE_CHECKING:
    from eks_gpu.commands.dump import DumpResult

FORMAT_WORDS = ("json", "yaml", "yml", "wide", "table")


def check_output(output: Path | None) -> None:
    """``-o json`` here would write a file named ``json``: say what ``-o`` means instead."""
    if output is not None and str(output) in FORMAT_WORDS and not output.exists():
        raise UsageError(
            f"-o names the file to write, not a format: -o {output}",
            hint="write a file with -o dump.json (or .yaml), or print JSON with --format json",
        )


def stdout_text(result: DumpResult) -> str:
    """The dump on stdout, or nothing when it went to a file (the summary says where)."""
    from eks_gpu.commands.dump import dump_text

    return "" if result.written else dump_text(result.to_json(), result.fmt)


@click.command()
@cluster_options()
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the dump to this file (atomically), JSON when it ends in .json, else YAML "
    "(default: YAML on stdout).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("yaml", "json")),
    help="yaml or json, whatever -o's suffix says.",
)
@click.option(
    "--tail-lines",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Lines of each device plugin and Karpenter controller log to keep.",
)
@click.option("--no-logs", is_flag=True, help="Read no logs (only the LISTs).")
def dump(
    kubeconfig: str | None,
    kube_context: str | None,
    output: Path | None,
    fmt: str | None,
    tail_lines: int,
    no_logs: bool,
) -> int:
    """Dump what the analysers read from the cluster into one kind: List.

    Nodes, non-terminal pods, DaemonSets, Deployments, events, Karpenter's NodePools,
    EC2NodeClasses, NodeClaims, NodeOverlays and CRD versions, node metrics when served: one
    paginated LIST per kind, no call per node or pod. Plus the last lines of the NVIDIA device
    plugin's and the Karpenter controller's logs. Secrets are never read; env values,
    last-applied annotations and managedFields are removed. Read it back with --from.

    \b
    Examples:
      eks-gpu dump -o dump.json
      eks-gpu dump --context prod --tail-lines 500 > dump.yaml
      eks-gpu simulate --workload job.yaml --from dump.json
    """
    from eks_gpu.cli.output import emit, say
    from eks_gpu.commands.cluster_source import ClusterSource
    from eks_gpu.commands.dump import dump as run

    check_output(output)
    result = run(
        ClusterSource(kubeconfig=kubeconfig, kube_context=kube_context),
        output=output,
        fmt=fmt,
        tail_lines=tail_lines,
        logs=not no_logs,
        say=lambda line: say(line, err=True),  # progress: left out under --quiet
    )
    return emit(result, result.fmt, {result.fmt: stdout_text})
