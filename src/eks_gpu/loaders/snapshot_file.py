"""Existing cluster state from a file: ``kubectl get nodes,pods -A -o yaml`` output (or a
folder of such files, or ``-`` for stdin), parsed by :mod:`eks_gpu.scheduling.snapshot`."""

from __future__ import annotations

from eks_gpu.loaders.manifest_files import load_manifests
from eks_gpu.manifests import ManifestError
from eks_gpu.scheduling.snapshot import Snapshot, SnapshotNode, snapshot_from_manifests
from eks_gpu.scheduling.workloads import SimPod


def read_snapshot(path: str) -> Snapshot:
    """The snapshot in a file (``-`` for stdin; a folder reads every YAML file in it).

    Raises:
        ManifestError: the file cannot be read or parsed, or holds no usable snapshot.
    """
    try:
        return snapshot_from_manifests(load_manifests([path]))
    except ManifestError as error:
        if path in error.message:
            raise
        # The snapshot's own checks name the object, not the file it came from.
        raise ManifestError(f"{path}: {error.message}", hint=error.hint) from None


def load_snapshot(path: str) -> tuple[list[SnapshotNode], list[SimPod]]:
    """The nodes (sorted by name) and the pending pods (in file order) in a snapshot file.

    Raises:
        ManifestError: the file cannot be read or parsed, or holds no usable snapshot.
    """
    snapshot = read_snapshot(path)
    return list(snapshot.nodes), list(snapshot.pending)


__all__ = ["load_snapshot", "read_snapshot"]
