"""What one ``verify`` run checks and creates, from the rendered objects (pure).

The test objects are the ones ``render`` writes (namespace, probes ConfigMap, the three pods),
moved into a namespace of this run (``<tests namespace>-<run id>``) and labelled with the run
id, so that the run deletes exactly what it made, and a later run can find what an
interrupted one left (the namespace's expiry annotation says when it is fair game).
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eks_gpu.diagnose.view import meta
from eks_gpu.names import ANNOTATION_VERIFY_EXPIRES, LABEL_VERIFY_RUN
from eks_gpu.render.test_pods import PYTORCH, SIMPLE, STORAGE

Obj = dict[str, Any]
POD_OF_STEP = {"simple": SIMPLE, "pytorch": PYTORCH, "nvme": STORAGE}
MAX_NAME = 63


@dataclass(frozen=True)
class Plan:
    """The pool under test, what its nodes must look like, and the test objects to create."""

    pool: str
    nodeclass: str
    labels: Mapping[str, str]
    taints: tuple[Mapping[str, Any], ...]
    namespace: Obj
    shared: tuple[Obj, ...]  # the ConfigMap(s) the pods mount
    pods: Mapping[str, Obj]  # step -> pod


def plan_of(rendered: Sequence[Obj], pool: str) -> Plan:
    """The plan for NodePool ``pool`` from ``render``'s objects (tests included)."""
    by_kind: dict[str, list[Obj]] = {}
    for obj in rendered:
        by_kind.setdefault(str(obj.get("kind")), []).append(obj)
    nodepool = next(o for o in by_kind["NodePool"] if meta(o).get("name") == pool)
    template = nodepool["spec"]["template"]
    pods = {str(meta(p).get("name")): p for p in by_kind.get("Pod", [])}
    return Plan(
        pool=pool,
        nodeclass=str(template["spec"]["nodeClassRef"]["name"]),
        labels=dict((template.get("metadata") or {}).get("labels") or {}),
        taints=tuple(template["spec"].get("taints") or ()),
        namespace=by_kind["Namespace"][0],
        shared=tuple(by_kind.get("ConfigMap", ())),
        pods={step: pods[name] for step, name in POD_OF_STEP.items()},
    )


def run_namespace(plan: Plan, run_id: str) -> str:
    """``<tests namespace>-<run id>``, within a DNS label's 63 characters."""
    base = str(meta(plan.namespace).get("name"))
    return f"{base[: MAX_NAME - len(run_id) - 1]}-{run_id}"


def _scoped(obj: Obj, namespace: str, run_id: str) -> Obj:
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    if obj.get("kind") == "Namespace":
        meta["name"] = namespace
    else:
        meta["namespace"] = namespace
    meta["labels"] = {**(meta.get("labels") or {}), LABEL_VERIFY_RUN: run_id}
    return out


def run_objects(
    plan: Plan, run_id: str, steps: Sequence[str], expires: datetime.datetime
) -> list[Obj]:
    """The namespace (annotated with its expiry), the ConfigMap(s) and the pods of ``steps``,
    in creation order, all scoped to this run."""
    namespace = run_namespace(plan, run_id)
    ns = _scoped(plan.namespace, namespace, run_id)
    stamp = expires.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ns["metadata"]["annotations"] = {
        **(ns["metadata"].get("annotations") or {}),
        ANNOTATION_VERIFY_EXPIRES: stamp,
    }
    objects = [ns, *(_scoped(o, namespace, run_id) for o in plan.shared)]
    objects += [_scoped(plan.pods[step], namespace, run_id) for step in steps if step in plan.pods]
    return objects


def container_of(pod: Mapping[str, Any]) -> str:
    """The test pod's one container, whose log holds the result."""
    return str(pod["spec"]["containers"][0]["name"])


__all__ = ["POD_OF_STEP", "Plan", "container_of", "plan_of", "run_namespace", "run_objects"]
