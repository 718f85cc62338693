"""EKS's ``ExtendedResourceToleration`` admission, applied to a pod spec before scheduling.

EKS enables the ``ExtendedResourceToleration`` admission plugin (aws/containers-roadmap#739).
When a pod is created, the API server gives every pod that requests an extended resource
(``nvidia.com/gpu``) the toleration ``{key: <resource>, operator: Exists, effect:
NoSchedule}``, so a GPU pod lands on a NodePool tainted ``nvidia.com/gpu:NoSchedule`` without
a toleration of its own. Karpenter sees the admitted pod, so the simulator and validate
must admit it too (on by default; ``--no-eks-admission`` for clusters without the plugin).

Followed from k8s.io/kubernetes v1.35:

* ``plugin/pkg/admission/extendedresourcetoleration/admission.go`` ``Admit``: the names in
  ``resources.requests`` of ``spec.containers`` and ``spec.initContainers`` that are
  extended, sorted, each added with ``AddOrUpdateTolerationInPod`` (pod-level
  ``spec.resources`` and ephemeral containers are not read);
* ``pkg/apis/core/v1/defaults.go`` ``SetDefaults_Pod``: defaulting runs before admission,
  so a resource a container only limits is requested too;
* ``pkg/apis/core/helper/helpers.go`` ``IsExtendedResourceName`` (:func:`is_extended_resource_name`)
  and ``AddOrUpdateTolerationInPod`` (:func:`add_or_update_toleration`).

Pure; applying it to a pod that was admitted already (one read from a live cluster) changes
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eks_gpu.names import DOMAIN_KUBERNETES
from eks_gpu.scheduling.taints import Toleration

_NATIVE_NAMESPACE = f"{DOMAIN_KUBERNETES}/"  # core.ResourceDefaultNamespacePrefix
_REQUESTS_PREFIX = "requests."  # core.DefaultResourceRequestsPrefix
_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*")
_LABEL_KEY_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_SUBDOMAIN_MAX = 253
_NAME_MAX = 63
_MATCHED_FIELDS = ("key", "operator", "value", "effect")


def is_qualified_name(value: str) -> bool:
    """apimachinery ``validate/content.IsLabelKey`` (``IsQualifiedName``): an optional DNS-1123
    subdomain prefix and ``/``, then a name of at most 63 characters."""
    parts = value.split("/")
    if len(parts) > 2:
        return False
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix or len(prefix) > _SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.fullmatch(prefix):
            return False
    name = parts[-1]
    return 0 < len(name) <= _NAME_MAX and _LABEL_KEY_NAME.fullmatch(name) is not None


def is_extended_resource_name(name: str) -> bool:
    """``helper.IsExtendedResourceName``: not native (unprefixed, or containing
    ``kubernetes.io/`` anywhere), not ``requests.*``, and ``requests.<name>`` qualified."""
    native = "/" not in name or _NATIVE_NAMESPACE in name
    if native or name.startswith(_REQUESTS_PREFIX):
        return False
    return is_qualified_name(_REQUESTS_PREFIX + name)


def _requested_names(container: Any) -> set[str]:
    """The resource names a container requests once limits default its requests."""
    resources = container.get("resources") if isinstance(container, Mapping) else None
    if not isinstance(resources, Mapping):
        return set()
    names: set[str] = set()
    for section in ("requests", "limits"):
        raw = resources.get(section)
        if isinstance(raw, Mapping):
            names.update(str(name) for name in raw)
    return names


def extended_resources(spec: Mapping[str, Any]) -> list[str]:
    """The extended resources the pod's containers and init containers request, sorted
    (``Admit`` iterates ``sets.String.List()``)."""
    names: set[str] = set()
    for field in ("containers", "initContainers"):
        raw = spec.get(field)
        for container in raw if isinstance(raw, list) else ():
            names.update(_requested_names(container))
    return sorted(name for name in names if is_extended_resource_name(name))


def extended_resource_toleration(resource: str) -> Toleration:
    """The toleration the plugin adds for ``resource``."""
    return {"key": resource, "operator": "Exists", "effect": "NoSchedule"}


def _field(toleration: Toleration, name: str) -> str:
    value = toleration.get(name)
    return "" if value is None else str(value)


def _matches(a: Toleration, b: Toleration) -> bool:
    """``Toleration.MatchToleration``: key, operator, value and effect equal (an absent
    field reads as empty; ``tolerationSeconds`` is not compared)."""
    return all(_field(a, name) == _field(b, name) for name in _MATCHED_FIELDS)


def add_or_update_toleration(
    tolerations: Sequence[Toleration], toleration: Toleration
) -> tuple[tuple[Toleration, ...], bool]:
    """``helper.AddOrUpdateTolerationInPod``: the new list, and whether ``toleration`` was
    appended.

    Every toleration that matches (:func:`_matches`) is replaced in place by ``toleration``;
    when none matches, it is appended. Upstream's "identical, no change" short cut compares a
    ``*Toleration`` with a ``Toleration`` through ``Semantic.DeepEqual``, whose types never
    match, so it never fires: a matching toleration is always replaced (which drops its
    ``tolerationSeconds``, meaningless for ``NoSchedule``).
    """
    out = tuple(toleration if _matches(toleration, t) else t for t in tolerations)
    if any(_matches(toleration, t) for t in tolerations):
        return out, False
    return (*out, toleration), True


def _is_toleration_list(raw: Any) -> bool:
    """A list of mappings (anything else is left for ``PodView`` to report)."""
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        return False
    return all(isinstance(t, Mapping) for t in raw)


@dataclass(frozen=True)
class Admitted:
    """A pod spec as the API server stores it, and the tolerations admission appended."""

    spec: Mapping[str, Any]
    added: tuple[Toleration, ...]


def admit(spec: Mapping[str, Any]) -> Admitted:
    """The pod spec after ``ExtendedResourceToleration`` (``spec`` itself when nothing is
    requested; otherwise a shallow copy with new ``tolerations``; ``spec`` is not changed).

    A ``tolerations`` value that is not a list is left as it is, for ``PodView`` to report.
    """
    resources = extended_resources(spec)
    raw = spec.get("tolerations")
    if raw is None:
        raw = []
    if not resources or not _is_toleration_list(raw):
        return Admitted(spec, ())
    tolerations: tuple[Toleration, ...] = tuple(raw)
    added = []
    for resource in resources:
        toleration = extended_resource_toleration(resource)
        tolerations, appended = add_or_update_toleration(tolerations, toleration)
        if appended:
            added.append(toleration)
    return Admitted({**spec, "tolerations": list(tolerations)}, tuple(added))


def toleration_str(toleration: Toleration) -> str:
    """``{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}``, for messages."""
    fields = (f"{k}: {toleration[k]}" for k in _MATCHED_FIELDS if k in toleration)
    return "{" + ", ".join(fields) + "}"


__all__ = [
    "Admitted",
    "add_or_update_toleration",
    "admit",
    "extended_resource_toleration",
    "extended_resources",
    "is_extended_resource_name",
    "is_qualified_name",
    "toleration_str",
]
