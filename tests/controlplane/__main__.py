"""``python -m controlplane build|up|down|env`` (with tests/ on PYTHONPATH; see
scripts/controlplane.sh): the local control plane for the tests, by hand."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from .build import BuildError, build_all
from .plane import REFERENCE, Plane, PlaneError, down, karpenter_crds, up

DEFAULT_DIR = Path(
    os.environ.get("EKS_GPU_CONTROLPLANE_DIR")
    or Path(tempfile.gettempdir()) / f"eks-gpu-controlplane-{os.getuid()}"
)


def _env(plane: Plane) -> str:
    return (
        f"export KUBECONFIG={plane.kubeconfig}\n"
        f"# audit log: {plane.audit_log}; logs: {plane.dir}/*.log\n"
        f"# users (kubectl --context): admin (system:masters), restricted (no bindings)\n"
        f"# running: {', '.join(plane.pids)}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="controlplane", description=__doc__)
    parser.add_argument("verb", choices=["build", "up", "down", "env"])
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="state folder for up/down/env"
    )
    parser.add_argument(
        "--karpenter", action="store_true", help="up: also start Karpenter (kwok provider)"
    )
    args = parser.parse_args(argv)
    try:
        if args.verb == "down":
            down(args.dir)
            return 0
        if args.verb == "env":
            sys.stdout.write(_env(Plane.load(args.dir)))
            return 0
        bins = build_all(log=lambda line: print(line, file=sys.stderr))
        if args.verb == "up":
            start = time.monotonic()
            crds = karpenter_crds()
            if not crds:
                print(
                    f"warning: no Karpenter CRDs under {REFERENCE}; none installed", file=sys.stderr
                )
            plane = up(args.dir, bins, crds)
            if args.karpenter:
                from .agreement import rendered  # imports eks_gpu
                from .karpenter import price_book, start_karpenter

                nodeclass = next(o for o in rendered() if o["kind"] == "EC2NodeClass")
                start_karpenter(plane, bins, nodeclass, price_book())
            print(f"up in {time.monotonic() - start:.1f}s", file=sys.stderr)
            sys.stdout.write(_env(plane))
    except (BuildError, PlaneError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except FileNotFoundError as err:
        print(f"error: {err} (not up? run `scripts/controlplane.sh up`)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
