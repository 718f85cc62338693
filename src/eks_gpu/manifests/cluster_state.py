"""What a cluster looked like at one moment: its objects by kind, log tails, and what was
not read.

Both the live reader (``cluster/snapshot.py``) and ``--from FILE|DIR`` (a ``dump``, or plain
``kubectl get ... -o yaml`` output) produce a :class:`ClusterState`, so ``status`` and
``doctor`` are pure functions over it. Objects stay the plain dicts the API server sent: at
100,000 pods a typed model per object would cost more than reading the file.

A dump is a ``kind: List`` whose items are the cluster's objects plus two kinds of ours:
one ``ClusterDump`` (when and from where it was taken, which kinds were read and which could
not be) and one ``PodLog`` per log tail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eks_gpu.names import API_VERSION_EKS_GPU

Obj = dict[str, Any]
KIND_DUMP = "ClusterDump"
KIND_POD_LOG = "PodLog"
KIND_NODE_METRICS = "NodeMetrics"


@dataclass(frozen=True)
class PodLog:
    """The last lines of one container's log."""

    namespace: str
    pod: str
    container: str
    text: str

    def to_object(self) -> Obj:
        """The ``PodLog`` item a dump holds."""
        return {
            "apiVersion": API_VERSION_EKS_GPU,
            "kind": KIND_POD_LOG,
            "metadata": {"name": self.pod, "namespace": self.namespace},
            "container": self.container,
            "tail": self.text,
        }


@dataclass(frozen=True)
class ClusterState:
    """The objects by kind, and what is known about what was read.

    ``read_kinds`` are the kinds that were LISTed in full, so an absent object of one of them
    means "there is none"; None when unknown (plain ``kubectl get`` output), where an absent
    kind only means "not in the input". ``missing`` maps a kind that could not be read to why
    (``NodeOverlay``: the CRD is not installed; ``NodeMetrics``: no metrics API).
    """

    objects: Mapping[str, tuple[Obj, ...]] = field(default_factory=dict)
    logs: tuple[PodLog, ...] = ()
    read_kinds: frozenset[str] | None = None
    missing: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    captured_at: str = ""

    def of(self, kind: str) -> tuple[Obj, ...]:
        """Every object of ``kind`` (``Node``, ``Pod``, ``NodePool``, ...), in input order."""
        return self.objects.get(kind, ())

    def knows(self, kind: str) -> bool:
        """Whether the absence of ``kind`` objects means there are none (it was read)."""
        if kind in self.missing:
            return False
        return kind in self.objects if self.read_kinds is None else kind in self.read_kinds

    def header(self) -> Obj:
        """The ``ClusterDump`` item that records where the state came from."""
        return {
            "apiVersion": API_VERSION_EKS_GPU,
            "kind": KIND_DUMP,
            "metadata": {"name": "cluster-dump"},
            "source": self.source,
            "capturedAt": self.captured_at,
            "readKinds": sorted(self.read_kinds or ()),
            "missing": dict(sorted(self.missing.items())),
        }

    def to_list(self) -> Obj:
        """The whole state as one ``kind: List``: the header, the objects, the log tails."""
        items: list[Obj] = [self.header()]
        for kind in sorted(self.objects):
            items.extend(self.objects[kind])
        items.extend(log.to_object() for log in self.logs)
        return {"apiVersion": "v1", "kind": "List", "items": items}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _pod_log(obj: Obj) -> PodLog:
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return PodLog(
        _text((metadata or {}).get("namespace")),
        _text((metadata or {}).get("name")),
        _text(obj.get("container")),
        _text(obj.get("tail")),
    )


def state_from_objects(objects: Iterable[Obj], source: str = "") -> ClusterState:
    """The state these objects describe (a dump's items, or any ``kubectl get`` output).

    Pure and linear: one dict lookup per object, no copy, so 100,000 pods cost milliseconds.
    A ``ClusterDump`` item supplies ``read_kinds``, ``missing`` and the capture time.
    """
    by_kind: dict[str, list[Obj]] = {}
    logs: list[PodLog] = []
    header: Obj | None = None
    for obj in objects:
        kind = obj.get("kind")
        if kind == KIND_DUMP and obj.get("apiVersion") == API_VERSION_EKS_GPU:
            header = obj
        elif kind == KIND_POD_LOG and obj.get("apiVersion") == API_VERSION_EKS_GPU:
            logs.append(_pod_log(obj))
        else:
            bucket = by_kind.get(kind) if isinstance(kind, str) else None
            if bucket is None:
                bucket = by_kind.setdefault(kind if isinstance(kind, str) else "", [])
            bucket.append(obj)
    read_kinds: frozenset[str] | None = None
    missing: dict[str, str] = {}
    captured_at = ""
    if header is not None:
        kinds = header.get("readKinds")
        read_kinds = frozenset(str(k) for k in kinds) if isinstance(kinds, list) else None
        raw_missing = header.get("missing")
        if isinstance(raw_missing, Mapping):
            missing = {str(k): str(v) for k, v in raw_missing.items()}
        captured_at = _text(header.get("capturedAt"))
        source = _text(header.get("source")) or source
    return ClusterState(
        {kind: tuple(items) for kind, items in by_kind.items()},
        tuple(logs),
        read_kinds,
        missing,
        source,
        captured_at,
    )


__all__ = [
    "KIND_DUMP",
    "KIND_NODE_METRICS",
    "KIND_POD_LOG",
    "ClusterState",
    "PodLog",
    "state_from_objects",
]
