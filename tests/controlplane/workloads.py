"""Seeded, generated workloads for the Karpenter agreement benchmark (issue 10, Oracles).

Each :func:`generate` call with the same seed gives the same workloads: pod mixes (GPU count,
CPU, memory, ephemeral storage; node selectors and affinity on GPU name, family, GPU count,
size and GPU memory; pods without the explicit GPU toleration), one to three pools (weights,
equal-weight ties, other families, spot-only or on-demand-only, tight GPU limits, a taint of
their own) and sometimes a NodeOverlay (price, price adjustment, or an extended resource) on
the types of one family or GPU.

One rule keeps them decidable: pods of different shapes in one workload get different CPU
requests. Karpenter orders pods by CPU, then memory, then creation second, then UID
(scheduling/queue.go ``byCPUAndMemoryDescending``); ties between different shapes would make
its order, and so its answer, random.
"""

from __future__ import annotations

import random

from eks_gpu.catalog.instance_types import all_instance_types

from .agreement import FAMILY, GPU_NAME, INSTANCE_TYPE, Overlay, Pod, Pool, Requirement, Workload
from .karpenter import gpu_type_names

GPU_COUNT = "karpenter.k8s.aws/instance-gpu-count"
GPU_MEMORY = "karpenter.k8s.aws/instance-gpu-memory"
SIZE = "karpenter.k8s.aws/instance-size"
GUIDE_FAMILIES = ("g4dn", "g5", "g6", "g6e", "p4d", "p4de")
OTHER_FAMILIES = ("g7", "g7e", "gr6", "p5", "p5en", "p3dn", "g4ad")
GPU_NAMES = ("t4", "a10g", "l4", "l40s", "a100", "h100", "rtx-pro-4500")
SIZES = ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "48xlarge")
CPUS = ("250m", "500m", "750m", "1", "1500m", "2", "3", "4", "6", "10", "14", "30")
MEMORIES = ("256Mi", "512Mi", "1Gi", "2Gi", "4Gi", "8Gi", "12Gi", "30Gi", "60Gi", "120Gi")
EPHEMERAL = ("5Gi", "30Gi", "60Gi", "100Gi", "400Gi")
GPUS = (1, 1, 1, 1, 2, 4, 4, 8, 0)


def generate(seed: int, count: int) -> list[Workload]:
    """``count`` workloads, the same ones for the same ``seed``."""
    rng = random.Random(seed)
    return [_workload(rng, f"gen-{seed}-{i:03d}") for i in range(count)]


def _workload(rng: random.Random, name: str) -> Workload:
    pools = _pools(rng)
    overlays = _overlays(rng) if rng.random() < 0.15 else ()
    widgets = any(o.widgets for o in overlays)
    tainted = any(p.tainted for p in pools)
    cpus = rng.sample(CPUS, k=rng.choice((1, 1, 2, 2, 3)))
    pods = tuple(_pod(rng, cpu, tainted, widgets) for cpu in cpus)
    return Workload(name, pods, pools, overlays)


def _pools(rng: random.Random) -> tuple[Pool, ...]:
    count = rng.choice((1, 1, 1, 2, 2, 3))
    tie = count > 1 and rng.random() < 0.4
    weights = rng.sample((None, 5, 10, 50, 90), k=count)
    if tie:
        weights = [rng.choice((None, 10))] * count
    return tuple(
        Pool(
            suffix="abc"[i],
            weight=weights[i],
            families=_families(rng) if rng.random() < 0.35 else (),
            capacity_types=rng.choice(((), (), ("on-demand",), ("spot",))),
            gpu_limit=rng.choice((2, 4, 8)) if rng.random() < 0.2 else None,
            tainted=rng.random() < 0.12,
        )
        for i in range(count)
    )


def _families(rng: random.Random) -> tuple[str, ...]:
    pool = GUIDE_FAMILIES + OTHER_FAMILIES
    return tuple(sorted(rng.sample(pool, k=rng.choice((1, 2, 3)))))


def _pod(rng: random.Random, cpu: str, tainted: bool, widgets: bool) -> Pod:
    selector: tuple[tuple[str, str], ...] = ()
    affinity: tuple[Requirement, ...] = ()
    kind = rng.random()
    if kind < 0.08:
        selector = ((GPU_NAME, rng.choice(GPU_NAMES)),)
    elif kind < 0.16:
        selector = ((FAMILY, rng.choice(GUIDE_FAMILIES + OTHER_FAMILIES[:3])),)
    elif kind < 0.23:
        affinity = ((GPU_COUNT, rng.choice(("Gt", "Lt")), (str(rng.choice((1, 2, 4))),)),)
    elif kind < 0.28:
        affinity = ((SIZE, "In", tuple(sorted(rng.sample(SIZES, k=2)))),)
    elif kind < 0.33:
        affinity = ((GPU_MEMORY, "Gt", (str(rng.choice((16000, 24000, 40000))),)),)
    elif kind < 0.37:
        affinity = ((GPU_NAME, "NotIn", tuple(sorted(rng.sample(GPU_NAMES, k=2)))),)
    return Pod(
        gpus=rng.choice(GPUS),
        cpu=cpu,
        memory=rng.choice(MEMORIES),
        ephemeral=rng.choice(EPHEMERAL) if rng.random() < 0.25 else None,
        selector=selector,
        affinity=affinity,
        tolerates=rng.random() < 0.75,
        tolerates_taint=tainted and rng.random() < 0.75,
        widgets=1 if widgets and rng.random() < 0.5 else 0,
        count=rng.choice((1, 1, 1, 2, 3)),
    )


def _overlays(rng: random.Random) -> tuple[Overlay, ...]:
    key, value = rng.choice(
        ((FAMILY, rng.choice(GUIDE_FAMILIES)), (GPU_NAME, rng.choice(GPU_NAMES[:4])))
    )
    target = instance_types(key, value)
    kind = rng.choice(("adjust", "price", "capacity", "capacity"))
    if kind == "capacity":
        return (Overlay(requirements=(target,), widgets=rng.choice((1, 2, 4))),)
    if kind == "price":
        return (Overlay(requirements=(target,), price=rng.choice(("0.05", "0.5", "100"))),)
    adjustment = rng.choice(("-90%", "-50%", "+200%", "-0.5"))
    return (Overlay(requirements=(target,), price_adjustment=adjustment),)


def instance_types(key: str, value: str) -> Requirement:
    """``node.kubernetes.io/instance-type In`` the GPU types whose ``key`` is ``value``.

    An overlay's requirements must be compatible with the instance type's own requirements
    (nodeoverlay/controller.go ``getOverlaidOfferings``), and the kwok provider builds those
    from a fixed set of keys (kwok/cloudprovider/helpers.go ``newInstanceType``: instance type,
    arch, os, zone, capacity type, ``karpenter.kwok.sh/*``): a ``karpenter.k8s.aws/*`` key
    would match nothing there, so overlays name the instance types.
    """
    catalog = all_instance_types()
    names = [n for n in gpu_type_names() if catalog[n].labels.get(key) == value]
    return (INSTANCE_TYPE, "In", tuple(names))
