#!/usr/bin/env python3
"""In-process load time of the bundled catalogs (first load, cold caches), median of N runs.

Each run starts a fresh interpreter so the ``functools.cache`` of the loaders is empty, and
times only the load call itself. Usage: python benchmarks/catalog_load.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

PROBES = {
    "gpu_instance_types (73 GPU types)": (
        "from eks_gpu.catalog.gpu_types import gpu_instance_types as load"
    ),
    "all_instance_types (1,363 types)": (
        "from eks_gpu.catalog.instance_types import all_instance_types as load"
    ),
    "bundled_price_book (1,367 prices)": (
        "from eks_gpu.catalog.prices import bundled_price_book as load"
    ),
}
TIMER = "import time\n{imp}\nt = time.perf_counter(); load(); print(time.perf_counter() - t)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"{'loader':40} {'median ms':>10} {'min ms':>8}")
    for label, imp in PROBES.items():
        code = TIMER.format(imp=imp)
        samples = [
            float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout)
            for _ in range(args.runs)
        ]  # fmt: skip
        print(f"{label:40} {statistics.median(samples) * 1e3:10.2f} {min(samples) * 1e3:8.2f}")


if __name__ == "__main__":
    main()
