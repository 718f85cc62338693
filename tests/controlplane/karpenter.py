"""Tier 3: real Karpenter (core + its kwok cloud provider) on the local control plane.

Karpenter gets an instance-types file generated from **our** model, so its choices can be
compared with ours: each GPU instance type of ``eks_gpu.catalog`` with

- ``resources`` = the allocatable ``eks-gpu simulate`` computes for the rendered EC2NodeClass
  (kubelet settings, RAID0, root volume), plus kwok's fixed overhead (100m CPU, 10Mi:
  kwok/cloudprovider/helpers.go ``newInstanceType``), so Karpenter's allocatable for the type
  equals ours and only the scheduling logic differs;
- per zone, an on-demand offering at the bundled on-demand price and a spot offering at a
  made-up, deterministic price (:func:`price_book`; simulate gets the same book);
- every ``karpenter.k8s.aws/*`` label of the type as an offering requirement: the kwok
  provider treats those keys as well known and stamps them on the node, so NodePools written
  for AWS (instance family, GPU manufacturer, ...) select the same types here.

Karpenter runs in a private network namespace (see nsbridge.py): it binds its metrics and
health ports on all interfaces, which must not reach the host. The NodeOverlay feature gate
is on (options.go ``DefaultFeatureGates`` has it off).
"""

from __future__ import annotations

import hashlib
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from eks_gpu.catalog.instance_types import all_instance_types
from eks_gpu.catalog.prices import PriceBook, bundled_price_book
from eks_gpu.scheduling.simulate import Inputs, build_pools

from .kube import Kube
from .plane import Plane, free_port, install_crds, start_process, wait_ready, write_kubeconfig

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
KWOK_OVERHEAD = {"cpu": Decimal("0.1"), "memory": Decimal(10 * 2**20)}  # cores, bytes
KARPENTER_CRDS = (
    "karpenter.kwok.sh_kwoknodeclasses.yaml",
    "karpenter.sh_nodeoverlays.yaml",
    "autoscaling.x-k8s.io_capacitybuffers.yaml",
)
INSIDE_API_PORT, INSIDE_HEALTH_PORT = 6443, 8081  # inside Karpenter's own network namespace
FEATURE_GATES = "NodeOverlay=true"
GPU_COUNT = "karpenter.k8s.aws/instance-gpu-count"


def _fraction(*parts: str) -> float:
    """A stable number in [0, 1) from ``parts`` (not Python's salted hash)."""
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def gpu_type_names() -> list[str]:
    """The GPU types our catalog prices: what Karpenter is offered."""
    return sorted(
        name
        for name, it in all_instance_types().items()
        if GPU_COUNT in it.labels and it.price is not None
    )


def price_book() -> PriceBook:
    """Bundled on-demand prices, and spot at 25-75% of on-demand per type and zone
    (deterministic: the same book every run); only GPU types are offered. Every type has spot:
    simulate offers spot wherever on-demand is (a PriceBook has no "not offered", only an
    unknown price)."""
    bundled = bundled_price_book()
    names = gpu_type_names()
    spot = {
        name: {
            zone: round(bundled.on_demand[name] * (0.25 + 0.5 * _fraction(name, zone)), 4)
            for zone in ZONES
        }
        for name in names
    }
    return PriceBook(
        region=bundled.region,
        source="aws",
        date="benchmark",
        on_demand={name: bundled.on_demand[name] for name in names},
        spot=spot,
        zones={name: ZONES for name in names},
    )


def _quantity(key: str, value: Decimal) -> str:
    value += KWOK_OVERHEAD.get(key, Decimal(0))
    if key == "cpu":
        return f"{int(value * 1000)}m"
    return str(int(value))


