"""Existing cluster state for ``simulate --from SNAPSHOT``: nodes with what is used on them,
and the pods still waiting for a node.

A snapshot is what ``kubectl get nodes,pods -A -o yaml`` prints (a ``kind: List``), or the
same objects as multi-document YAML. Bound pods that still run (``spec.nodeName`` set, phase
neither ``Succeeded`` nor ``Failed``) count against their node; unbound ``Pending`` pods are
the pods to place. Everything else in the file is ignored with a note.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eks_gpu.manifests import Manifest, ManifestError
from eks_gpu.names import LABEL_NODEPOOL
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.scheduling.requirement import RequirementError
from eks_gpu.scheduling.resources import add, parse_resources, pod_requests, subtract
from eks_gpu.scheduling.workloads import (
    DEFAULT_NAMESPACE,
    SimPod,
    controller_of,
    unsimulated_constraints,
)

FINISHED_PHASES = ("Succeeded", "Failed")
SNAPSHOT_HINT = "capture one with: kubectl get nodes,pods -A -o yaml > snapshot.yaml"


@dataclass(frozen=True)
class SnapshotNode:
    """One existing node: its labels, taints, allocatable, and the requests of its pods.

    ``capacity`` is ``status.capacity`` (empty when the object has none): NodePool limits
    count a node's capacity, not its allocatable (Karpenter v1.14.1 ``scheduler.go``
    ``updateRemainingResources`` subtracts ``StateNode.Capacity()``).
    """

    name: str
    labels: Mapping[str, str] = field(hash=False)
    taints: tuple[Mapping[str, Any], ...] = field(hash=False)
    allocatable: Mapping[str, Decimal] = field(hash=False)
    used: Mapping[str, Decimal] = field(hash=False)
    nodepool: str | None = None
    pods: tuple[str, ...] = ()
    unschedulable: bool = False
    capacity: Mapping[str, Decimal] = field(default_factory=dict, hash=False)

    @property
    def limit_usage(self) -> Mapping[str, Decimal]:
        """What the node counts against its NodePool's limits: capacity, else allocatable."""
        return self.capacity or self.allocatable

    @property
    def free(self) -> dict[str, Decimal]:
        """``allocatable - used`` per resource (negative when over-committed)."""
        return subtract(self.allocatable, self.used)


@dataclass(frozen=True)
class Snapshot:
    """A whole snapshot: nodes by name, pending pods, DaemonSets, and what was skipped."""

    nodes: tuple[SnapshotNode, ...]
    pending: tuple[SimPod, ...]
    daemonsets: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)
    notes: tuple[str, ...] = ()


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _where(manifest: Manifest) -> str:
    return f"{manifest.source}: {manifest.kind or 'object'} {manifest.name or '(no name)'}"


def _resources(where: str, status: Mapping[str, Any], section: str) -> dict[str, Decimal]:
    try:
        return parse_resources(status.get(section))
    except ValueError as error:
        raise ManifestError(f"{where}: status.{section}.{error}") from None


def _node(manifest: Manifest) -> SnapshotNode:
    obj, where = manifest.obj, _where(manifest)
    if not manifest.name:
        raise ManifestError(f"{where}: metadata.name is missing", hint=SNAPSHOT_HINT)
    labels = _mapping(_mapping(obj.get("metadata")).get("labels"))
    spec, status = _mapping(obj.get("spec")), _mapping(obj.get("status"))
    taints = spec.get("taints") or []
    if not isinstance(taints, list) or not all(isinstance(t, Mapping) for t in taints):
        raise ManifestError(f"{where}: spec.taints must be a list of taints")
    section = "allocatable" if status.get("allocatable") else "capacity"
    if not status.get(section):
        raise ManifestError(
            f"{where}: status.allocatable is missing (and status.capacity too)",
            hint="the snapshot must hold nodes as the API returns them, status included; "
            + SNAPSHOT_HINT,
        )
    allocatable = _resources(where, status, section)
    capacity = _resources(where, status, "capacity")
    return SnapshotNode(
        name=manifest.name,
        labels={str(k): str(v) for k, v in labels.items()},
        taints=tuple(taints),
        allocatable=allocatable,
        used={},
        nodepool=str(labels[LABEL_NODEPOOL]) if labels.get(LABEL_NODEPOOL) else None,
        unschedulable=spec.get("unschedulable") is True,
        capacity=capacity,
    )


