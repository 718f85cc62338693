"""Tier 3: real Karpenter (core + its kwok cloud provider) on the local control plane.

Karpenter gets an instance-types file generated from **our** catalog, so its choices can be
compared with ours: each GPU instance type of ``eks_gpu.catalog`` with

- ``resources`` = our modelled allocatable plus kwok's fixed overhead (100m CPU, 10Mi), so
  Karpenter's allocatable for the type equals ours and only the scheduling logic differs;
- one on-demand offering per zone at our on-demand price. The bundled catalog has no spot
  prices, and inventing some would decide the outcome, so there is no spot offering;
- every ``karpenter.k8s.aws/*`` label of the type as an offering requirement: the kwok
  provider treats those keys as well known and stamps them on the node, so NodePools written
  for AWS (instance family, GPU manufacturer, ...) select the same types here.

Karpenter runs in a private network namespace (see nsbridge.py): it binds its metrics and
health ports on all interfaces, which must not reach the host.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from eks_gpu.catalog.instance_types import all_instance_types

from .kube import Kube
from .plane import Plane, free_port, install_crds, start_process, wait_ready, write_kubeconfig

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
KWOK_OVERHEAD = {"cpu": Decimal("0.1"), "memory": Decimal(10)}  # cores, MiB
KARPENTER_CRDS = (
    "karpenter.kwok.sh_kwoknodeclasses.yaml",
    "karpenter.sh_nodeoverlays.yaml",
    "autoscaling.x-k8s.io_capacitybuffers.yaml",
)
INSIDE_API_PORT, INSIDE_HEALTH_PORT = 6443, 8081  # inside Karpenter's own network namespace


def _plus_overhead(resources: dict[str, str]) -> dict[str, str]:
    out = dict(resources)
    cpu = resources["cpu"]
    cores = Decimal(cpu[:-1]) / 1000 if cpu.endswith("m") else Decimal(cpu)
    out["cpu"] = f"{int((cores + KWOK_OVERHEAD['cpu']) * 1000)}m"
    memory = resources["memory"]
    assert memory.endswith("Mi"), memory  # the catalog models memory in Mi
    out["memory"] = f"{int(Decimal(memory[:-2]) + KWOK_OVERHEAD['memory'])}Mi"
    return out


def _in(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": [value]}


def gpu_instance_types() -> list[dict[str, Any]]:
    """Karpenter-kwok's ``InstanceTypeOptions`` for every GPU type our catalog prices."""
    types = []
    for name, it in sorted(all_instance_types().items()):
        if "karpenter.k8s.aws/instance-gpu-count" not in it.labels or it.price is None:
            continue
        aws = [
            _in(k, v) for k, v in sorted(it.labels.items()) if k.startswith("karpenter.k8s.aws/")
        ]
        offerings = [
            {
                "Price": it.price,
                "Available": True,
                "Requirements": [
                    {
                        "key": "karpenter.sh/capacity-type",
                        "operator": "In",
                        "values": ["on-demand"],
                    },
                    {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]},
                    *aws,
                ],
            }
            for zone in ZONES
        ]
        types.append(
            {
                "name": name,
                "architecture": it.labels["kubernetes.io/arch"],
                "operatingSystems": ["linux"],
                "resources": _plus_overhead(dict(it.resources)),
                "offerings": offerings,
            }
        )
    return types


def start_karpenter(plane: Plane, bins: dict[str, Path], *, tie_to_parent: bool = False) -> None:
    """Install its kwok CRDs, write the instance types, start Karpenter, wait for /readyz."""
    install_crds(plane, [bins[name] for name in KARPENTER_CRDS])
    types_file = plane.dir / "instance-types.json"
    types_file.write_text(json.dumps(gpu_instance_types(), indent=1))
    upstream = plane.server.removeprefix("https://")
    kubeconfig = plane.dir / "karpenter.kubeconfig"
    write_kubeconfig(
        plane, kubeconfig, ["karpenter"], server=f"https://127.0.0.1:{INSIDE_API_PORT}"
    )
    health = free_port()
    argv = [
        sys.executable,
        "-m",
        "controlplane.nsbridge",
        f"--out={INSIDE_API_PORT}:{upstream}",
        f"--in={health}:{INSIDE_HEALTH_PORT}",
        "--",
        str(bins["karpenter-kwok"]),
    ]
    env = {
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "KUBECONFIG": str(kubeconfig),
        "DISABLE_LEADER_ELECTION": "true",
        "HEALTH_PROBE_PORT": str(INSIDE_HEALTH_PORT),
        "METRICS_PORT": "8080",
        "INSTANCE_TYPES_FILE_PATH": str(types_file),
        "BATCH_IDLE_DURATION": "1s",
        "BATCH_MAX_DURATION": "3s",
        "LOG_LEVEL": "debug",
    }
    start_process(plane, "karpenter", argv, tie_to_parent, **env)
    wait_ready(plane, "karpenter", f"http://127.0.0.1:{health}/readyz", None, 60)


def kwok_nodeclass(kube: Kube, name: str = "default") -> dict[str, Any]:
    """A KWOKNodeClass, created through its CRD (which defaults it to Ready)."""
    obj = {
        "apiVersion": "karpenter.kwok.sh/v1alpha1",
        "kind": "KWOKNodeClass",
        "metadata": {"name": name},
    }
    return kube.apply(obj, "eks-gpu-test")
