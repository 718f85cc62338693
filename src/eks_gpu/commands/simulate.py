"""``simulate``: what Karpenter would launch for given workloads, offline.

NodePools, EC2NodeClasses and DaemonSets come from ``--manifests``, else from the render of
the config, or from the caller (``plan`` passes its render); pods from workload files, the
caller's extra objects, and the pending pods of a ``--from`` snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.config_source import DEFAULT_SOURCE, RenderSource, rendered_manifests
from eks_gpu.commands.price_source import price_book
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:
    from eks_gpu.catalog.prices import PriceBook
    from eks_gpu.scheduling.isolation import IsolationResult
    from eks_gpu.scheduling.simulate import Inputs, Simulation
    from eks_gpu.scheduling.snapshot import SnapshotNode
    from eks_gpu.scheduling.workloads import SimPod

KIND = "Simulation"
Obj = Mapping[str, Any]


@dataclass(frozen=True)
class SimulationResult:
    """The simulator's document and its isolation check (one result per GPU pool)."""

    simulation: Simulation
    messages: tuple[str, ...] = ()

    @property
    def document(self) -> dict[str, Any]:
        """NodeClaims, unschedulable pods, existing placements, cost and assumptions."""
        return self.simulation.document

    @property
    def isolation(self) -> list[IsolationResult]:
        return self.simulation.isolation

    @property
    def failed(self) -> bool:
        """A pod stays Pending, or a GPU pool would take a plain CPU pod."""
        return bool(self.document["unschedulable"]) or self.simulation.isolation_broken

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.failed else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """The Simulation document (the simulator's keys behind the envelope)."""
        return envelope(KIND, self.document)


def pool_objects(manifests: Sequence[str], source: RenderSource) -> list[Obj]:
    """NodePools, EC2NodeClasses and DaemonSets from ``manifests`` files, else the render."""
    from eks_gpu.loaders.manifest_files import load_manifests

    found = load_manifests(manifests) if manifests else rendered_manifests(source)
    return [m.obj for m in found]


def build_inputs(
    objects: Sequence[Obj],
    workloads: Sequence[Obj],
    snapshot: str | None,
    zones: Sequence[str],
    region: str | None,
    eks_admission: bool = True,
    prices: PriceBook | None = None,
) -> Inputs:
    """The simulator's inputs: pools and DaemonSets from ``objects``, pods from ``workloads``;
    ``eks_admission`` models EKS's ExtendedResourceToleration admission on their templates;
    ``prices`` is the region's price book when the caller already read it."""
    from eks_gpu.loaders.snapshot_file import read_snapshot
    from eks_gpu.scheduling.simulate import Inputs

    nodes: Sequence[SnapshotNode] = ()
    pending: Sequence[SimPod] = ()
    extra: list[Obj] = []
    if snapshot:
        state = read_snapshot(snapshot)
        nodes, pending, extra = state.nodes, state.pending, list(state.daemonsets)
    daemonsets = [o for o in objects if o.get("kind") == "DaemonSet"]
    return Inputs(
        nodepools=[o for o in objects if o.get("kind") == "NodePool"],
        nodeclasses=[o for o in objects if o.get("kind") == "EC2NodeClass"],
        nodeoverlays=[o for o in objects if o.get("kind") == "NodeOverlay"],
        workloads=[*workloads, *daemonsets, *extra],
        prices=prices if prices is not None else price_book(region, estimate=True),
        zones=tuple(zones),
        nodes=nodes,
        pending=pending,
        eks_admission=eks_admission,
    )


def simulate(
    *,
    source: RenderSource = DEFAULT_SOURCE,
    manifests: Sequence[str] = (),
    workloads: Sequence[str] = (),
    snapshot: str | None = None,
    zones: Sequence[str] = (),
    region: str | None = None,
    objects: Sequence[Obj] | None = None,
    extra_workloads: Sequence[Obj] = (),
    eks_admission: bool = True,
    prices: PriceBook | None = None,
) -> SimulationResult:
    """Simulate Karpenter for the workloads on the pools of ``objects``/``manifests``/render
    (``eks_admission=False``: a cluster without EKS's ExtendedResourceToleration admission)."""
    from eks_gpu.loaders.manifest_files import load_manifests
    from eks_gpu.scheduling.simulate import simulate as run

    if manifests and (source.config_path or source.profile):
        raise UsageError("--manifests replaces -c/--profile; pass one of them")
    pools = list(objects) if objects is not None else pool_objects(manifests, source)
    pods = [*extra_workloads, *(m.obj for m in load_manifests(workloads))]
    inputs = build_inputs(pools, pods, snapshot, zones, region, eks_admission, prices)
    return SimulationResult(run(inputs))


__all__ = ["KIND", "SimulationResult", "build_inputs", "pool_objects", "simulate"]
