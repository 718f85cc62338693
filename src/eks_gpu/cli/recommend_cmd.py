"""``eks-gpu recommend``: size a workload, pick the cheapest GPU types, patch the NodePool."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from eks_gpu.cli.params import comma_list
from eks_gpu.names import RESOURCE_NVIDIA_GPU

if TYPE_CHECKING:
    from eks_gpu.recommend.choose import Choice
    from eks_gpu.recommend.memory import MemoryEstimate

PRECISIONS = ("fp32", "fp16", "bf16", "fp8", "int8", "int4")
TRAINING_MIN_CC = 8.0  # bf16 tensor cores; --families overrides (e.g. to train on p3)


def recommendation(
    estimate: MemoryEstimate, choice: Choice, capacity_types: tuple[str, ...], advice: str
) -> dict[str, Any]:
    """The ``-o json`` document (best option first)."""
    from eks_gpu.recommend.choose import nodepool_requirements

    return {
        "required_gpu_memory_gib": estimate.required_gib,
        "assumptions": [*estimate.assumptions, *choice.notes],
        "price_basis": choice.price_basis,
        "options": [
            {
                "instance_type": option.spec.instance_type,
                "gpus_used": option.gpus_used,
                "gpu_name": option.spec.gpu_name,
                "gpu_count": option.spec.gpu_count,
                "gpu_memory_gib": round(option.spec.gpu_memory_gib, 1),
                "price_per_hour": option.price,
                "reason": option.reason,
            }
            for option in choice.options
        ],
        "pod_gpu_request": choice.options[0].gpus_used if choice.options else None,
        "nodepool_requirements": nodepool_requirements(
            choice.options, capacity_types, estimate.required_gib
        ),
        "guide_advice": advice,
    }


def human(document: dict[str, Any]) -> str:
    """The recommendation as text: estimate, ranked table, requirements patch, advice."""
    from eks_gpu.cli.table import format_table
    from eks_gpu.render.serialize import to_yaml

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
    headers = ("RANK", "TYPE", "GPUS", "GPU", f"$/H ({document['price_basis']})", "WHY")
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
@click.option("--model-params", metavar="N", help="Model size: 7B, 13B, 70B, 350M or a number.")
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
@click.option("--region", help="Region for prices (bundled: us-east-1).")
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
    from eks_gpu.catalog.advice import guide_advice
    from eks_gpu.catalog.query import InstanceQuery, validate_query
    from eks_gpu.errors import UsageError
    from eks_gpu.loaders.price_cache import load_price_book
    from eks_gpu.recommend.choose import Constraints, choose
    from eks_gpu.recommend.memory import estimate_memory, given_memory, parse_params

    advice = guide_advice()[workload]  # type: ignore[index]
    chosen_capacity = comma_list(capacity_types) or advice.capacity_types
    unknown = [c for c in chosen_capacity if c not in ("on-demand", "spot")]
    if unknown:
        raise UsageError(f"--capacity-type: unknown {', '.join(unknown)}",
                         hint="use on-demand, spot, or on-demand,spot")  # fmt: skip
    family_filter = comma_list(families)
    validate_query(InstanceQuery(families=family_filter))
    if gpu_memory is not None:
        estimate = given_memory(gpu_memory)
    else:
        params = parse_params(model_params) if model_params else None
        estimate = estimate_memory(workload, params, precision, headroom, bytes_per_param)  # type: ignore[arg-type]
    constraints = Constraints(
        required_gib=estimate.required_gib,
        capacity_types=chosen_capacity,
        gpus=gpus,
        max_price=max_price,
        families=family_filter,
        min_compute_capability=TRAINING_MIN_CC
        if workload == "training" and not family_filter
        else None,
        limit=limit,
    )
    prices = load_price_book(region)
    choice = choose(constraints, prices)
    document = recommendation(estimate, choice, chosen_capacity, advice.advice)
    document["assumptions"].append(prices.describe(choice.price_basis))  # type: ignore[arg-type]
    if output == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(human(document), nl=False)
    return 0 if choice.options else 1
