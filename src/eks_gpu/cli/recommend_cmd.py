"""``eks-gpu recommend``: flags -> :func:`eks_gpu.commands.recommend.recommend` -> text/JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import comma_list
from eks_gpu.names import RESOURCE_NVIDIA_GPU

if TYPE_CHECKING:
    from eks_gpu.commands.recommend import RecommendationResult

PRECISIONS = ("fp32", "fp16", "bf16", "fp8", "int8", "int4")


def human(result: RecommendationResult) -> str:
    """The recommendation as text: estimate, ranked table, requirements patch, advice."""
    from eks_gpu.cli.table import format_table
    from eks_gpu.render.serialize import to_yaml

    document = result.document()
    lines = [f"Required GPU memory: {document['required_gpu_memory_gib']} GiB", "Assumptions:"]
    lines += [f"  - {text}" for text in document["assumptions"]]
    rows = [
        [rank, o["instance_type"], o["gpus_used"], o["gpu_name"], f"{o['price_per_hour']:.3f}",
         o["reason"]]
        for rank, o in enumerate(document["options"], start=1)
    ]  # fmt: skip
    if not rows:
        lines += ["", "No instance type fits: relax --max-price, --families or --gpus."]
        return "\n".join(lines) + "\n"
    basis = document["price_basis"]
    if result.estimated_from:
        basis += f", {result.estimated_from} estimate"
    headers = ("RANK", "TYPE", "GPUS", "GPU", f"$/H ({basis})", "WHY")
    lines += ["", format_table(headers, rows).rstrip("\n"), ""]
    best = document["options"][0]
    lines += [
        "NodePool requirements under which every type Karpenter may launch holds the "
        f"workload (pods request {RESOURCE_NVIDIA_GPU}: {best['gpus_used']}):",
        to_yaml({"requirements": document["nodepool_requirements"]}).rstrip("\n"),
        "",
        f"Guide: {document['guide_advice']}",
    ]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--workload", type=click.Choice(("inference", "training", "dev")), required=True)
@click.option(
    "--model-params",
    metavar="N",
    help="Model size: 7B, 13B, 70B, 350M; a bare number below 10,000 means billions.",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="fp16",
    show_default=True,
    help="Weight precision (inference/dev; training assumes mixed precision).",
)
@click.option(
    "--gpu-memory",
    type=click.FloatRange(min=0.1),
    metavar="GIB",
    help="Skip the estimate: the GPU memory the workload needs, in GiB.",
)
@click.option("--gpus", type=click.IntRange(min=1, max=8), help="Use exactly N GPUs per node.")
@click.option(
    "--capacity-type",
    "capacity_types",
    multiple=True,
    metavar="on-demand,spot",
    help="Capacity types (default: the guide's for the workload).",
)
@click.option(
    "--max-price",
    type=click.FloatRange(min=0),
    metavar="USD/H",
    help="Leave out nodes dearer than this per hour.",
)
@click.option("--families", multiple=True, metavar="F[,F...]", help="Only these families.")
@click.option(
    "--headroom",
    type=click.FloatRange(min=0, max=10),
    default=0.2,
    show_default=True,
    help="Extra memory over weights (inference) or states (training), as a fraction.",
)
@click.option(
    "--bytes-per-param",
    type=click.FloatRange(min=0.1),
    default=16.0,
    show_default=True,
    help="Training bytes per parameter (Adam, mixed precision).",
)
@click.option(
    "--region",
    help="Region (bundled: us-east-1; another without a refresh: us-east-1 prices as a "
    "labelled estimate, its own GPU offerings).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="How many options to list.",
)
@click.option(
    "-o", "--output", type=click.Choice(("table", "json")), default="table", show_default=True
)
def recommend(
    workload: str,
    model_params: str | None,
    precision: str,
    gpu_memory: float | None,
    gpus: int | None,
    capacity_types: tuple[str, ...],
    max_price: float | None,
    families: tuple[str, ...],
    headroom: float,
    bytes_per_param: float,
    region: str | None,
    limit: int,
    output: str,
) -> int:
    """Recommend GPU instance types for a workload, cheapest first.

    \b
    Examples:
      eks-gpu recommend --workload inference --model-params 13B --precision fp16
      eks-gpu recommend --workload training --model-params 7B --capacity-type spot,on-demand
      eks-gpu recommend --workload dev --gpu-memory 12 -o json
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.recommend import recommend as run

    result = run(
        workload,  # type: ignore[arg-type]
        model_params=model_params,
        precision=precision,  # type: ignore[arg-type]
        gpu_memory=gpu_memory,
        gpus=gpus,
        capacity_types=comma_list(capacity_types),
        max_price=max_price,
        families=comma_list(families),
        headroom=headroom,
        bytes_per_param=bytes_per_param,
        region=region,
        limit=limit,
    )
    return emit(result, output, {"table": human})
