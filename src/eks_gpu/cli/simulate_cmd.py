"""``eks-gpu simulate``: flags -> :func:`eks_gpu.commands.simulate.simulate` -> table/JSON."""

from __future__ import annotations

from pathlib import Path

import click

from eks_gpu.cli.params import comma_list, eks_admission_option, render_source_options


@click.command()
@render_source_options("NodePools")
@click.option(
    "--manifests",
    multiple=True,
    metavar="FILE|DIR",
    help="NodePool/EC2NodeClass/DaemonSet YAML instead of the config.",
)
@click.option(
    "--workload",
    "workloads",
    multiple=True,
    metavar="FILE|DIR",
    help="Pods, Deployments, StatefulSets, ReplicaSets, Jobs, DaemonSets.",
)
@click.option(
    "--from",
    "snapshot",
    metavar="SNAPSHOT",
    help="Existing nodes and pods: `kubectl get nodes,pods -A -o yaml` output.",
)
@click.option("--zones", multiple=True, metavar="A[,B...]", help="Zones to offer.")
@click.option("--region", help="Price region (bundled: us-east-1).")
@eks_admission_option
@click.option(
    "-o", "--output", type=click.Choice(("table", "json")), default="table", show_default=True
)
def simulate(
    config_path: Path | None,
    profile: str | None,
    cluster_name: str | None,
    manifests: tuple[str, ...],
    workloads: tuple[str, ...],
    snapshot: str | None,
    zones: tuple[str, ...],
    region: str | None,
    eks_admission: bool,
    output: str,
) -> int:
    """Simulate what Karpenter would launch for workloads, and why pods stay Pending.

    Exit 0 when every pod is placed and GPU pools are isolated, 1 otherwise.

    \b
    Examples:
      eks-gpu simulate --workload training-job.yaml
      eks-gpu simulate --manifests karpenter/ --workload app/ --zones us-west-2a,us-west-2b
      eks-gpu simulate --workload new.yaml --from cluster-state.yaml -o json
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.cli.simulation_text import simulation_text
    from eks_gpu.commands.config_source import RenderSource
    from eks_gpu.commands.simulate import simulate as run

    result = run(
        source=RenderSource(config_path, profile, cluster_name),
        manifests=manifests,
        workloads=workloads,
        snapshot=snapshot,
        zones=comma_list(zones),
        region=region,
        eks_admission=eks_admission,
    )
    return emit(result, output, {"table": simulation_text})
