"""Workloads as the pods the simulator places, and DaemonSets as per-node overhead.

Pods are taken as they are; Deployments, StatefulSets and ReplicaSets expand to
``spec.replicas`` pods, Jobs to the pods that run at once, CronJobs to one Job's worth
(:func:`expand_workloads`). Pod names are deterministic: ``<name>-<i>`` from 0. DaemonSets
are not pods to place but overhead on every node they would run on, the way Karpenter
reserves room for them on a new node: they come back as their pod template's
:class:`~eks_gpu.scheduling.pod_view.PodView` (``placement.daemon_overheads`` does the rest).

Every template is read as the API server would store its pods: with EKS's admission
(:mod:`eks_gpu.scheduling.admission`) unless the caller turns it off. That holds for
DaemonSets too: Karpenter reads a running pod of the DaemonSet when there is one
(``Provisioner.getDaemonSetPods`` → ``Cluster.GetDaemonSetPod``), and that pod was admitted.

What the simulator does not model (topology spread, inter-pod affinity) is reported as "not
simulated" on the pod and in a note, never guessed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eks_gpu.manifests import Manifest, ManifestError
from eks_gpu.scheduling.admission import admit, toleration_str
from eks_gpu.scheduling.pod_view import PodView
from eks_gpu.scheduling.requirement import RequirementError

DEFAULT_NAMESPACE = "default"
REPLICATED_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")
WORKLOAD_KINDS = ("Pod", *REPLICATED_KINDS, "Job", "CronJob")
UNSIMULATED = ("topologySpreadConstraints", "podAffinity", "podAntiAffinity")


@dataclass(frozen=True)
class SimPod:
    """One pod to place: where it comes from and its spec, read once (:class:`PodView`).

    Replicas of one workload share one view. ``not_simulated`` names the constraints of
    its spec the simulator ignores.
    """

    namespace: str
    name: str
    view: PodView = field(hash=False, repr=False)
    owner: str | None = None
    not_simulated: tuple[str, ...] = ()

    @classmethod
    def from_spec(
        cls, namespace: str, name: str, spec: Mapping[str, Any], owner: str | None = None
    ) -> SimPod:
        """A pod read from ``spec`` (ValueError naming the field on bad input)."""
        return cls(namespace, name, PodView.from_spec(spec), owner, unsimulated_constraints(spec))

    @property
    def requests(self) -> Mapping[str, Decimal]:
        """The effective requests (init containers, sidecars, overhead, one ``pods``)."""
        return self.view.requests

    @property
    def ref(self) -> str:
        """``namespace/name``, as kubectl shows it."""
        return f"{self.namespace}/{self.name}"

    @property
    def gpus(self) -> Decimal:
        """The ``nvidia.com/gpu`` the pod requests (0 when none)."""
        return self.view.gpus


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def unsimulated_constraints(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The constraints in a pod spec the simulator does not model, in a fixed order."""
    affinity = _mapping(spec.get("affinity"))
    present = {
        "topologySpreadConstraints": bool(spec.get("topologySpreadConstraints")),
        "podAffinity": bool(affinity.get("podAffinity")),
        "podAntiAffinity": bool(affinity.get("podAntiAffinity")),
    }
    return tuple(name for name in UNSIMULATED if present[name])


@dataclass(frozen=True)
class _Object:
    """One input object, with where it came from for error messages."""

    obj: Mapping[str, Any]
    source: str | None

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str(_mapping(self.obj.get("metadata")).get("name") or "")

    @property
    def namespace(self) -> str:
        return str(_mapping(self.obj.get("metadata")).get("namespace") or DEFAULT_NAMESPACE)

    @property
    def label(self) -> str:
        """``Kind/namespace/name``, the owner string of its pods."""
        return f"{self.kind or 'object'}/{self.namespace}/{self.name}"

    def error(self, message: str, hint: str | None = None) -> ManifestError:
        where = f"{self.source}: " if self.source else ""
        return ManifestError(f"{where}{self.label}: {message}", hint=hint)


def _objects(objects: Iterable[Mapping[str, Any] | Manifest]) -> Iterator[_Object]:
    """Every object, ``kind: List`` items flattened."""
    for item in objects:
        obj, source = (item.obj, item.source) if isinstance(item, Manifest) else (item, None)
        items = obj.get("items")
        if str(obj.get("kind", "")).endswith("List") and isinstance(items, list):
            yield from (_Object(o, source) for o in items if isinstance(o, Mapping))
        else:
            yield _Object(obj, source)


def controller_of(obj: Mapping[str, Any], namespace: str) -> str | None:
    """``Kind/namespace/name`` of the object's controlling owner, if it has one."""
    refs = _mapping(obj.get("metadata")).get("ownerReferences")
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, Mapping) and ref.get("controller"):
            return f"{ref.get('kind')}/{namespace}/{ref.get('name')}"
    return None


def _template_spec(item: _Object) -> Mapping[str, Any]:
    """The pod spec of a Pod or a workload's template; ManifestError naming the path."""
    if item.kind == "Pod":
        path: tuple[str, ...] = ("spec",)
    elif item.kind == "CronJob":
        path = ("spec", "jobTemplate", "spec", "template", "spec")
    else:
        path = ("spec", "template", "spec")
    node: Any = item.obj
    for step in path:
        node = node.get(step) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping):
        raise item.error(f"{'.'.join(path)} is missing or not an object")
    return node


def _count(item: _Object, spec: Mapping[str, Any], key: str, path: str) -> int | None:
    """A non-negative integer field (None when absent); ManifestError otherwise."""
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise item.error(f"{path}.{key} must be a non-negative integer, got {value!r}")
    return value


