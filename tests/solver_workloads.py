"""Seeded random scheduling workloads for the solver's oracle tests and benchmark.

:func:`random_case` draws 1-3 NodePools (weights with ties, GPU families with or without a
CPU family, spot/on-demand, tainted or not, GPU/CPU/node limits, sometimes a minValues on
the instance family) and a pod mix (0-8 GPUs, CPU and memory from Karpenter's benchmark
sets, some selecting a GPU name, family or capacity type, some not tolerating the taint).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from eks_gpu.catalog.prices import PriceBook
from eks_gpu.scheduling.pools import PoolModel
from eks_gpu.scheduling.simulate import Inputs, build_pools
from eks_gpu.scheduling.workloads import SimPod, expand_workloads

GPU_FAMILIES = ("g4dn", "g5", "g6", "g6e", "p4d", "p5")
CPU_FAMILIES = ("m5", "c5", "r5")
GPU_NAMES = ("t4", "a10g", "l4", "l40s", "a100", "h100")
CPUS = ("100m", "250m", "500m", "1000m", "1500m", "4", "16")
MEMORIES = ("100Mi", "256Mi", "512Mi", "1024Mi", "2048Mi", "4096Mi", "32Gi")
TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
NODE_CLASS = {
    "apiVersion": "karpenter.k8s.aws/v1",
    "kind": "EC2NodeClass",
    "metadata": {"name": "default"},
    "spec": {"amiSelectorTerms": [{"alias": "al2023@latest"}], "role": "r"},
}


@dataclass(frozen=True)
class Case:
    """One workload: NodePool objects and pods (pools are rebuilt per solve)."""

    seed: int
    nodepools: list[dict[str, Any]]
    pods: list[SimPod]

    def pools(self, prices: PriceBook) -> list[PoolModel]:
        inputs = Inputs(self.nodepools, [NODE_CLASS], [], prices)
        return build_pools(inputs, [])


def _requirement(key: str, values: list[str], min_values: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": "In", "values": values}
    if min_values:
        out["minValues"] = min_values
    return out


def _limits(rng: random.Random) -> dict[str, str]:
    return rng.choice(
        [{}, {}, {"nvidia.com/gpu": str(rng.choice((8, 16, 24, 40)))}, {"cpu": "400"},
         {"nodes": str(rng.choice((2, 5)))}, {"nvidia.com/gpu": "32", "memory": "4000Gi"}]
    )  # fmt: skip


def random_pool(rng: random.Random, name: str) -> dict[str, Any]:
    families = rng.sample(GPU_FAMILIES, rng.randint(1, 4))
    if rng.random() < 0.3:
        families.append(rng.choice(CPU_FAMILIES))
    family_min = 2 if len(families) >= 2 and rng.random() < 0.2 else None
    requirements = [
        _requirement("karpenter.k8s.aws/instance-family", families, family_min),
        _requirement(
            "karpenter.sh/capacity-type", rng.choice([["spot", "on-demand"], ["on-demand"]])
        ),
        _requirement("kubernetes.io/arch", ["amd64"]),
    ]
    spec: dict[str, Any] = {"nodeClassRef": {"name": "default"}, "requirements": requirements}
    if rng.random() < 0.8:
        spec["taints"] = [TAINT]
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": name},
        "spec": {
            "weight": rng.choice((0, 0, 10)),
            "limits": _limits(rng),
            "template": {"spec": spec},
        },
    }


def random_pod(rng: random.Random, index: int) -> SimPod:
    gpus = rng.choice((0, 1, 1, 1, 2, 4, 8))
    resources: dict[str, Any] = {
        "requests": {"cpu": rng.choice(CPUS), "memory": rng.choice(MEMORIES)}
    }
    if gpus:
        resources["limits"] = {"nvidia.com/gpu": str(gpus)}
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x", "resources": resources}]}
    if rng.random() < 0.9:
        spec["tolerations"] = [TOLERATION]
    draw = rng.random()
    if draw < 0.1:
        spec["nodeSelector"] = {"karpenter.k8s.aws/instance-gpu-name": rng.choice(GPU_NAMES)}
    elif draw < 0.2:
        spec["nodeSelector"] = {"karpenter.k8s.aws/instance-family": rng.choice(GPU_FAMILIES)}
    elif draw < 0.25:
        spec["nodeSelector"] = {"karpenter.sh/capacity-type": "spot"}
    return SimPod.from_spec("ml", f"p{index}", spec)


def random_case(seed: int, pods: int | None = None) -> Case:
    """A seeded workload of ``pods`` pods (20-300 when None)."""
    rng = random.Random(seed)
    names = rng.sample(("a", "b", "c"), rng.randint(1, 3))
    nodepools = [random_pool(rng, name) for name in names]
    count = pods if pods is not None else rng.randint(20, 300)
    return Case(seed, nodepools, [random_pod(rng, i) for i in range(count)])


def daemonsets(objects: list[dict[str, Any]]) -> list[Any]:
    """The DaemonSet views among rendered ``objects`` (overhead for build_pools)."""
    return expand_workloads([o for o in objects if o["kind"] == "DaemonSet"])[1]
