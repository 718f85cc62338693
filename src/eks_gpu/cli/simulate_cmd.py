"""``eks-gpu simulate``: what Karpenter would launch for given workloads, offline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from eks_gpu.cli.params import comma_list, render_source_options

if TYPE_CHECKING:
    from eks_gpu.scheduling.simulate import Inputs, Simulation
    from eks_gpu.scheduling.snapshot import SnapshotNode
    from eks_gpu.scheduling.workloads import SimPod

POOL_KINDS = ("NodePool", "EC2NodeClass")


def pool_objects(
    manifests: Sequence[str], config_path: Path | None, profile: str | None, cluster: str | None
) -> tuple[list[dict[str, Any]], str]:
    """NodePools, EC2NodeClasses and DaemonSets from ``--manifests``, else from the config."""
    from eks_gpu.loaders.manifest_files import load_manifests

    if manifests:
        objects = [m.obj for m in load_manifests(manifests)]
        return objects, f"--manifests {', '.join(manifests)}"
    from eks_gpu.cli.validate_cmd import rendered_manifests

    rendered = rendered_manifests(config_path, profile, cluster)
    return [m.obj for m in rendered], rendered[0].source if rendered else "render"


def build_inputs(
    objects: Sequence[dict[str, Any]],
    workloads: Sequence[dict[str, Any]],
    snapshot: str | None,
    zones: tuple[str, ...],
    region: str | None,
) -> Inputs:
    """The simulator's inputs: pools and DaemonSets from ``objects``, pods from ``workloads``."""
    from eks_gpu.loaders.price_cache import load_price_book
    from eks_gpu.loaders.snapshot_file import read_snapshot
    from eks_gpu.scheduling.simulate import Inputs

    nodes: tuple[SnapshotNode, ...] = ()
    pending: tuple[SimPod, ...] = ()
    extra: list[Any] = []
    if snapshot:
        state = read_snapshot(snapshot)
        nodes, pending, extra = state.nodes, state.pending, list(state.daemonsets)
    daemonsets = [o for o in objects if o.get("kind") == "DaemonSet"]
    return Inputs(
        nodepools=[o for o in objects if o.get("kind") == "NodePool"],
        nodeclasses=[o for o in objects if o.get("kind") == "EC2NodeClass"],
        workloads=[*workloads, *daemonsets, *extra],
        prices=load_price_book(region),
        zones=zones,
        nodes=nodes,
        pending=pending,
    )


def simulation_text(simulation: Simulation) -> str:
    """NodeClaims, unschedulable pods, existing placements, cost and assumptions as text."""
    from eks_gpu.cli.table import format_table

    doc = simulation.document
    out = []
    if doc["nodeclaims"]:
        rows = [
            [c["nodepool"], c["instance_type"], c["capacity_type"], c["zone"],
             None if c["price_per_hour"] is None else f"{c['price_per_hour']:.3f}",
             ", ".join(c["pods"])]
            for c in doc["nodeclaims"]
        ]  # fmt: skip
        headers = ("NODEPOOL", "INSTANCE TYPE", "CAPACITY", "ZONE", "$/H", "PODS")
        out.append(format_table(headers, rows))
    else:
        out.append("No new NodeClaims.\n")
    for node in doc["existing"]:
        out.append(f"existing node {node['node']}: {', '.join(node['pods'])}\n")
    if doc["unschedulable"]:
        rows = [
            [u["pod"], r["nodepool"], r["code"], r["message"]]
            for u in doc["unschedulable"]
            for r in u["reasons"]
        ]
        out.append("\nUnschedulable:\n")
        out.append(format_table(("POD", "NODEPOOL", "CODE", "WHY"), rows))
    out.append(f"\nCost: ${doc['cost_per_hour']:.3f}/h for the NodeClaims with a known price\n")
    out.append("Assumptions:\n" + "".join(f"  - {a}\n" for a in doc["assumptions"]))
    return "".join(out)


def read_workloads(paths: Sequence[str]) -> list[dict[str, Any]]:
    from eks_gpu.loaders.manifest_files import load_manifests

    return [m.obj for m in load_manifests(paths)] if paths else []


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
    from eks_gpu.errors import UsageError
    from eks_gpu.scheduling.simulate import simulate as run

    if manifests and (config_path or profile):
        raise UsageError("--manifests replaces -c/--profile; pass one of them")
    objects, _source = pool_objects(manifests, config_path, profile, cluster_name)
    inputs = build_inputs(objects, read_workloads(workloads), snapshot, comma_list(zones), region)
    simulation = run(inputs)
    if output == "json":
        click.echo(json.dumps(simulation.document, indent=2))
    else:
        click.echo(simulation_text(simulation), nl=False)
    failed = bool(simulation.document["unschedulable"]) or simulation.isolation_broken
    return 1 if failed else 0
