"""Guide steps 1-3 as pure checks over objects read from the cluster.

- ``objects``: the NodePool and EC2NodeClass exist and their ``Ready`` condition is True
  (Karpenter writes it: NodePool ``Ready`` needs ``NodeClassReady``, the EC2NodeClass needs
  its subnets, security groups, AMIs and instance profile resolved);
- ``device-plugin``: a device plugin DaemonSet has every desired pod ready, one of them on
  each GPU node of the pool;
- ``nodes``: each GPU node of the pool is Ready, carries the pool's labels and taints, and
  advertises ``nvidia.com/gpu`` in ``allocatable`` (only the device plugin puts it there).

A pool scaled to zero has no node to check: the result says so, and ``verify`` checks again
once its test pods have brought nodes up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from eks_gpu.diagnose.view import (
    conditions,
    labels_of,
    meta,
    name_of,
    owner_kind,
    owner_name,
    ref,
)
from eks_gpu.errors import EksGpuError
from eks_gpu.manifests.cluster_state import is_device_plugin
from eks_gpu.names import RESOURCE_NVIDIA_GPU
from eks_gpu.scheduling.resources import parse_quantity
from eks_gpu.scheduling.taints import taint_str
from eks_gpu.verify.steps import StepResult, failed, passed

Obj = dict[str, Any]
APPLY_HINT = "run `eks-gpu apply` (or `kubectl apply -f` the rendered files)"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ready(obj: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether ``Ready`` is True, else why not (its reason and message, or that it is absent)."""
    ready = conditions(obj).get("Ready")
    if ready is None:
        return False, "no Ready condition yet (its controller has not reconciled it)"
    if ready.get("status") == "True":
        return True, ""
    reason = ready.get("reason") or "NotReady"
    message = ready.get("message") or ""
    return False, f"Ready={ready.get('status')} ({reason}){': ' + message if message else ''}"


def settling(obj: Mapping[str, Any] | None) -> bool:
    """Ready is absent or Unknown: its controller is still at it (Karpenter sets a NodePool
    ``Ready=Unknown`` while it reconciles a change), so the verdict may be worth waiting for."""
    if obj is None:
        return False
    ready = conditions(obj).get("Ready")
    return ready is None or ready.get("status") == "Unknown"


def check_objects(
    pool_name: str, pool: Obj | None, class_name: str, nodeclass: Obj | None
) -> StepResult:
    """Guide step 1: ``kubectl get nodepool`` / ``ec2nodeclass`` show them Ready."""
    problems = []
    for kind, name, obj in (
        ("NodePool", pool_name, pool),
        ("EC2NodeClass", class_name, nodeclass),
    ):
        if obj is None:
            problems.append(f"{kind}/{name} not found: {APPLY_HINT}")
            continue
        ok, why = _ready(obj)
        if not ok:
            problems.append(f"{kind}/{name}: {why}")
    if problems:
        return failed("objects", problems[0], problems)
    return passed("objects", f"NodePool/{pool_name} and EC2NodeClass/{class_name} are Ready")


def _plugin_pods_by_node(daemonset: Obj, pods: Sequence[Obj]) -> dict[str, list[Obj]]:
    namespace = meta(daemonset).get("namespace")
    out: dict[str, list[Obj]] = {}
    for pod in pods:
        if owner_kind(pod) != "DaemonSet" or owner_name(pod) != name_of(daemonset):
            continue
        if meta(pod).get("namespace") != namespace:
            continue
        node = str(_map(pod.get("spec")).get("nodeName") or "")
        out.setdefault(node, []).append(pod)
    return out


def check_device_plugin(
    daemonsets: Sequence[Obj], pods: Sequence[Obj], gpu_nodes: Sequence[Obj]
) -> StepResult:
    """Guide step 2: the plugin DaemonSet is ready (DESIRED = READY), and each GPU node has a
    Ready plugin pod (the one that advertises its GPUs)."""
    plugins = [ds for ds in daemonsets if is_device_plugin(ds)]
    if not plugins:
        return failed(
            "device-plugin",
            "no NVIDIA device plugin DaemonSet in the cluster",
            [f"without it no node advertises {RESOURCE_NVIDIA_GPU}: {APPLY_HINT}"],
        )
    problems = []
    covered: set[str] = set()
    for ds in plugins:
        status = _map(ds.get("status"))
        desired = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
        if ready < desired:
            problems.append(f"{ref(ds)}: {ready} of {desired} pods ready")
        for node, node_pods in _plugin_pods_by_node(ds, pods).items():
            if any(_ready(pod)[0] for pod in node_pods):
                covered.add(node)
    names = [name_of(node) for node in gpu_nodes]
    missing = [n for n in names if n not in covered]
    problems += [f"Node/{n}: no Ready device plugin pod on it" for n in missing]
    refs = ", ".join(ref(ds) for ds in plugins)
    if problems:
        return failed("device-plugin", problems[0], problems)
    if not names:
        return passed("device-plugin", f"{refs} ready; no GPU node in the pool yet")
    return passed("device-plugin", f"{refs} ready on all {len(names)} GPU node(s)")


def gpu_allocatable(node: Mapping[str, Any]) -> Decimal:
    """``status.allocatable['nvidia.com/gpu']`` as a number (0 when absent or malformed)."""
    value = _map(_map(node.get("status")).get("allocatable")).get(RESOURCE_NVIDIA_GPU)
    if value is None:
        return Decimal(0)
    try:
        return parse_quantity(value)
    except (EksGpuError, ValueError, ArithmeticError):
        return Decimal(0)


def _node_problems(
    node: Obj, labels: Mapping[str, str], taints: Sequence[Mapping[str, Any]]
) -> list[str]:
    name = f"Node/{name_of(node)}"
    out = []
    ok, why = _ready(node)
    if not ok:
        out.append(f"{name}: {why}")
    have = labels_of(node)
    out += [
        f"{name}: label {key}={value} missing (has {have.get(key, 'none')})"
        for key, value in sorted(labels.items())
        if have.get(key) != value
    ]
    live = {taint_str(t) for t in _map(node.get("spec")).get("taints") or [] if isinstance(t, dict)}
    out += [f"{name}: taint {taint_str(t)} missing" for t in taints if taint_str(t) not in live]
    if gpu_allocatable(node) <= 0:
        out.append(
            f"{name}: allocatable {RESOURCE_NVIDIA_GPU} is 0 or absent "
            "(the device plugin has not registered its GPUs)"
        )
    return out


def check_nodes(
    pool_name: str,
    nodes: Sequence[Obj],
    labels: Mapping[str, str],
    taints: Sequence[Mapping[str, Any]],
) -> StepResult:
    """Guide step 3: ``kubectl get nodes -l node-type=gpu`` and ``describe node | grep
    nvidia.com/gpu``, for the pool's nodes."""
    if not nodes:
        return passed("nodes", f"no node in NodePool/{pool_name} yet (it scales from zero)")
    problems = [p for node in nodes for p in _node_problems(node, labels, taints)]
    if problems:
        return failed("nodes", problems[0], problems)
    gpus = sum(gpu_allocatable(node) for node in nodes)
    return passed(
        "nodes",
        f"{len(nodes)} node(s) in NodePool/{pool_name}: labelled, tainted, {gpus} GPU(s) "
        "allocatable",
        [f"Node/{name_of(n)}: {gpu_allocatable(n)} {RESOURCE_NVIDIA_GPU}" for n in nodes],
        nodes=len(nodes),
        gpus=int(gpus),
    )


__all__ = ["check_device_plugin", "check_nodes", "check_objects", "gpu_allocatable", "settling"]
