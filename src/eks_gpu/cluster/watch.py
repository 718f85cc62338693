"""Keep a :class:`ClusterState` current from watch events, after one LIST per kind.

What eks-node-viewer does for CPU: LIST each kind once (remembering the collection's
``resourceVersion``), then WATCH from there, one thread per watched kind feeding one queue.
When the server ends a watch (its timeout) the watch reopens from the last resourceVersion
seen; a kind is LISTed again only when the server says that version is gone (410 Gone, as an
HTTP status or as an ``ERROR`` event), and the caller is told so.
"""

from __future__ import annotations

import datetime
import queue
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eks_gpu.cluster.client import Client
from eks_gpu.cluster.snapshot import SOURCES, Source, read_state
from eks_gpu.errors import ClusterAccessError, NotFoundError
from eks_gpu.manifests.cluster_state import ClusterState

Obj = dict[str, Any]
GONE = 410
WATCH_SECONDS = 240


@dataclass(frozen=True)
class Change:
    """One event applied to the store: ``kind``, ``type`` (``ADDED``/``MODIFIED``/``DELETED``;
    ``RELISTED`` after a 410) and the object (the old one for ``DELETED``), or ``error``."""

    kind: str
    type: str
    obj: Obj = field(default_factory=dict)
    old: Obj | None = None
    error: ClusterAccessError | None = None


def key_of(obj: Obj) -> str:
    """``namespace/name`` (``/name`` for cluster-scoped objects)."""
    metadata = obj.get("metadata") or {}
    return f"{metadata.get('namespace') or ''}/{metadata.get('name') or ''}"


class Store:
    """The objects by kind and key, as the last LIST and the events since left them."""

    def __init__(self, state: ClusterState) -> None:
        self.objects: dict[str, dict[str, Obj]] = {
            kind: {key_of(obj): obj for obj in items} for kind, items in state.objects.items()
        }
        self.base = state

    def apply(self, kind: str, event: str, obj: Obj) -> Obj | None:
        """Apply one event; returns the object it replaced or removed."""
        bucket = self.objects.setdefault(kind, {})
        if event == "DELETED":
            return bucket.pop(key_of(obj), None)
        previous = bucket.get(key_of(obj))
        bucket[key_of(obj)] = obj
        return previous

    def replace(self, kind: str, items: Iterable[Obj]) -> None:
        """Everything of ``kind``, from a fresh LIST."""
        self.objects[kind] = {key_of(obj): obj for obj in items}

    def state(self) -> ClusterState:
        """The current objects as a state (what was missing at the LIST stays missing)."""
        return ClusterState(
            {kind: tuple(bucket.values()) for kind, bucket in self.objects.items()},
            (),
            self.base.read_kinds,
            self.base.missing,
            self.base.source,
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )


def _source(kind: str) -> Source:
    return next(source for source in SOURCES if source.kind == kind)


def list_versions(
    client: Client, kinds: Collection[str], watched: Collection[str]
) -> tuple[ClusterState, dict[str, str]]:
    """One LIST per kind; the collection ``resourceVersion`` of each ``watched`` kind."""
    versions: dict[str, str] = {}
    state = read_state(client, [kind for kind in kinds if kind not in watched])
    objects = dict(state.objects)
    missing = dict(state.missing)
    for kind in watched:
        source = _source(kind)
        try:
            collection = client.collection(source.path, dict(source.query))
        except (NotFoundError, ClusterAccessError) as error:
            if not source.optional:
                raise
            missing[kind] = source.absent or error.message
            continue
        objects[kind] = tuple(collection.items)
        versions[kind] = collection.resource_version
    read = frozenset(objects)
    return ClusterState(objects, (), read, missing, state.source, state.captured_at), versions


class Watcher:
    """Threads that watch each kind from its version and put :class:`Change` on a queue."""

    def __init__(self, client: Client, versions: Mapping[str, str]) -> None:
        self.client = client
        self.versions = dict(versions)
        self.changes: queue.Queue[Change] = queue.Queue()
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._running = len(self.versions)
        self._threads = [
            threading.Thread(target=self._follow, args=(kind,), daemon=True, name=f"watch-{kind}")
            for kind in versions
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop following, and close the client once no thread reads from it any more.

        The last thread to finish closes it: closing it under a thread blocked in a read
        would free the socket's descriptor for reuse while that thread still reads from it.
        A thread finishes at its watch's next event or at the server's timeout.
        """
        self.stopped.set()
        with self._lock:
            idle = self._running == 0 or not any(t.is_alive() for t in self._threads)
        if idle:
            self.client.close()

    def _follow(self, kind: str) -> None:
        try:
            self._follow_kind(kind)
        finally:
            with self._lock:
                self._running -= 1
                last = self._running == 0
            if last and self.stopped.is_set():
                self.client.close()

    def _follow_kind(self, kind: str) -> None:
        source = _source(kind)
        while not self.stopped.is_set():
            try:
                self._watch_once(kind, source)
            except ClusterAccessError as error:
                if self.stopped.is_set():
                    return
                if error.code == GONE:
                    self._relist(kind, source)
                    continue
                self.changes.put(Change(kind, "ERROR", error=error))
                return

    def _watch_once(self, kind: str, source: Source) -> None:
        events = self.client.watch(
            source.path, self.versions[kind], timeout_s=WATCH_SECONDS, query=dict(source.query)
        )
        for event, obj in events:
            if self.stopped.is_set():
                return
            if event == "ERROR":
                code = obj.get("code")
                raise ClusterAccessError(str(obj.get("message") or "watch error"), code=code)
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if version:
                self.versions[kind] = str(version)
            if event == "BOOKMARK":
                continue
            obj.setdefault("kind", kind)
            self.changes.put(Change(kind, event, obj))

    def _relist(self, kind: str, source: Source) -> None:
        collection = self.client.collection(source.path, dict(source.query))
        self.versions[kind] = collection.resource_version
        self.changes.put(Change(kind, "RELISTED", {"items": collection.items}))


def relisted_items(change: Change) -> list[Obj]:
    """The objects a ``RELISTED`` change carries."""
    items: list[Obj] = change.obj.get("items") or []
    return items


def drain(changes: queue.Queue[Change], wait_s: float) -> list[Change]:
    """The first change to come within ``wait_s`` (0: only one already queued), then every
    change already queued behind it: a burst is handled as one."""
    try:
        first = changes.get(timeout=wait_s)
    except queue.Empty:
        return []
    batch = [first]
    while True:
        try:
            batch.append(changes.get_nowait())
        except queue.Empty:
            return batch


__all__ = [
    "Change",
    "Store",
    "Watcher",
    "drain",
    "key_of",
    "list_versions",
    "relisted_items",
]
