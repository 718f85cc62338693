"""The JSON types the API server always prints for the fields ``status``, ``doctor`` and the
simulator read from a dump, checked once when ``--from`` input is loaded.

A dump is a user's file (or hand-written, or damaged): a list where the API prints a mapping
would otherwise surface deep inside an analyser as an AttributeError (exit 70). The types are
the Kubernetes API's (k8s.io/api core/v1 ``PodSpec``, ``NodeStatus``...) and Karpenter's
(sigs.k8s.io/karpenter pkg/apis/v1 ``NodePoolSpec``, ``NodeClaimSpec``); only fields some
analyser reads are listed, and a field that is absent or null is always fine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAP, LIST, TEXT, COUNT = dict, list, str, int
"""``[]`` after a field: a list whose items are mappings."""

_COMMON: dict[str, type] = {
    "metadata.name": TEXT,
    "metadata.namespace": TEXT,
    "metadata.labels": MAP,
    "metadata.annotations": MAP,
    "metadata.ownerReferences[]": MAP,
}
_POD_SPEC: dict[str, type] = {
    "containers[]": MAP,
    "containers[].resources": MAP,
    "containers[].resources.requests": MAP,
    "containers[].resources.limits": MAP,
    "initContainers[]": MAP,
    "initContainers[].resources": MAP,
    "initContainers[].resources.requests": MAP,
    "initContainers[].resources.limits": MAP,
    "nodeName": TEXT,
    "nodeSelector": MAP,
    "tolerations[]": MAP,
    "affinity": MAP,
    "overhead": MAP,
    "resources": MAP,
    "priorityClassName": TEXT,
}
_TEMPLATE: dict[str, type] = {
    "spec.template": MAP,
    "spec.template.metadata": MAP,
    "spec.template.metadata.labels": MAP,
    "spec.template.spec": MAP,
    **{f"spec.template.spec.{path}": kind for path, kind in _POD_SPEC.items()},
    "spec.selector": MAP,
}
_KARPENTER_NODE: dict[str, type] = {
    "requirements[]": MAP,
    "taints[]": MAP,
    "startupTaints[]": MAP,
    "nodeClassRef": MAP,
}
FIELD_TYPES: dict[str, dict[str, type]] = {
    "Pod": {
        **{f"spec.{path}": kind for path, kind in _POD_SPEC.items()},
        "status.phase": TEXT,
        "status.reason": TEXT,
        "status.nominatedNodeName": TEXT,
        "status.conditions[]": MAP,
        "status.containerStatuses[]": MAP,
        "status.containerStatuses[].state": MAP,
        "status.containerStatuses[].lastState": MAP,
        "status.initContainerStatuses[]": MAP,
    },
    "Node": {
        "spec.taints[]": MAP,
        "spec.providerID": TEXT,
        "status.capacity": MAP,
        "status.allocatable": MAP,
        "status.conditions[]": MAP,
        "status.nodeInfo": MAP,
    },
    "NodePool": {
        **_TEMPLATE,
        **{f"spec.template.spec.{path}": kind for path, kind in _KARPENTER_NODE.items()},
        "spec.limits": MAP,
        "spec.disruption": MAP,
        "spec.disruption.budgets[]": MAP,
        "spec.weight": COUNT,
        "status.resources": MAP,
        "status.conditions[]": MAP,
    },
    "NodeClaim": {
        **{f"spec.{path}": kind for path, kind in _KARPENTER_NODE.items()},
        "spec.resources": MAP,
        "spec.resources.requests": MAP,
        "status.capacity": MAP,
        "status.allocatable": MAP,
        "status.conditions[]": MAP,
        "status.nodeName": TEXT,
        "status.providerID": TEXT,
    },
    "EC2NodeClass": {"status.conditions[]": MAP, "spec.blockDeviceMappings[]": MAP},
    "DaemonSet": {
        **_TEMPLATE,
        "status.desiredNumberScheduled": COUNT,
        "status.numberReady": COUNT,
        "status.numberAvailable": COUNT,
        "status.numberUnavailable": COUNT,
    },
    "Deployment": {**_TEMPLATE, "status.conditions[]": MAP},
    "Event": {"involvedObject": MAP},
}
"""Kind -> dotted field path -> the type the API server prints there."""


def _type_name(kind: type) -> str:
    return {dict: "an object", list: "a list", str: "a string", int: "an integer"}[kind]


def _check(node: Any, steps: list[str], where: str, kind: type) -> str | None:
    """Why the value(s) at ``steps`` under ``node`` are not ``kind``; ``name[]`` is a list
    whose every item is checked. A missing or null field, or a parent that is not a mapping
    (its own entry reports that), is no error here."""
    if not steps:
        if isinstance(node, kind) and not isinstance(node, bool):
            return None
        return f"{where} is a {type(node).__name__}, not {_type_name(kind)}"
    if not isinstance(node, Mapping):
        return None
    key = steps[0].removesuffix("[]")
    value = node.get(key)
    if value is None:
        return None
    here = f"{where}.{key}" if where else key
    if not steps[0].endswith("[]"):
        return _check(value, steps[1:], here, kind)
    if not isinstance(value, list):
        return f"{here} is a {type(value).__name__}, not a list"
    for index, item in enumerate(value):
        if (why := _check(item, steps[1:], f"{here}[{index}]", kind)) is not None:
            return why
    return None


def field_type_error(obj: Mapping[str, Any]) -> str | None:
    """The first field of ``obj`` whose type is not the one the API server prints, or None."""
    fields = {**_COMMON, **FIELD_TYPES.get(str(obj.get("kind")), {})}
    for path, kind in fields.items():
        if (why := _check(obj, path.split("."), "", kind)) is not None:
            return why
    return None


__all__ = ["FIELD_TYPES", "field_type_error"]