def _pod_requests(manifest: Manifest, spec: Mapping[str, Any]) -> dict[str, Decimal]:
    try:
        return pod_requests(spec)
    except ValueError as error:
        raise ManifestError(f"{_where(manifest)}: spec: {error}") from None


def _pod_view(manifest: Manifest, spec: Mapping[str, Any]) -> PodView:
    try:
        return PodView.from_spec(spec)
    except RequirementError as error:
        raise ManifestError(f"{_where(manifest)}: {error}") from None
    except ValueError as error:
        raise ManifestError(f"{_where(manifest)}: spec: {error}") from None


@dataclass
class _Builder:
    """Nodes and pods gathered while reading the objects in order."""

    nodes: dict[str, SnapshotNode] = field(default_factory=dict)
    used: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    bound: dict[str, list[str]] = field(default_factory=dict)
    pending: list[SimPod] = field(default_factory=list)
    daemonsets: list[Mapping[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pods_seen: int = 0

    def add_node(self, manifest: Manifest) -> None:
        node = _node(manifest)
        if node.name in self.nodes:
            raise ManifestError(f"{_where(manifest)}: node {node.name} appears twice")
        self.nodes[node.name] = node

    def add_pod(self, manifest: Manifest) -> None:
        self.pods_seen += 1
        metadata = _mapping(manifest.obj.get("metadata"))
        namespace = str(metadata.get("namespace") or DEFAULT_NAMESPACE)
        if not manifest.name:
            raise ManifestError(f"{_where(manifest)}: metadata.name is missing")
        ref = f"{namespace}/{manifest.name}"
        spec = _mapping(manifest.obj.get("spec"))
        phase = str(_mapping(manifest.obj.get("status")).get("phase") or "Pending")
        if phase in FINISHED_PHASES:
            return
        node_name = str(spec.get("nodeName") or "")
        if node_name:
            requests = _pod_requests(manifest, spec)
            self.used[node_name] = add(self.used.get(node_name, {}), requests)
            self.bound.setdefault(node_name, []).append(ref)
            return
        owner = controller_of(manifest.obj, namespace)
        if owner is not None and owner.startswith("DaemonSet/"):
            self.notes.append(f"pod {ref}: a pending daemon pod ({owner}); not placed")
        elif metadata.get("deletionTimestamp"):
            self.notes.append(f"pod {ref}: pending but being deleted; not placed")
        elif phase == "Pending":
            view = _pod_view(manifest, spec)
            self.pending.append(
                SimPod(namespace, manifest.name, view, owner, unsimulated_constraints(spec))
            )

    def build(self) -> Snapshot:
        nodes = []
        for name in sorted(self.nodes):
            node = self.nodes[name]
            nodes.append(
                dataclasses.replace(
                    node,
                    used=self.used.get(name, {}),
                    pods=tuple(sorted(self.bound.get(name, []))),
                )
            )
        for name in sorted(set(self.bound) - set(self.nodes)):
            pods = sorted(self.bound[name])
            self.notes.append(
                f"node {name} is not in the snapshot; its {len(pods)} pod(s) ignored: "
                + ", ".join(pods)
            )
        return Snapshot(
            tuple(nodes), tuple(self.pending), tuple(self.daemonsets), tuple(self.notes)
        )


def snapshot_from_manifests(manifests: Iterable[Manifest]) -> Snapshot:
    """The snapshot these objects describe (pure; ``loaders.snapshot_file`` reads a file).

    Raises:
        ManifestError: no Nodes or Pods at all, a node twice, a node without name or
            allocatable, or a bad resource quantity, naming the object.
    """
    builder = _Builder()
    kinds: dict[str, int] = {}
    for manifest in manifests:
        if manifest.kind == "Node":
            builder.add_node(manifest)
        elif manifest.kind == "Pod":
            builder.add_pod(manifest)
        elif manifest.kind == "DaemonSet":
            builder.daemonsets.append(manifest.obj)
        else:
            kinds[manifest.kind or "(no kind)"] = kinds.get(manifest.kind or "(no kind)", 0) + 1
    if not builder.nodes and not builder.pods_seen:
        raise ManifestError("the snapshot holds no Nodes and no Pods", hint=SNAPSHOT_HINT)
    if kinds:
        shown = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        builder.notes.append(
            f"snapshot: ignored {shown} (only Nodes, Pods and DaemonSets are read)"
        )
    return builder.build()


__all__ = [
    "FINISHED_PHASES",
    "Snapshot",
    "SnapshotNode",
    "snapshot_from_manifests",
]
