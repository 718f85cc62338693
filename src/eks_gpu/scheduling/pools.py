"""NodePools as placement sees them: requirements, taints, limits, overhead, instance types.

Two models of one NodePool, both satisfying ``placement.PoolLike``:

* :class:`PoolSpec` (:func:`pool_spec`): requirements, labels, taints and the catalog types
  the requirements admit; no prices, no kubelet settings (validate, recommend);
* :class:`PoolModel` (:func:`build_pool`): the same, with priced instance types under the
  EC2NodeClass's kubelet settings, limits, DaemonSet overhead per instance type, and how
  much of the limits the plan has used (the simulator).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from eks_gpu.manifests import ManifestError
from eks_gpu.names import LABEL_NODEPOOL
from eks_gpu.scheduling.allocatable import KubeletSettings, Storage, Threshold
from eks_gpu.scheduling.instance_model import CatalogType, SimInstanceType, admitted_types
from eks_gpu.scheduling.requirement import Requirement
from eks_gpu.scheduling.requirements import Requirements
from eks_gpu.scheduling.resources import parse_quantity, parse_resources

TypesFor = Callable[[KubeletSettings, Storage], list[SimInstanceType]]
# AL2023's root device (amifamily AL2023.EphemeralBlockDevice); the only family we render
ROOT_DEVICE = "/dev/xvda"


_NO_OVERHEAD: Mapping[str, Decimal] = MappingProxyType({})


@dataclass
class PoolModel:
    """One NodePool; ``used`` grows as the plan adds NodeClaims (for ``limits``).

    ``overhead`` maps an instance type name to the summed requests of the DaemonSets that
    would run on a node of that type (``placement.daemon_overheads``; Karpenter's
    ``DaemonOverheadGroup``); a type not in it has none.
    """

    name: str
    weight: int
    requirements: Requirements
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, Any], ...]
    limits: Mapping[str, Decimal]
    types: list[SimInstanceType]
    overhead: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    used: dict[str, Decimal] = field(default_factory=dict)

    def overhead_for(self, instance_type: str) -> Mapping[str, Decimal]:
        """The DaemonSet overhead on a node of ``instance_type`` from this pool."""
        return self.overhead.get(instance_type, _NO_OVERHEAD)


@dataclass(frozen=True)
class PoolSpec:
    """One NodePool without prices: what validate needs to ask ``placement.check_pool``."""

    name: str
    weight: int
    requirements: Requirements
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, Any], ...]
    types: tuple[CatalogType, ...]


def _spec(obj: Mapping[str, Any], *keys: str) -> Any:
    node: Any = obj
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _bad(node_class: Mapping[str, Any] | None, field: str, message: str) -> ManifestError:
    name = _spec(node_class or {}, "metadata", "name") or "<unnamed>"
    return ManifestError(
        f"EC2NodeClass/{name}: {field}: {message}",
        hint="use a Kubernetes quantity (500Mi, 1Gi, 200m) or, for eviction, a percentage (5%)",
    )


def _threshold(value: Any) -> Threshold:
    """An eviction signal value: ``"500Mi"`` or ``"5%"`` (computeEvictionSignal)."""
    text = str(value).strip()
    if text.endswith("%"):
        return Threshold(percent=float(text[:-1]))
    return Threshold(quantity=parse_quantity(text))


def _read(node_class: Mapping[str, Any] | None, field: str, parse: Callable[[Any], Any]) -> Any:
    """``parse(spec.<field>)``; a ManifestError naming the node class and field on bad input."""
    value = _spec(node_class or {}, "spec", *field.split("/"))
    try:
        return parse(value)
    except (ValueError, AttributeError) as error:
        raise _bad(node_class, "spec." + field.replace("/", "."), str(error)) from None


def _thresholds(signals: Any) -> dict[str, Threshold]:
    return {str(signal): _threshold(value) for signal, value in (signals or {}).items()}


def kubelet_settings(node_class: Mapping[str, Any] | None) -> KubeletSettings:
    """Every ``kubelet`` field of an EC2NodeClass that changes capacity or allocatable.

    Raises:
        ManifestError: a reserved amount or eviction value that is not a quantity/percentage.
    """
    kubelet = _spec(node_class or {}, "spec", "kubelet") or {}
    return KubeletSettings(
        max_pods=kubelet.get("maxPods"),
        pods_per_core=kubelet.get("podsPerCore"),
        kube_reserved=_read(node_class, "kubelet/kubeReserved", parse_resources),
        system_reserved=_read(node_class, "kubelet/systemReserved", parse_resources),
        eviction_hard=_read(node_class, "kubelet/evictionHard", _thresholds),
        eviction_soft=_read(node_class, "kubelet/evictionSoft", _thresholds),
    )


def storage_settings(node_class: Mapping[str, Any] | None) -> Storage:
    """``instanceStorePolicy`` and the root volume size of ``blockDeviceMappings``.

    Karpenter's ``ephemeralStorage`` (types.go) takes the mapping with ``rootVolume: true``,
    else the one on the AMI family's root device (``/dev/xvda`` on AL2023), when it has a
    ``volumeSize``; None leaves the AMI default (20Gi).
    """
    spec = _spec(node_class or {}, "spec") or {}
    mappings = [m for m in spec.get("blockDeviceMappings") or [] if isinstance(m, Mapping)]
    chosen = next((m for m in mappings if m.get("rootVolume")), None)
    size = _spec(chosen or {}, "ebs", "volumeSize")
    if size is None:
        device = next((m for m in mappings if m.get("deviceName") == ROOT_DEVICE), None)
        size = _spec(device or {}, "ebs", "volumeSize")
    try:
        root_volume = None if size is None else parse_quantity(size)
    except ValueError as error:
        raise _bad(node_class, "spec.blockDeviceMappings[].ebs.volumeSize", str(error)) from None
    return Storage(raid0=spec.get("instanceStorePolicy") == "RAID0", root_volume=root_volume)


def pool_requirements(nodepool: Mapping[str, Any]) -> Requirements:
    """spec requirements + template labels (as ``In``) + ``karpenter.sh/nodepool``."""
    name = str(_spec(nodepool, "metadata", "name"))
    items = _spec(nodepool, "spec", "template", "spec", "requirements") or []
    labels = _spec(nodepool, "spec", "template", "metadata", "labels") or {}
    return (
        Requirements.from_dicts(items)
        .add(Requirements.from_labels(labels))
        .add(Requirement.create(LABEL_NODEPOOL, "In", [name]))
    )


def pool_spec(nodepool: Mapping[str, Any]) -> PoolSpec:
    """A NodePool as :class:`PoolSpec`: its types are the catalog types its requirements admit.

    Raises:
        RequirementError: a bad requirement or label, naming ``requirements[i]...``.
    """
    template = _spec(nodepool, "spec", "template") or {}
    requirements = pool_requirements(nodepool)
    return PoolSpec(
        name=str(_spec(nodepool, "metadata", "name")),
        weight=int(_spec(nodepool, "spec", "weight") or 0),
        requirements=requirements,
        labels=dict(_spec(template, "metadata", "labels") or {}),
        taints=tuple(_spec(template, "spec", "taints") or ()),
        types=tuple(admitted_types(requirements)),
    )


def build_pool(
    nodepool: Mapping[str, Any],
    node_classes: Mapping[str, Mapping[str, Any]],
    types_for: TypesFor,
) -> PoolModel:
    """One PoolModel; instance types are those compatible with the pool and offered under it,
    with capacity and allocatable under its EC2NodeClass's kubelet and storage settings."""
    name = str(_spec(nodepool, "metadata", "name"))
    template = _spec(nodepool, "spec", "template") or {}
    node_class = node_classes.get(str(_spec(template, "spec", "nodeClassRef", "name")))
    requirements = pool_requirements(nodepool)
    types = [
        t
        for t in types_for(kubelet_settings(node_class), storage_settings(node_class))
        if t.requirements.is_intersecting(requirements) and t.offering_for(requirements)
    ]
    return PoolModel(
        name=name,
        weight=int(_spec(nodepool, "spec", "weight") or 0),
        requirements=requirements,
        labels=dict(_spec(template, "metadata", "labels") or {}),
        taints=tuple(_spec(template, "spec", "taints") or ()),
        limits=parse_resources(_spec(nodepool, "spec", "limits")),
        types=types,
    )


def order_pools(pools: Sequence[PoolModel]) -> list[PoolModel]:
    """The order Karpenter tries NodePools in: weight descending, equal weights by name
    descending (the name later in the alphabet first).

    Karpenter v1.14.1 ``pkg/utils/nodepool/nodepool.go`` ``OrderByWeight``, called by
    ``Provisioner.NewScheduler``; the scheduler takes the first pool that can hold the pod.
    Names compare byte-wise in Go; NodePool names are lowercase ASCII, where Python's
    ``str`` order is the same.
    """
    return sorted(pools, key=lambda pool: (pool.weight, pool.name), reverse=True)


__all__ = [
    "PoolModel",
    "PoolSpec",
    "build_pool",
    "kubelet_settings",
    "order_pools",
    "pool_requirements",
    "pool_spec",
    "storage_settings",
]
