"""The guide's isolation principle, checked: a plain CPU pod must never land on a GPU pool.

For every NodePool that can launch GPU instance types we simulate a probe pod with no
toleration, no selector and a small CPU request, against that pool alone. If Karpenter
would give it a node, the pool does not isolate GPU capacity (usually: it is untainted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from eks_gpu.names import GPU_RESOURCES, TAINT_NVIDIA_GPU
from eks_gpu.scheduling.pools import PoolModel
from eks_gpu.scheduling.solver import Solver
from eks_gpu.scheduling.taints import taint_str
from eks_gpu.scheduling.workloads import SimPod

PROBE_SPEC = {
    "containers": [
        {
            "name": "cpu",
            "image": "busybox",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        }
    ]
}


@dataclass(frozen=True)
class IsolationResult:
    """For one GPU pool: whether a plain CPU pod could land there, and why (not)."""

    nodepool: str
    isolated: bool
    message: str


def _is_gpu_pool(pool: PoolModel) -> bool:
    return any(t.capacity.get(key, 0) > 0 for t in pool.types for key in GPU_RESOURCES)


def check_isolation(pools: Sequence[PoolModel]) -> list[IsolationResult]:
    """One result per GPU pool, in name order."""
    probe = SimPod.from_spec("isolation-probe", "plain-cpu-pod", PROBE_SPEC)
    out = []
    for pool in sorted(pools, key=lambda p: p.name):
        if not _is_gpu_pool(pool):
            continue
        trial = replace(pool, used=dict(pool.used))  # the probe must not consume real limits
        plan = Solver([trial]).solve([probe])
        if plan.claims:
            chosen, _ = plan.claims[0].launch()
            out.append(IsolationResult(pool.name, False,
                f"a plain CPU pod (no toleration) would get a {chosen.name} from GPU pool "
                f"{pool.name}: taint the pool, e.g. "
                f"{TAINT_NVIDIA_GPU}=true:NoSchedule"))  # fmt: skip
        else:
            taints = ", ".join(taint_str(t) for t in pool.taints) or "its requirements"
            out.append(IsolationResult(pool.name, True,
                f"a plain CPU pod cannot land on GPU pool {pool.name} ({taints})"))  # fmt: skip
    return out


__all__ = ["IsolationResult", "check_isolation"]