def _job_pods(item: _Object, job_spec: Mapping[str, Any], path: str) -> tuple[int, str | None]:
    """Pods one Job runs at once: parallelism (default 1), at most completions."""
    if job_spec.get("suspend") is True:
        return 0, "suspended"
    parallelism = _count(item, job_spec, "parallelism", path)
    completions = _count(item, job_spec, "completions", path)
    count = 1 if parallelism is None else parallelism
    if completions is not None:
        count = min(count, completions)
    return count, None


def _pod_count(item: _Object) -> tuple[int, str | None]:
    """How many pods ``item`` stands for now, and why none when that is 0 for a reason."""
    spec = _mapping(item.obj.get("spec"))
    if item.kind in REPLICATED_KINDS:
        replicas = _count(item, spec, "replicas", "spec")
        return (1 if replicas is None else replicas), None
    if item.kind == "Job":
        return _job_pods(item, spec, "spec")
    if item.kind == "CronJob":
        if spec.get("suspend") is True:
            return 0, "suspended"
        job_spec = _mapping(_mapping(spec.get("jobTemplate")).get("spec"))
        return _job_pods(item, job_spec, "spec.jobTemplate.spec")
    return 1, None


def _admission_notes(admitted: Mapping[str, list[str]]) -> list[str]:
    """One note per set of added tolerations, naming the objects whose pods got it."""
    return [
        f"EKS admission (ExtendedResourceToleration) adds {tolerations} to the pods of "
        f"{', '.join(labels)}"
        for tolerations, labels in admitted.items()
    ]


def _view(item: _Object, spec: Mapping[str, Any]) -> PodView:
    """The pod template read once; ManifestError naming the object and field otherwise."""
    try:
        return PodView.from_spec(spec)
    except RequirementError as error:
        raise item.error(f"pod {error}", hint="fix the node selector or affinity") from None
    except ValueError as error:
        raise item.error(
            f"pod spec: {error}", hint="fix the quantity (e.g. 500m, 2Gi, 1)"
        ) from None


def _span(refs: Sequence[str]) -> str:
    return f"pod {refs[0]}" if len(refs) == 1 else f"{len(refs)} pods {refs[0]}..{refs[-1]}"


def _expand(item: _Object, spec: Mapping[str, Any]) -> tuple[list[SimPod], list[str]]:
    """The pods of one workload object (``spec``: its pod template, admitted), and notes."""
    view = _view(item, spec)
    count, why = _pod_count(item)
    if item.kind == "Pod":
        names = [item.name]
        owner = None
    else:
        names = [f"{item.name}-{index}" for index in range(count)]
        owner = item.label
    constraints = unsimulated_constraints(spec)
    pods = [SimPod(item.namespace, name, view, owner, constraints) for name in names]
    notes = []
    if not pods:
        notes.append(f"{item.label}: {why or 'scaled to 0'}; no pods")
    elif constraints:
        source = "" if owner is None else f" ({owner})"
        notes.append(
            f"{_span([p.ref for p in pods])}{source}: {', '.join(constraints)} not simulated; "
            "placed as if without them"
        )
    return pods, notes


def expand_workloads(
    objects: Iterable[Mapping[str, Any] | Manifest], *, eks_admission: bool = True
) -> tuple[list[SimPod], list[PodView], list[str]]:
    """The pods to place, the DaemonSets' pods (overhead, not pods to place) and notes, in
    input order.

    An object whose controlling owner is also given (a ReplicaSet of a given Deployment) is
    skipped so its pods are counted once. Objects of other kinds are ignored with a note.
    With ``eks_admission`` each pod template first goes through EKS's admission
    (``admission.admit``); the notes end with the tolerations it added, and to what.

    Raises:
        ManifestError: an object without a name or pod template, a bad replica count, a
            bad resource quantity, node selector, node affinity or tolerations, naming the
            object and field.
    """
    items = list(_objects(objects))
    given = {item.label for item in items}
    pods: list[SimPod] = []
    daemonsets: list[PodView] = []
    notes: list[str] = []
    admitted: dict[str, list[str]] = {}  # added tolerations -> objects whose pods got them
    for item in items:
        if not item.name and item.kind in (*WORKLOAD_KINDS, "DaemonSet"):
            raise item.error("metadata.name is missing")
        owner = controller_of(item.obj, item.namespace)
        if owner in given:
            notes.append(f"{item.label}: owned by {owner}, also given; counted once")
            continue
        if item.kind not in (*WORKLOAD_KINDS, "DaemonSet"):
            notes.append(f"{item.label}: not a workload; ignored")
            continue
        spec = _template_spec(item)
        added: tuple[Mapping[str, Any], ...] = ()
        if eks_admission:
            spec, added = _admitted(spec)
        if item.kind == "DaemonSet":
            daemonsets.append(_view(item, spec))
        else:
            more_pods, more_notes = _expand(item, spec)
            pods += more_pods
            notes += more_notes
            added = added if more_pods else ()
        if added:
            admitted.setdefault(", ".join(map(toleration_str, added)), []).append(item.label)
    return pods, daemonsets, notes + _admission_notes(admitted)


def _admitted(spec: Mapping[str, Any]) -> tuple[Mapping[str, Any], tuple[Mapping[str, Any], ...]]:
    """The spec after EKS admission, and the tolerations it appended."""
    result = admit(spec)
    return result.spec, result.added


__all__ = [
    "DEFAULT_NAMESPACE",
    "REPLICATED_KINDS",
    "UNSIMULATED",
    "WORKLOAD_KINDS",
    "SimPod",
    "controller_of",
    "expand_workloads",
    "unsimulated_constraints",
]
