"""``eks-gpu status``: flags -> :func:`eks_gpu.commands.status.status` (or ``watch_status``)
-> the GPU node, NodePool, launching and pending tables, or the GpuStatus JSON document."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import cluster_options, from_option

if TYPE_CHECKING:
    from eks_gpu.commands.status import StatusResult
    from eks_gpu.inventory.gpus import NodeRow, PoolRow

NODE_HEADERS = ("NODE", "NODEPOOL", "TYPE", "CAPACITY", "ZONE", "GPU", "GPUS", "ALLOC", "REQ",
                "IDLE", "GPU PODS", "$/H")  # fmt: skip
WIDE_HEADERS = (*NODE_HEADERS, "UNHEALTHY", "CPU USE", "MEMORY USE", "AGE", "RESOURCES", "TAINTS")
POOL_HEADERS = ("NODEPOOL", "NODES", "GPUS", "ALLOC", "REQ", "IDLE", "$/H", "IDLE $/H", "LIMITS")
CLAIM_HEADERS = ("NODECLAIM", "NODEPOOL", "TYPE", "CAPACITY", "ZONE", "GPUS", "AGE", "CONDITIONS")
PENDING_HEADERS = ("NAMESPACE", "POD", "GPUS", "AGE", "WHY")
CLEAR = "\x1b[H\x1b[2J"
GIB = Decimal(1024**3)


def gpus(value: float) -> str:
    """A GPU count: ``3``, or ``0.375`` for slices."""
    return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def money(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3f}"


def age(created: str, now: datetime.datetime) -> str | None:
    """kubectl's short age: ``45s``, ``12m``, ``5h``, ``3d``."""
    from eks_gpu.inventory.gpus import age_seconds
    from eks_gpu.manifests.cluster_state import short_age

    seconds = age_seconds(created, now)
    return None if seconds is None else short_age(seconds)


def _use(used: Decimal | None, allocatable: Decimal | None, unit: Decimal, suffix: str) -> str:
    if used is None:
        return "unavailable"
    text = f"{float(used / unit):.1f}{suffix}"
    return f"{text} ({float(used / allocatable):.0%})" if allocatable else text


def _resources(row: NodeRow) -> str:
    """Per device-plugin resource: ``requested/allocatable/capacity``."""
    parts = []
    for name in sorted(row.capacity):
        cap, alloc = row.capacity[name], row.allocatable.get(name, Decimal(0))
        parts.append(f"{name}={row.requested.get(name, 0)}/{alloc}/{cap}")
    return ",".join(parts) or "-"


def node_cells(row: NodeRow, now: datetime.datetime, wide: bool) -> list[str | int | None]:
    cells: list[str | int | None] = [
        row.name + (" (cordoned)" if row.unschedulable else ""),
        row.nodepool,
        row.instance_type,
        row.capacity_type,
        row.zone,
        row.gpu_name,
        gpus(row.gpus_capacity),
        gpus(row.gpus_allocatable),
        gpus(row.gpus_requested),
        gpus(row.gpus_idle),
        row.gpu_pods,
        money(row.price_per_hour),
    ]
    if wide:
        cells += [
            gpus(row.gpus_unhealthy),
            _use(row.cpu_used, row.cpu_allocatable, Decimal(1), ""),
            _use(row.memory_used, row.memory_allocatable, GIB, "Gi"),
            age(row.created, now),
            _resources(row),
            ",".join(row.taints) or None,
        ]
    return cells


def _amount(value: Decimal, resource: str) -> str:
    """A limit or its use for people: ``107.76`` CPUs, ``512Gi`` of memory, ``20`` GPUs."""
    if resource == "memory" or resource.startswith(("hugepages-", "ephemeral-storage")):
        return f"{float(value / GIB):.0f}Gi"
    return f"{round(value, 2).normalize():f}"


def _limits(pool: PoolRow) -> str | None:
    parts = [
        f"{name} {_amount(pool.limits_used[name], name)}/{_amount(limit, name)}"
        for name, limit in sorted(pool.limits.items())
    ]
    return ", ".join(parts) or ("(no NodePool object)" if not pool.found else None)


def _pool_cells(pool: PoolRow) -> list[str | int | None]:
    cost = f"{pool.cost_per_hour:.3f}" + (f" (+{pool.unpriced} unknown)" if pool.unpriced else "")
    return [
        pool.name,
        pool.nodes,
        gpus(pool.gpus_capacity),
        gpus(pool.gpus_allocatable),
        gpus(pool.gpus_requested),
        gpus(pool.gpus_idle),
        cost,
        f"{pool.idle_cost_per_hour:.3f}",
        _limits(pool),
    ]


def _totals_line(result: StatusResult) -> str:
    t = result.inventory.totals
    unpriced = f" ({t.unpriced} node{'s' * (t.unpriced != 1)} unpriced)" if t.unpriced else ""
    return (
        f"total: {gpus(t.gpus_capacity)} GPU{'s' * (t.gpus_capacity != 1)} on "
        f"{t.nodes} node{'s' * (t.nodes != 1)}: "
        f"{gpus(t.gpus_allocatable)} allocatable, {gpus(t.gpus_requested)} requested, "
        f"{gpus(t.gpus_idle)} idle, {gpus(t.gpus_unhealthy)} unhealthy; "
        f"${t.cost_per_hour:.3f}/h, idle ${t.idle_cost_per_hour:.3f}/h{unpriced}\n"
    )


