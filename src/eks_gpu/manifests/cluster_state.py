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

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eks_gpu.manifests.document import ManifestError
from eks_gpu.names import API_VERSION_EKS_GPU, LABEL_APP_NAME

Obj = dict[str, Any]
KIND_DUMP = "ClusterDump"
KIND_POD_LOG = "PodLog"
KIND_NODE_METRICS = "NodeMetrics"
KARPENTER = "karpenter"
KARPENTER_CONTAINER = "controller"


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
    karpenter_version: str = ""
    redacted: tuple[str, ...] = ()

    @property
    def capture_time(self) -> datetime.datetime | None:
        """When the dump was taken (None: a live read, or plain kubectl output)."""
        return parse_time(self.captured_at)

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
            "karpenterVersion": self.karpenter_version,
            "redacted": list(self.redacted),
        }

    def to_list(self) -> Obj:
        """The whole state as one ``kind: List``: the header, the objects, the log tails."""
        items: list[Obj] = [self.header()]
        for kind in sorted(self.objects):
            items.extend(self.objects[kind])
        items.extend(log.to_object() for log in self.logs)
        return {"apiVersion": "v1", "kind": "List", "items": items}


def parse_time(text: object) -> datetime.datetime | None:
    """An RFC 3339 timestamp as the API writes it (``2026-12-01T10:00:00Z``); None when
    absent or malformed. The one parser for creation and capture times."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def short_age(seconds: float) -> str:
    """kubectl's short age (``45s``, ``12m``, ``5h``, ``3d``): seconds below 2 minutes,
    minutes below 2 hours, hours below 2 days (apimachinery ``duration.HumanDuration``)."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    return f"{s // 3600}h" if s < 172800 else f"{s // 86400}d"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def image_tag(image: str) -> str:
    """``public.ecr.aws/karpenter/controller:1.14.1@sha256:...`` -> ``1.14.1``; "" untagged
    (a registry's ``host:port`` is not a tag)."""
    name = image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":")
    return tag if repository and "/" not in tag else ""


def is_karpenter(deployment: Obj) -> bool:
    """The Karpenter controller's Deployment: labelled ``app.kubernetes.io/name: karpenter``
    (the Helm chart's label), or named ``karpenter``."""
    metadata = _mapping(deployment.get("metadata"))
    return (
        _mapping(metadata.get("labels")).get(LABEL_APP_NAME) == KARPENTER
        or metadata.get("name") == KARPENTER
    )


DEVICE_PLUGIN_MARKERS = ("nvidia-device-plugin", "k8s-device-plugin")
"""In a DaemonSet's name or image: NVIDIA's chart (``nvidia-device-plugin``), its image
(``nvcr.io/nvidia/k8s-device-plugin``), eks-gpu's render (``nvidia-device-plugin-daemonset``)."""


def is_device_plugin(daemonset: Obj) -> bool:
    """NVIDIA's device plugin DaemonSet: by name, or by one of its containers' image (the
    static manifest, the Helm chart, the GPU operator and our render all match)."""
    name = _text(_mapping(daemonset.get("metadata")).get("name"))
    if any(marker in name for marker in DEVICE_PLUGIN_MARKERS):
        return True
    template = _mapping(_mapping(daemonset.get("spec")).get("template"))
    containers = _mapping(template.get("spec")).get("containers") or []
    images = [_text(_mapping(c).get("image")) for c in containers]
    return any(marker in image for image in images for marker in DEVICE_PLUGIN_MARKERS)


def controller_container(pod_spec: Mapping[str, Any]) -> Obj | None:
    """The ``controller`` container of Karpenter's pod spec, else its first container."""
    containers = [c for c in pod_spec.get("containers") or [] if isinstance(c, dict)]
    named = [c for c in containers if c.get("name") == KARPENTER_CONTAINER]
    chosen = named or containers
    return chosen[0] if chosen else None


def karpenter_version(deployments: Iterable[Obj]) -> str:
    """The image tag of the Karpenter Deployment's controller container; "" when there is no
    Karpenter Deployment or its image has no tag."""
    for deployment in deployments:
        if not is_karpenter(deployment):
            continue
        template = _mapping(_mapping(deployment.get("spec")).get("template"))
        container = controller_container(_mapping(template.get("spec")))
        if container is not None:
            return image_tag(_text(container.get("image")))
    return ""


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
    version = ""
    redacted: tuple[str, ...] = ()
    if header is not None:
        kinds = header.get("readKinds")
        read_kinds = frozenset(str(k) for k in kinds) if isinstance(kinds, list) else None
        raw_missing = header.get("missing")
        if isinstance(raw_missing, Mapping):
            missing = {str(k): str(v) for k, v in raw_missing.items()}
        captured_at = _text(header.get("capturedAt"))
        if captured_at and parse_time(captured_at) is None:
            raise ManifestError(
                f"{source or 'the dump'}: ClusterDump capturedAt {captured_at!r} is not an "
                "RFC 3339 time (ages are counted from it)",
                hint="fix it (2026-12-01T12:00:00Z) or remove it to count ages from now",
            )
        source = _text(header.get("source")) or source
        version = _text(header.get("karpenterVersion"))
        notes = header.get("redacted")
        redacted = tuple(str(n) for n in notes) if isinstance(notes, list) else ()
    return ClusterState(
        {kind: tuple(items) for kind, items in by_kind.items()},
        tuple(logs),
        read_kinds,
        missing,
        source,
        captured_at,
        version or karpenter_version(by_kind.get("Deployment", ())),
        redacted,
    )


__all__ = [
    "DEVICE_PLUGIN_MARKERS",
    "KIND_DUMP",
    "KIND_NODE_METRICS",
    "KIND_POD_LOG",
    "ClusterState",
    "PodLog",
    "controller_container",
    "image_tag",
    "is_device_plugin",
    "is_karpenter",
    "karpenter_version",
    "parse_time",
    "short_age",
    "state_from_objects",
]