def _in(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": [value]}


def gpu_instance_types(prices: PriceBook, nodeclass: dict[str, Any]) -> list[dict[str, Any]]:
    """Karpenter-kwok's ``InstanceTypeOptions`` for every type of ``prices``, with the
    allocatable simulate gives it in a pool on ``nodeclass`` (its own ``build_pools``)."""
    everything = {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "all"},
        "spec": {"template": {"spec": {"nodeClassRef": {"name": nodeclass["metadata"]["name"]}}}},
    }
    inputs = Inputs(
        nodepools=[everything], nodeclasses=[nodeclass], workloads=[], prices=prices, zones=ZONES
    )
    model = build_pools(inputs, [])[0].types
    catalog = all_instance_types()
    types = []
    for sim in sorted(model, key=lambda t: t.name):
        labels = catalog[sim.name].labels
        aws = [_in(k, v) for k, v in sorted(labels.items()) if k.startswith("karpenter.k8s.aws/")]
        offerings = [
            {
                "Price": price,
                "Available": True,
                "Requirements": [
                    _in("karpenter.sh/capacity-type", capacity_type),
                    _in("topology.kubernetes.io/zone", zone),
                    *aws,
                ],
            }
            for zone in ZONES
            for capacity_type, price in (
                ("on-demand", prices.on_demand[sim.name]),
                ("spot", prices.spot.get(sim.name, {}).get(zone)),
            )
            if price is not None
        ]
        types.append(
            {
                "name": sim.name,
                "architecture": labels["kubernetes.io/arch"],
                "operatingSystems": ["linux"],
                "resources": {k: _quantity(k, v) for k, v in sorted(sim.allocatable.items())},
                "offerings": offerings,
            }
        )
    return types


def start_karpenter(
    plane: Plane,
    bins: dict[str, Path],
    nodeclass: dict[str, Any],
    prices: PriceBook,
    *,
    tie_to_parent: bool = False,
) -> None:
    """Install its kwok CRDs, write the instance types (``prices``, allocatable under
    ``nodeclass``), start Karpenter with NodeOverlay on, wait for /readyz."""
    install_crds(plane, [bins[name] for name in KARPENTER_CRDS])
    types_file = plane.dir / "instance-types.json"
    types_file.write_text(json.dumps(gpu_instance_types(prices, nodeclass), indent=1))
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
        # a batch of the agreement benchmark (hundreds of pods) must land in one pass
        "BATCH_MAX_DURATION": "10s",
        "LOG_LEVEL": "debug",
        "FEATURE_GATES": FEATURE_GATES,
    }
    start_process(plane, "karpenter", argv, tie_to_parent, **env)
    wait_ready(plane, "karpenter", f"http://127.0.0.1:{health}/readyz", None, 60)


def remove_nodeclaims(kube: Kube, nodepool: str, timeout: float = 90) -> None:
    """Delete the NodeClaims of ``nodepool`` and wait until they are gone: Karpenter drains
    and deletes their nodes (kwok deletes the pods), then drops its finalizer. Deleting them
    explicitly, not by cascading from the NodePool, lets the next test start with no nodes."""
    claims = "/apis/karpenter.sh/v1/nodeclaims"
    selector = f"karpenter.sh/nodepool={nodepool}"
    for claim in kube.get(claims, labelSelector=selector)["items"]:
        kube.request("DELETE", f"{claims}/{claim['metadata']['name']}")
    kube.wait_for(claims, lambda found: not found["items"], timeout=timeout, labelSelector=selector)


def kwok_nodeclass(kube: Kube, name: str = "default") -> dict[str, Any]:
    """A KWOKNodeClass, created through its CRD (which defaults it to Ready)."""
    obj = {
        "apiVersion": "karpenter.kwok.sh/v1alpha1",
        "kind": "KWOKNodeClass",
        "metadata": {"name": name},
    }
    return kube.apply(obj, "eks-gpu-test")


def on_kwok(nodepool: dict[str, Any], name: str, label: str) -> dict[str, Any]:
    """A copy of a rendered NodePool named ``name`` that Karpenter's kwok provider launches
    for (its ``nodeClassRef`` is the default KWOKNodeClass), its nodes labelled
    ``label=name`` so a test's pods select only them."""
    import copy

    pool = copy.deepcopy(nodepool)
    pool["metadata"] = {**pool.get("metadata", {}), "name": name}
    template = pool["spec"]["template"]
    template.setdefault("metadata", {}).setdefault("labels", {})[label] = name
    template["spec"]["nodeClassRef"] = {
        "group": "karpenter.kwok.sh",
        "kind": "KWOKNodeClass",
        "name": "default",
    }
    return pool
