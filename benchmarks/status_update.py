"""What one ``status --watch`` update costs on a big cluster, against recomputing from scratch.

Loads a dump (``benchmarks/gen_dump.py``), then times, as ``watch_status`` does them per
burst of events: one pod event applied to the :class:`PodLedger` and the store, the store's
state, and the inventory with the ledger; and, for comparison, the inventory recomputed from
every pod. Median of ``--repeat`` runs, in milliseconds of CPU time (``process_time``: the
figure does not move with the load of a shared machine).

    python benchmarks/status_update.py /tmp/dump.json
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable

from eks_gpu.cluster.watch import Store
from eks_gpu.commands.status import region_of
from eks_gpu.inventory.gpus import inventory
from eks_gpu.inventory.pods import PodLedger
from eks_gpu.loaders.price_cache import load_price_book
from eks_gpu.loaders.state_file import read_state_file


def median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    state = read_state_file(args.dump)
    prices = load_price_book(region_of(state))
    store = Store(state)
    ledger = PodLedger.of(state.of("Pod"))
    pod = copy.deepcopy(next(p for p in state.of("Pod") if p["spec"].get("nodeName")))

    def one_event() -> None:
        pod["metadata"]["resourceVersion"] = str(time.monotonic_ns())
        store.apply("Pod", "MODIFIED", pod)
        ledger.add(pod)
        inventory(store.state(), prices, ledger=ledger)

    def from_scratch() -> None:
        inventory(store.state(), prices)

    pods, nodes = len(state.of("Pod")), len(state.of("Node"))
    print(f"{nodes} nodes, {pods} pods")
    update, scratch = median_ms(one_event, args.repeat), median_ms(from_scratch, args.repeat)
    print(f"one watch update (ledger + store + inventory): {update:.0f} ms CPU")
    print(f"inventory from every pod:                      {scratch:.0f} ms CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
