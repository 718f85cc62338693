"""``status``: the GPU inventory of a cluster (live, or ``--from`` a dump), once or kept
current from watch events.

``-o json`` is a ``GpuStatus``: ``nodes`` (exactly the ten keys of issue 11), ``nodepools``,
``totals`` (exactly its six keys), plus two top-level lists, ``launching`` (NodeClaims without
an initialized node) and ``pending`` (unbound GPU pods), which the issue asks status to show
and which have no place in the other three.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_OK

if TYPE_CHECKING:
    from eks_gpu.catalog.prices import PriceBook
    from eks_gpu.cluster.watch import Change, Store, Watcher
    from eks_gpu.commands.cluster_source import ClusterSource
    from eks_gpu.inventory.gpus import Inventory
    from eks_gpu.inventory.pods import PodLedger
    from eks_gpu.inventory.selector import Selector
    from eks_gpu.manifests.cluster_state import ClusterState

KIND = "GpuStatus"
STATUS_KINDS = ("Node", "Pod", "NodePool", "NodeClaim", "NodeMetrics")
WATCHED_KINDS = ("Node", "Pod", "NodeClaim")
OPTIONAL_KINDS = ("NodePool", "NodeClaim")
MIN_RENDER_S = 0.5


def number(value: float) -> int | float:
    """A GPU count or price for JSON: an int when whole, else rounded to 4 places."""
    rounded = round(value, 4)
    return int(rounded) if rounded == int(rounded) else rounded


def _amounts(amounts: Mapping[str, Decimal]) -> dict[str, int | float]:
    return {name: number(float(amount)) for name, amount in sorted(amounts.items())}


def _quantities(amounts: Mapping[str, Decimal]) -> dict[str, str]:
    from eks_gpu.scheduling.resources import format_quantity

    return {name: format_quantity(amount, name) for name, amount in sorted(amounts.items())}


def _price(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class StatusResult:
    """The inventory, the prices it used, and the time ages are counted from."""

    inventory: Inventory
    prices: PriceBook
    now: datetime.datetime
    missing: Mapping[str, str]

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    @property
    def messages(self) -> tuple[str, ...]:
        """The price source, unpriced nodes, and what was not read (stderr)."""
        inv = self.inventory
        spot = any(n.capacity_type == "spot" for n in inv.nodes)
        lines = [self.prices.describe("spot" if spot else "on-demand")]
        if inv.totals.unpriced:
            lines.append(
                f"{inv.totals.unpriced} of {inv.totals.nodes} GPU nodes have no known price "
                "(cost totals leave them out)"
            )
        if inv.metrics:
            lines.append(f"CPU/memory use unavailable: {inv.metrics}")
        lines += [f"{kind} not read: {why}" for kind, why in self.missing.items()]
        return (*lines, *inv.notes)

    def to_json(self) -> dict[str, Any]:
        inv = self.inventory
        return envelope(
            KIND,
            {
                "nodes": [
                    {
                        "name": n.name,
                        "nodepool": n.nodepool,
                        "instance_type": n.instance_type,
                        "capacity_type": n.capacity_type,
                        "zone": n.zone,
                        "gpu_name": n.gpu_name,
                        "gpus_capacity": number(n.gpus_capacity),
                        "gpus_allocatable": number(n.gpus_allocatable),
                        "gpus_requested": number(n.gpus_requested),
                        "price_per_hour": _price(n.price_per_hour),
                    }
                    for n in inv.nodes
                ],
                "nodepools": [
                    {
                        "name": p.name,
                        "nodes": p.nodes,
                        "gpus_capacity": number(p.gpus_capacity),
                        "gpus_allocatable": number(p.gpus_allocatable),
                        "gpus_requested": number(p.gpus_requested),
                        "gpus_idle": number(p.gpus_idle),
                        "cost_per_hour": number(p.cost_per_hour),
                        "idle_cost_per_hour": number(p.idle_cost_per_hour),
                        "limits": _quantities(p.limits),
                        "limits_used": _quantities(p.limits_used),
                    }
                    for p in inv.pools
                ],
                "totals": {
                    "gpus_capacity": number(inv.totals.gpus_capacity),
                    "gpus_allocatable": number(inv.totals.gpus_allocatable),
                    "gpus_requested": number(inv.totals.gpus_requested),
                    "gpus_idle": number(inv.totals.gpus_idle),
                    "idle_cost_per_hour": number(inv.totals.idle_cost_per_hour),
                    "cost_per_hour": number(inv.totals.cost_per_hour),
                },
                "launching": [
                    {
                        "name": c.name,
                        "nodepool": c.nodepool,
                        "instance_type": c.instance_type,
                        "capacity_type": c.capacity_type,
                        "zone": c.zone,
                        "gpus": _amounts(c.gpus),
                        "conditions": [
                            {"type": t, "status": s, "message": m} for t, s, m in c.conditions
                        ],
                    }
                    for c in inv.launching
                ],
                "pending": [
                    {
                        "namespace": p.namespace,
                        "name": p.name,
                        "gpus": _amounts(p.requests),
                        "message": p.message,
                    }
                    for p in inv.pending
                ],
            },
        )


def _reference_time(state: ClusterState) -> datetime.datetime:
    """Ages count from the capture time of a dump (checked when it was read), else now."""
    return state.capture_time or datetime.datetime.now(datetime.timezone.utc)


def _missing(state: ClusterState) -> dict[str, str]:
    return {kind: why for kind, why in state.missing.items() if kind in OPTIONAL_KINDS}


def status_of(
    state: ClusterState,
    selector: Selector,
    prices: PriceBook | None = None,
    ledger: PodLedger | None = None,
    now: datetime.datetime | None = None,
) -> StatusResult:
    """The status of ``state`` (prices for its region when not given)."""
    from eks_gpu.commands.price_source import price_book
    from eks_gpu.inventory.gpus import inventory
    from eks_gpu.inventory.units import region_of

    book = prices or price_book(region_of(state))
    found = inventory(state, book, selector, ledger)
    return StatusResult(found, book, now or _reference_time(state), _missing(state))


def status(source: ClusterSource, selector: str | None = None) -> StatusResult:
    """The GPU inventory of the cluster ``source`` names.

    Raises:
        UsageError: a bad ``--selector``, or ``--from`` with ``--context``.
        ClusterAccessError: the nodes or pods could not be read.
        ManifestError: the ``--from`` input cannot be read.
    """
    from eks_gpu.commands.cluster_source import read_cluster
    from eks_gpu.inventory.selector import parse_selector

    chosen = parse_selector(selector)
    state = read_cluster(source, STATUS_KINDS)
    return status_of(state, chosen)


Show = Callable[[StatusResult, list[str]], None]


def _apply(batch: list[Change], store: Store, ledger: PodLedger) -> tuple[PodLedger, list[str]]:
    """Apply a burst of watch changes to the store and the pod ledger (a new ledger after a
    re-list of pods); the notes to show with the update.

    Raises:
        ClusterAccessError: a watch failed for good.
    """
    from eks_gpu.cluster.watch import relisted_items
    from eks_gpu.inventory.pods import PodLedger

    notes = []
    for change in batch:
        if change.error is not None:
            raise change.error
        if change.type == "RELISTED":
            items = relisted_items(change)
            store.replace(change.kind, items)
            if change.kind == "Pod":
                ledger = PodLedger.of(items)
            notes.append(f"watch of {change.kind} expired (410 Gone): re-listed {change.kind}")
            continue
        store.apply(change.kind, change.type, change.obj)
        if change.kind == "Pod":
            if change.type == "DELETED":
                ledger.remove(change.obj)
            else:
                ledger.add(change.obj)
    return ledger, notes


def watch_status(
    source: ClusterSource,
    show: Show,
    selector: str | None = None,
    *,
    max_updates: int | None = None,
    timeout_s: float | None = None,
) -> int:
    """Show the status, then again after every burst of watch events (Node, Pod, NodeClaim),
    with what happened (``notes``, e.g. a re-list after 410 Gone). Pods update a
    :class:`PodLedger` one at a time, so an event costs O(nodes), not O(pods).

    Stops after ``max_updates`` re-renders or ``timeout_s`` seconds (None: never).

    Raises:
        UsageError: ``--from`` (a file does not change), or a bad ``--selector``.
        ClusterAccessError: the first LIST failed, or a watch failed for good.
    """
    from eks_gpu.cluster.watch import Store, Watcher, drain, list_versions
    from eks_gpu.commands.cluster_source import connect
    from eks_gpu.commands.price_source import price_book
    from eks_gpu.errors import UsageError
    from eks_gpu.inventory.pods import PodLedger
    from eks_gpu.inventory.selector import parse_selector

    if source.from_path:
        raise UsageError("--watch follows a live cluster; --from reads a file that does not change")
    chosen = parse_selector(selector)
    client = connect(source)
    watcher: Watcher | None = None
    try:
        state, versions = list_versions(client, STATUS_KINDS, WATCHED_KINDS)
        store = Store(state)
        ledger = PodLedger.of(state.of("Pod"))
        from eks_gpu.inventory.units import region_of

        prices = price_book(region_of(state))
        show(status_of(state, chosen, prices, ledger), [])
        watcher = Watcher(client, versions)
        watcher.start()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        updates, shown = 0, time.monotonic()
        while max_updates is None or updates < max_updates:
            left = 1.0 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                break
            batch = drain(watcher.changes, min(left, 1.0))
            if batch:
                # At most one render per MIN_RENDER_S: a busy cluster's pod events are
                # rendered in bursts, not one table per event.
                time.sleep(max(0.0, min(left, shown + MIN_RENDER_S - time.monotonic())))
                batch += drain(watcher.changes, 0)
                ledger, notes = _apply(batch, store, ledger)
                show(status_of(store.state(), chosen, prices, ledger), notes)
                updates, shown = updates + 1, time.monotonic()
    finally:
        if watcher is None:
            client.close()
        else:
            watcher.stop()  # closes the client once its threads are done with it
    return EXIT_OK


__all__ = [
    "KIND",
    "STATUS_KINDS",
    "StatusResult",
    "number",
    "status",
    "status_of",
    "watch_status",
]