def _amounts_text(amounts: Mapping[str, Decimal]) -> str:
    return ",".join(f"{name}={amount}" for name, amount in sorted(amounts.items())) or "-"


def _launching(result: StatusResult) -> str:
    from eks_gpu.cli.table import format_table

    rows = [
        [
            c.name,
            c.nodepool,
            c.instance_type,
            c.capacity_type,
            c.zone,
            _amounts_text(c.gpus),
            age(c.created, result.now),
            " ".join(
                f"{t}={s}" + (f" ({why})" if s != "True" and why else "")
                for t, s, why in c.conditions
            )
            or None,
        ]
        for c in result.inventory.launching
    ]
    return "\nNodeClaims launching:\n" + format_table(CLAIM_HEADERS, rows) if rows else ""


def _pending(result: StatusResult) -> str:
    from eks_gpu.cli.table import format_table

    rows = [
        [
            p.namespace,
            p.name,
            _amounts_text(p.requests),
            age(p.created, result.now),
            p.message or None,
        ]
        for p in result.inventory.pending
    ]
    return "\nPending GPU pods:\n" + format_table(PENDING_HEADERS, rows) if rows else ""


def table_text(result: StatusResult, wide: bool = False) -> str:
    """The node table, the NodePool table, the totals, then launching and pending."""
    from eks_gpu.cli.table import format_table

    inv = result.inventory
    if not inv.nodes:
        text = "no GPU nodes\n"
    else:
        headers = WIDE_HEADERS if wide else NODE_HEADERS
        text = format_table(headers, [node_cells(n, result.now, wide) for n in inv.nodes])
    if inv.pools:
        text += "\n" + format_table(POOL_HEADERS, [_pool_cells(p) for p in inv.pools])
    return text + "\n" + _totals_line(result) + _launching(result) + _pending(result)


def _show(output: str) -> Callable[[StatusResult, list[str]], None]:
    """A callback for ``watch_status`` that prints each update (clears the screen on a TTY);
    the result's messages (price source, what was not read) go to stderr once, first."""
    import sys

    from eks_gpu.cli.output import document_text, echo, quiet

    tty = sys.stdout.isatty()
    said: set[str] = set()

    def show(result: StatusResult, notes: list[str]) -> None:
        if output == "json":
            body = document_text(result, "json")
        else:
            body = table_text(result, wide=output == "wide")
        stamp = datetime.datetime.now().strftime("%H:%M:%S")
        if tty:
            click.echo(
                CLEAR, nl=False, color=True
            )  # a screen control, not colour: NO_COLOR keeps it
        if output != "json":
            echo(f"--- {stamp}" + "".join(f"; {note}" for note in notes))
        echo(body, nl=False)
        for line in [] if quiet() else [m for m in result.messages if m not in said] + notes:
            echo(line, err=True)
        said.update(result.messages)

    return show


@click.command()
@from_option
@cluster_options()
@click.option(
    "-o",
    "--output",
    type=click.Choice(("table", "wide", "json")),
    default="table",
    show_default=True,
)
@click.option(
    "-l",
    "--selector",
    metavar="SELECTOR",
    help="Only nodes (and NodeClaims) whose labels match, kubectl syntax: "
    "'k=v,k!=v,k in (a,b),!k,k'.",
)
@click.option("-w", "--watch", is_flag=True, help="Keep the table current from watch events.")
@click.option(
    "--watch-timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="With --watch: stop after this long (default: until Ctrl-C).",
)
@click.option("--max-updates", type=click.IntRange(min=1), hidden=True)
def status(
    from_path: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    output: str,
    selector: str | None,
    watch: bool,
    watch_timeout: float | None,
    max_updates: int | None,
) -> int:
    """Show every GPU node: GPUs requested, idle and unhealthy, and what they cost.

    Per GPU node (nvidia.com/gpu, nvidia.com/gpu.shared or MIG resources, or a GPU
    instance type): NodePool, type, capacity type, zone, GPU model, GPUs capacity /
    allocatable / requested, GPU pods and $/hour; then per NodePool with its limits,
    cluster totals, NodeClaims still launching and pending GPU pods. Idle is allocatable
    minus requested; GPUs lost to unhealthy devices are counted apart. Tainted and
    cordoned nodes are shown. `-o wide` adds CPU/memory use (metrics API), age and taints.

    \b
    Examples:
      eks-gpu status
      eks-gpu status -o wide --selector karpenter.sh/nodepool=gpu
      eks-gpu status --from dump.json -o json | jq .totals
      eks-gpu status --watch
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.cluster_source import ClusterSource

    source = ClusterSource(from_path, kubeconfig, kube_context)
    if watch:
        from eks_gpu.commands.status import watch_status

        show = _show(output)
        return watch_status(
            source,
            show,
            selector,
            max_updates=max_updates,
            timeout_s=watch_timeout,
        )
    from eks_gpu.commands.status import status as run

    result = run(source, selector)
    formatters = {"table": table_text, "wide": lambda r: table_text(r, wide=True)}
    return emit(result, output, formatters)
