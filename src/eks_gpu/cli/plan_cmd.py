"""``eks-gpu plan``: flags -> :func:`eks_gpu.commands.plan.plan` -> a report or JSON.

The report shows the objects, the validation summary, the simulation (as ``simulate``
prints it) and the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import comma_list, eks_admission_option, render_source_options

if TYPE_CHECKING:
    from eks_gpu.commands.plan import PlanResult
    from eks_gpu.commands.validate import ValidationResult


def findings_text(validation: ValidationResult) -> str:
    """The error/warning counts, then one indented line per finding and skipped check."""
    lines = [
        f"  {f.severity.upper():8} {f.rule}: {f.object} {f.path}: {f.message}"
        for f in validation.findings
    ]
    lines += [f"  skipped: {item}" for item in validation.skipped]
    summary = f"{validation.count('error')} errors, {validation.count('warning')} warnings"
    return summary + "\n" + "".join(line + "\n" for line in lines)


def plan_text(result: PlanResult) -> str:
    """What would be created, whether it is valid, what it launches and costs, the verdict."""
    from eks_gpu.cli.simulation_text import simulation_text
    from eks_gpu.cli.table import format_table
    from eks_gpu.validate.findings import object_ref

    manifests = result.rendered.manifests
    source = manifests[0].source if manifests else "nothing"
    estimate = result.simulation.simulation.estimate_note
    parts = [
        result.cost.line() + "\n" + (f"  {estimate}\n" if estimate else "") + "\n",
        f"Would create ({source}):\n",
        format_table(("OBJECT",), [[object_ref(m.obj)] for m in manifests]),
        "\nValidation: " + findings_text(result.validation),
        "\nWhat Karpenter would launch for the test pods and workloads:\n",
        simulation_text(result.simulation),
        "\n" + ("Plan OK" if result.ok else "PLAN FAILED: see above") + "\n",
    ]
    return "".join(parts)


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
@click.option("--skip-crd-checks", is_flag=True, help="Skip the CRD checks (reported as skipped).")
@click.option("--zones", multiple=True, metavar="A[,B...]", help="Zones to offer.")
@click.option("--region", help="Price region (bundled: us-east-1).")
@eks_admission_option
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
    skip_crd_checks: bool,
    zones: tuple[str, ...],
    region: str | None,
    eks_admission: bool,
    output: str,
) -> int:
    """Render, validate and simulate the config: what you would get, and what it costs.

    Exit 0 when the objects are valid, every test pod (and workload) gets a node, and
    GPU pools keep plain CPU pods out; 1 otherwise; 3 when the Karpenter CRDs cannot be had.
    The report leads with the cost: exact when every price is known, else the on-demand
    ceiling, saying that spot prices are unknown.

    \b
    Examples:
      eks-gpu plan --cluster-name demo
      eks-gpu plan -c eks-gpu.yaml --workload llm-inference.yaml --karpenter-version v1.14.1
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.config_source import RenderSource
    from eks_gpu.commands.plan import plan as run

    result = run(
        RenderSource(config_path, profile, cluster_name),
        workloads=workloads,
        karpenter_version=karpenter_version,
        crd_paths=crd_paths,
        skip_crd_checks=skip_crd_checks,
        zones=comma_list(zones),
        region=region,
        eks_admission=eks_admission,
    )
    return emit(result, output, {"table": plan_text})
