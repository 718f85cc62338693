"""Test builders with defaults and keyword overrides (STYLE.md lesson 9).

Like Karpenter's ``test.Pod(PodOptions)`` and ``fake.NewInstanceType(...)``: the defaults
make the common object a one-liner and each test states only what differs.

* ``make_pod(gpus=1)`` is the happy GPU pod: it asks for one ``nvidia.com/gpu`` and carries
  the guide's ``nvidia.com/gpu`` toleration (pass ``tolerations=[]`` for none);
* ``make_nodepool()``, ``make_nodeclass()``, ``make_daemonset()``, ``make_node()`` and
  ``make_workload(kind)`` build the other objects as the API returns them;
* ``make_instance_type()`` builds a priced ``SimInstanceType`` by hand, for tests that must
  not depend on the catalog.

Objects are plain dicts, as everywhere in eks-gpu; every call returns a fresh one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from eks_gpu.names import (
    API_VERSION_APPS,
    API_VERSION_EC2NODECLASS,
    API_VERSION_NODEPOOL,
    LABEL_ARCH,
    LABEL_INSTANCE_TYPE,
    LABEL_NODEPOOL,
    RESOURCE_NVIDIA_GPU,
    TAINT_NVIDIA_GPU,
)
from eks_gpu.scheduling.instance_model import Offering, SimInstanceType
from eks_gpu.scheduling.requirement import Requirement
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import parse_quantity

Obj = dict[str, Any]
Terms = Sequence[Sequence[Obj]]

GPU = RESOURCE_NVIDIA_GPU
GPU_TOLERATION: Obj = {"key": TAINT_NVIDIA_GPU, "operator": "Exists", "effect": "NoSchedule"}
"""The guide's toleration for GPU pods."""
GPU_TAINT: Obj = {"key": TAINT_NVIDIA_GPU, "value": "true", "effect": "NoSchedule"}
"""The guide's taint on GPU NodePools."""


def expr(key: str, operator: str, *values: str, min_values: int | None = None) -> Obj:
    """One node selector requirement (``values`` left out when there are none)."""
    out: Obj = {"key": key, "operator": operator}
    if values:
        out["values"] = list(values)
    if min_values is not None:
        out["minValues"] = min_values
    return out


def node_affinity(affinity_terms: Terms | None = None, preferred: Any = None) -> Obj:
    """``{"nodeAffinity": ...}`` from required terms (ORed lists of expressions; ``[]`` is an
    empty term) and ``(weight, expressions)`` preferences; ``{}`` when both are None."""
    out: Obj = {}
    if affinity_terms is not None:
        terms = [{"matchExpressions": list(term)} for term in affinity_terms]
        out["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": terms}
    if preferred is not None:
        out["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": weight, "preference": {"matchExpressions": list(term)}}
            for weight, term in preferred
        ]
    return {"nodeAffinity": out} if out else {}


def make_spec(
    *,
    gpus: int = 0,
    cpu: str | None = "1",
    memory: str | None = "2Gi",
    requests: Mapping[str, Any] | None = None,
    limits: Mapping[str, Any] | None = None,
    tolerations: Sequence[Obj] | None = None,
    node_selector: Mapping[str, str] | None = None,
    affinity_terms: Terms | None = None,
    preferred: Sequence[tuple[int, Sequence[Obj]]] | None = None,
    **fields: Any,
) -> Obj:
    """A pod spec with one container.

    ``requests`` replaces the ``cpu``/``memory`` requests; ``gpus`` adds an
    ``nvidia.com/gpu`` limit (and request) and, unless ``tolerations`` is given, the guide's
    toleration. ``fields`` are set on the spec as they are (``hostNetwork=True``, ...).
    """
    wanted: Obj = dict(requests) if requests is not None else {}
    if requests is None:
        wanted.update({k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None})
    most: Obj = dict(limits or {})
    if gpus:
        wanted[GPU] = most[GPU] = str(gpus)
    resources: Obj = {"requests": wanted}
    if most:
        resources["limits"] = most
    spec: Obj = {"containers": [{"name": "app", "image": "app", "resources": resources}]}
    if tolerations is None and gpus:
        tolerations = [GPU_TOLERATION]
    if tolerations:
        spec["tolerations"] = list(tolerations)
    if node_selector is not None:
        spec["nodeSelector"] = dict(node_selector)
    affinity = node_affinity(affinity_terms, preferred)
    if affinity:
        spec["affinity"] = affinity
    spec.update(fields)
    return spec


def _metadata(name: str, namespace: str | None, owner: tuple[str, str] | None = None) -> Obj:
    metadata: Obj = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if owner is not None:
        kind, owner_name = owner
        metadata["ownerReferences"] = [{"kind": kind, "name": owner_name, "controller": True}]
    return metadata


def make_pod(
    name: str = "p",
    *,
    namespace: str | None = "default",
    node: str | None = None,
    phase: str | None = None,
    owner: tuple[str, str] | None = None,
    **spec: Any,
) -> Obj:
    """A Pod; ``spec`` keywords go to :func:`make_spec`. ``node`` binds it (phase Running
    unless ``phase`` says otherwise); without either it has no status (Pending)."""
    pod_spec = make_spec(**spec)
    if node is not None:
        pod_spec["nodeName"] = node
    out: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": _metadata(name, namespace, owner)}
    out["spec"] = pod_spec
    if node is not None or phase is not None:
        out["status"] = {"phase": phase or "Running"}
    return out


