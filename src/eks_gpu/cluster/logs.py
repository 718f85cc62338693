"""The log tails a dump carries: NVIDIA's device plugin pods and Karpenter's controller, the two
logs the guide reads when a GPU node does not start.

Which pods is decided from objects already LISTed (:func:`log_targets` is pure: the device
plugin DaemonSets and the Karpenter Deployment, their pods by owner or selector), so the only
per-pod calls a dump makes are the log reads themselves. A log that cannot be read (403, a
container not started, a node without a kubelet) is recorded under ``missing`` with the
server's reason, never dropped in silence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from eks_gpu.errors import ClusterAccessError
from eks_gpu.manifests.cluster_state import (
    DEVICE_PLUGIN_MARKERS,
    KIND_POD_LOG,
    ClusterState,
    PodLog,
    controller_container,
    is_device_plugin,
    is_karpenter,
)

Obj = dict[str, Any]
SIDECAR = "sidecar"  # the chart's config-manager container runs the same image; not the plugin
DEFAULT_TAIL_LINES = 200


class LogSource(Protocol):
    """What reads a log: :meth:`eks_gpu.cluster.client.Client.text`."""

    def text(self, path: str, **query: str) -> str: ...


@dataclass(frozen=True)
class LogTarget:
    """One container whose log tail a dump wants; ``skip`` says why it is not read at all."""

    namespace: str
    pod: str
    container: str
    owner: str
    skip: str = ""

    @property
    def key(self) -> str:
        """Its key in a dump's ``missing``: ``PodLog/NAMESPACE/POD``."""
        return f"{KIND_POD_LOG}/{self.namespace}/{self.pod}"

    @property
    def path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods/{self.pod}/log"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _meta(obj: Obj) -> Mapping[str, Any]:
    return _mapping(obj.get("metadata"))


def _template_spec(obj: Obj) -> Mapping[str, Any]:
    return _mapping(_mapping(_mapping(obj.get("spec")).get("template")).get("spec"))


def _containers(pod_spec: Mapping[str, Any]) -> list[Obj]:
    return [c for c in pod_spec.get("containers") or [] if isinstance(c, dict)]


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against ``labels``; an empty or
    missing selector matches nothing here (a workload's selector is never empty)."""
    selector = _mapping(selector)
    match_labels = _mapping(selector.get("matchLabels"))
    expressions = [e for e in selector.get("matchExpressions") or [] if isinstance(e, Mapping)]
    if not match_labels and not expressions:
        return False
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    return all(_expression_matches(e, labels) for e in expressions)


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key, operator = str(expression.get("key")), expression.get("operator")
    values = expression.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def _owned_by(pod: Obj, owner: Obj, kind: str) -> bool:
    """Whether ``owner`` (a ``kind``) is the pod's controller: by uid when both have one."""
    uid = _meta(owner).get("uid")
    for ref in _meta(pod).get("ownerReferences") or []:
        ref = _mapping(ref)
        if ref.get("kind") != kind or ref.get("name") != _meta(owner).get("name"):
            continue
        if not uid or not ref.get("uid") or ref.get("uid") == uid:
            return True
    return False


def _has_controller(pod: Obj) -> bool:
    return any(_mapping(r).get("controller") for r in _meta(pod).get("ownerReferences") or [])


def _pods_of(owner: Obj, kind: str, pods: Iterable[Obj]) -> list[Obj]:
    """The pods of a DaemonSet (by owner reference; by selector when a pod has no controller)
    or a Deployment (by selector: its pods are owned by a ReplicaSet), in its namespace."""
    namespace = _meta(owner).get("namespace")
    selector = _mapping(owner.get("spec")).get("selector")
    found = []
    for pod in pods:
        if _meta(pod).get("namespace") != namespace:
            continue
        labels = _mapping(_meta(pod).get("labels"))
        if kind == "DaemonSet" and _has_controller(pod):
            if _owned_by(pod, owner, kind):
                found.append(pod)
        elif selector_matches(selector, labels):
            found.append(pod)
    return found


def _plugin_container(pod_spec: Mapping[str, Any]) -> Obj | None:
    """The device plugin container: its image, not the config-manager sidecar; else the
    first container."""
    containers = _containers(pod_spec)
    plugin = [
        c for c in containers if any(m in str(c.get("image") or "") for m in DEVICE_PLUGIN_MARKERS)
    ]
    main = [c for c in plugin if SIDECAR not in str(c.get("name") or "")]
    chosen = main or plugin or containers
    return chosen[0] if chosen else None


def _target(pod: Obj, container: Obj | None, owner: str) -> LogTarget:
    meta = _meta(pod)
    spec = _mapping(pod.get("spec"))
    skip = "" if spec.get("nodeName") else "the pod is not scheduled to a node yet"
    if container is None:
        skip = "the pod has no containers"
    name = str((container or {}).get("name") or "")
    return LogTarget(
        str(meta.get("namespace") or ""), str(meta.get("name") or ""), name, owner, skip
    )


def _ref(obj: Obj, kind: str) -> str:
    return f"{kind}/{_meta(obj).get('namespace')}/{_meta(obj).get('name')}"


def log_targets(state: ClusterState) -> tuple[LogTarget, ...]:
    """Every device plugin pod and Karpenter controller pod of ``state``, sorted, each once."""
    pods = state.of("Pod")
    targets: dict[str, LogTarget] = {}
    for daemonset in state.of("DaemonSet"):
        if is_device_plugin(daemonset):
            for pod in _pods_of(daemonset, "DaemonSet", pods):
                container = _plugin_container(_mapping(pod.get("spec")))
                target = _target(pod, container, _ref(daemonset, "DaemonSet"))
                targets.setdefault(target.key, target)
    for deployment in state.of("Deployment"):
        if is_karpenter(deployment):
            for pod in _pods_of(deployment, "Deployment", pods):
                container = controller_container(_mapping(pod.get("spec")))
                target = _target(pod, container, _ref(deployment, "Deployment"))
                targets.setdefault(target.key, target)
    return tuple(targets[key] for key in sorted(targets))


def read_logs(
    source: LogSource, targets: Iterable[LogTarget], tail_lines: int = DEFAULT_TAIL_LINES
) -> tuple[tuple[PodLog, ...], dict[str, str]]:
    """The last ``tail_lines`` lines of each target's log (one GET each), and the targets
    that could not be read, keyed ``PodLog/NAMESPACE/POD``, with the reason."""
    logs: list[PodLog] = []
    missing: dict[str, str] = {}
    for target in targets:
        if target.skip:
            missing[target.key] = f"{target.container or 'log'}: {target.skip}"
            continue
        try:
            text = source.text(target.path, container=target.container, tailLines=str(tail_lines))
        except ClusterAccessError as error:
            missing[target.key] = f"{target.container}: {error.message}"
            continue
        logs.append(PodLog(target.namespace, target.pod, target.container, text))
    return tuple(logs), missing


__all__ = [
    "DEFAULT_TAIL_LINES",
    "LogSource",
    "LogTarget",
    "log_targets",
    "read_logs",
    "selector_matches",
]
