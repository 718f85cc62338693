"""``eks-gpu plan``: the first command to run. From the config alone: what would be created,
whether it is valid, what Karpenter would launch for the guide's test pods (and your
workloads), what that costs per hour, and whether GPU pools keep CPU pods out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from eks_gpu.cli.params import render_source_options


def _objects_table(manifests: list[Any]) -> str:
    from eks_gpu.cli.table import format_table
    from eks_gpu.validate.findings import object_ref

    rows = [[object_ref(m.obj)] for m in manifests]
    return format_table(("OBJECT",), rows)


def _findings_text(report: Any) -> str:
    lines = [
        f"  {f.severity.upper():8} {f.rule}: {f.object} {f.path}: {f.message}"
        for f in report.findings
    ]
    lines += [f"  skipped: {item}" for item in report.skipped]
    summary = f"{report.count('error')} errors, {report.count('warning')} warnings"
    return summary + "\n" + "".join(line + "\n" for line in lines)


@click.command()
@render_source_options("Objects")
@click.option(
    "--workload",
    "workloads",
    multiple=True,
    metavar="FILE|DIR",
    help="Your workloads, simulated with the test pods.",
)
@click.option("--karpenter-version", metavar="vX.Y.Z", help="Validate against this release.")
@click.option("--crds", "crd_paths", multiple=True, metavar="FILE|DIR", help="CRD files.")
@click.option("--zones", multiple=True, metavar="A[,B...]", help="Zones to offer.")
@click.option("--region", help="Price region (bundled: us-east-1).")
@click.option(
    "-o", "--output", type=click.Choice(("table", "json")), default="table", show_default=True
)
def plan(
    config_path: Path | None,
    profile: str | None,
    cluster_name: str | None,
    workloads: tuple[str, ...],
    karpenter_version: str | None,
    crd_paths: tuple[str, ...],
    zones: tuple[str, ...],
    region: str | None,
    output: str,
) -> int:
    """Render, validate and simulate the config: what you would get, and what it costs.

    Exit 0 when the objects are valid, every test pod (and workload) gets a node, and
    GPU pools keep plain CPU pods out; 1 otherwise.

    \b
    Examples:
      eks-gpu plan --cluster-name demo
      eks-gpu plan -c eks-gpu.yaml --workload llm-inference.yaml --karpenter-version v1.14.1
    """
    from eks_gpu.cli.params import comma_list
    from eks_gpu.cli.simulate_cmd import build_inputs, read_workloads, simulation_text
    from eks_gpu.cli.validate_cmd import choose_crds, rendered_manifests
    from eks_gpu.scheduling.simulate import simulate
    from eks_gpu.validate.core import DEFAULT_KUBERNETES_VERSION
    from eks_gpu.validate.engine import Options, validate_manifests

    manifests = rendered_manifests(config_path, profile, cluster_name)
    crds, missing, target = choose_crds(crd_paths, karpenter_version)
    options = Options(crds, missing, DEFAULT_KUBERNETES_VERSION, target)
    report = validate_manifests(manifests, options)
    objects = [m.obj for m in manifests]
    tests = [o for o in objects if o.get("kind") == "Pod"]
    inputs = build_inputs(
        objects, [*tests, *read_workloads(workloads)], None, comma_list(zones), region
    )
    simulation = simulate(inputs)
    failed = (
        report.count("error") > 0
        or bool(simulation.document["unschedulable"])
        or simulation.isolation_broken
    )
    if output == "json":
        document = {
            "objects": [m.obj for m in manifests],
            "validation": report.as_json(),
            "simulation": simulation.document,
            "isolation": [
                {"nodepool": r.nodepool, "isolated": r.isolated, "message": r.message}
                for r in simulation.isolation
            ],
            "ok": not failed,
        }
        click.echo(json.dumps(document, indent=2))
        return 1 if failed else 0
    click.echo(f"Would create ({manifests[0].source if manifests else 'nothing'}):")
    click.echo(_objects_table(manifests), nl=False)
    click.echo("\nValidation: " + _findings_text(report), nl=False)
    click.echo("\nWhat Karpenter would launch for the test pods and workloads:")
    click.echo(simulation_text(simulation), nl=False)
    click.echo("\n" + ("PLAN FAILED: see above" if failed else "Plan OK"))
    return 1 if failed else 0