def make_workload(
    kind: str,
    name: str = "w",
    *,
    namespace: str | None = "default",
    owner: tuple[str, str] | None = None,
    pod: Obj | None = None,
    **fields: Any,
) -> Obj:
    """A Deployment/StatefulSet/ReplicaSet/Job/CronJob/DaemonSet around pod spec ``pod``
    (default :func:`make_spec`), with ``fields`` in its spec (``job=`` for a CronJob's)."""
    template = {"metadata": {"labels": {"app": name}}, "spec": pod or make_spec()}
    if kind == "CronJob":
        job_spec = {"template": template, **fields.pop("job", {})}
        spec: Obj = {"schedule": "@hourly", "jobTemplate": {"spec": job_spec}, **fields}
    else:
        spec = {"template": template, **fields}
    if kind == "DaemonSet":
        spec.setdefault("selector", {"matchLabels": {"app": name}})
    api = "v1" if kind == "Pod" else "batch/v1" if kind in ("Job", "CronJob") else API_VERSION_APPS
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": _metadata(name, namespace, owner),
        "spec": spec,
    }


def make_daemonset(name: str = "agent", *, namespace: str = "kube-system", **spec: Any) -> Obj:
    """A DaemonSet whose pod template is ``make_spec(**spec)``."""
    return make_workload("DaemonSet", name, namespace=namespace, pod=make_spec(**spec))


def make_nodepool(
    name: str = "gpu",
    *,
    requirements: Sequence[Obj] = (),
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Obj] = (),
    weight: int | None = None,
    limits: Mapping[str, Any] | None = None,
    node_class: str = "default",
) -> Obj:
    """A Karpenter v1 NodePool (no taints, no requirements unless given)."""
    template_spec: Obj = {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class},
        "requirements": list(requirements),
    }
    if taints:
        template_spec["taints"] = list(taints)
    template: Obj = {"spec": template_spec}
    if labels:
        template["metadata"] = {"labels": dict(labels)}
    spec: Obj = {"template": template}
    if weight is not None:
        spec["weight"] = weight
    if limits is not None:
        spec["limits"] = dict(limits)
    return {
        "apiVersion": API_VERSION_NODEPOOL,
        "kind": "NodePool",
        "metadata": {"name": name},
        "spec": spec,
    }


def make_nodeclass(
    name: str = "default", *, kubelet: Mapping[str, Any] | None = None, **spec: Any
) -> Obj:
    """An EC2NodeClass (AL2023, the guide's role); ``spec`` keywords are set as they are."""
    body: Obj = {"amiSelectorTerms": [{"alias": "al2023@latest"}], "role": "KarpenterNodeRole"}
    if kubelet is not None:
        body["kubelet"] = dict(kubelet)
    body.update(spec)
    return {
        "apiVersion": API_VERSION_EC2NODECLASS,
        "kind": "EC2NodeClass",
        "metadata": {"name": name},
        "spec": body,
    }


def make_node(
    name: str = "node-1",
    *,
    nodepool: str | None = "gpu",
    instance_type: str = "g4dn.xlarge",
    gpus: int = 1,
    cpu: str = "3920m",
    memory: str = "14162Mi",
    pods: str = "29",
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Obj] | None = None,
    unschedulable: bool = False,
    status: Obj | None = None,
) -> Obj:
    """A Node as ``kubectl get nodes -o yaml`` prints it (a g4dn.xlarge with the guide's GPU
    taint by default; no taint by default when ``gpus=0``)."""
    node_labels = {LABEL_ARCH: "amd64", LABEL_INSTANCE_TYPE: instance_type, **(labels or {})}
    if nodepool is not None:
        node_labels[LABEL_NODEPOOL] = nodepool
    allocatable: Obj = {"cpu": cpu, "memory": memory, "pods": pods}
    if gpus:
        allocatable[GPU] = str(gpus)
    if taints is None:
        taints = [GPU_TAINT] if gpus else []
    spec: Obj = {"taints": list(taints)}
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": node_labels},
        "spec": spec,
        "status": status
        if status is not None
        else {"allocatable": allocatable, "capacity": allocatable},
    }


def make_instance_type(
    name: str = "t.large",
    *,
    labels: Mapping[str, str] | None = None,
    undefined: Sequence[str] = (),
    gpus: int = 0,
    cpu: str = "4",
    memory: str = "16Gi",
    pods: int = 110,
    price: float = 1.0,
    zones: Sequence[str] = ("us-east-1a",),
    capacity_types: Sequence[str] = ("on-demand",),
) -> SimInstanceType:
    """A hand-made instance type: ``In {value}`` for each of ``labels``, ``DoesNotExist``
    for each key of ``undefined`` (as catalog types define every well-known key)."""
    items = [Requirement.create(k, "In", [v]) for k, v in (labels or {}).items()]
    items += [Requirement.create(k, "DoesNotExist") for k in undefined if k not in (labels or {})]
    allocatable = {
        "cpu": parse_quantity(cpu),
        "memory": parse_quantity(memory),
        "pods": Decimal(pods),
    }
    if gpus:
        allocatable[GPU] = Decimal(gpus)
    offerings = tuple(Offering(z, c, price, price) for z in zones for c in capacity_types)
    return SimInstanceType(
        name, Requirements(items), allocatable, dict(allocatable), offerings, bool(gpus)
    )


__all__ = [
    "GPU",
    "GPU_TAINT",
    "GPU_TOLERATION",
    "Obj",
    "expr",
    "make_daemonset",
    "make_instance_type",
    "make_node",
    "make_nodeclass",
    "make_nodepool",
    "make_pod",
    "make_spec",
    "make_workload",
    "node_affinity",
]
