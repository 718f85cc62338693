"""Where a read-only command gets the cluster from: a live context, or ``--from FILE|DIR``.

The one place the command layer opens a client for reading, so every read-only command
accepts the same flags and reads the same way (one paginated LIST per kind it needs).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eks_gpu.errors import UsageError

if TYPE_CHECKING:
    from eks_gpu.cluster.client import Client
    from eks_gpu.manifests.cluster_state import ClusterState


@dataclass(frozen=True)
class ClusterSource:
    """``--from`` (a path, ``-`` for stdin) or the kubeconfig and context to read live."""

    from_path: str | None = None
    kubeconfig: str | None = None
    kube_context: str | None = None

    def check(self) -> None:
        """``--from`` excludes ``--kubeconfig``/``--context``: the input is one or the other."""
        if self.from_path and (self.kubeconfig or self.kube_context):
            raise UsageError(
                "--from reads a file; --kubeconfig and --context pick a live cluster",
                hint="pass one or the other",
            )


def connect(source: ClusterSource) -> Client:
    """A client for the source's kubeconfig context (kubectl's defaults)."""
    from eks_gpu.cluster.client import connect as connect_context

    return connect_context(source.kubeconfig, source.kube_context)


def read_cluster(source: ClusterSource, kinds: Collection[str] | None = None) -> ClusterState:
    """The cluster's state: from the file when ``--from`` is given, else LISTed live
    (``kinds`` only; every kind a snapshot holds when None)."""
    source.check()
    if source.from_path:
        from eks_gpu.loaders.state_file import read_state_file

        return read_state_file(source.from_path)
    from eks_gpu.cluster.snapshot import read_state

    client = connect(source)
    try:
        return read_state(client, kinds)
    finally:
        client.close()


__all__ = ["ClusterSource", "connect", "read_cluster"]
