"""What a dump leaves out, so it can be attached to a ticket: env values, an EC2NodeClass's
``spec.userData``, kubectl's copy of the last applied object, and the field-manager bookkeeping.

Secrets (and ConfigMaps) are never read at all (``cluster/snapshot.py`` does not LIST them);
this module handles what the kinds a dump does read can carry: a container's literal
``env[].value`` (a token pasted into a Deployment) becomes ``REDACTED`` while its name and any
``valueFrom`` reference stay, so "which variable is set, and from where" is still answerable;
``kubectl.kubernetes.io/last-applied-configuration`` (a second copy of those values) and
``metadata.managedFields`` (which also make up a third of a pod's size) are dropped; an
EC2NodeClass's ``spec.userData`` (a bootstrap script, where join tokens and registry passwords
end up) becomes ``REDACTED``: no diagnosis reads it.

Pure and copy-on-write: an object that needs no change is returned as it is, one that does is
copied only along the changed path, so the caller's objects are never modified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eks_gpu.names import ANNOTATION_LAST_APPLIED

Obj = dict[str, Any]
REDACTED = "REDACTED"
NOT_READ = "Secrets and ConfigMaps: never read"
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
# Where a pod spec sits: a Pod's own spec; a template's (DaemonSet, Deployment, ReplicaSet,
# StatefulSet, Job); a CronJob's job template's.
POD_SPEC_PATHS = (
    ("spec",),
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)


@dataclass(frozen=True)
class Redaction:
    """The redacted objects, and how much of each thing was removed."""

    objects: tuple[Obj, ...]
    env_values: int = 0
    last_applied: int = 0
    managed_fields: int = 0
    user_data: int = 0

    def notes(self) -> tuple[str, ...]:
        """What was redacted, for the dump's header (zero counts are said too: "none found")."""
        return (
            NOT_READ,
            f"env[].value: {self.env_values} replaced with {REDACTED} "
            "(names and valueFrom references kept)",
            f"metadata.annotations[{ANNOTATION_LAST_APPLIED}]: dropped from "
            f"{self.last_applied} objects",
            f"metadata.managedFields: dropped from {self.managed_fields} objects",
            f"EC2NodeClass spec.userData: {self.user_data} replaced with {REDACTED}",
        )


def _redact_env(env: Any) -> tuple[Any, int]:
    if not isinstance(env, list):
        return env, 0
    out, count = [], 0
    for entry in env:
        if isinstance(entry, dict) and isinstance(entry.get("value"), str) and entry["value"]:
            entry = {**entry, "value": REDACTED}
            count += 1
        out.append(entry)
    return (out, count) if count else (env, 0)


def _redact_containers(containers: Any) -> tuple[Any, int]:
    if not isinstance(containers, list):
        return containers, 0
    out, total = [], 0
    for container in containers:
        if isinstance(container, dict):
            env, count = _redact_env(container.get("env"))
            if count:
                container = {**container, "env": env}
                total += count
        out.append(container)
    return (out, total) if total else (containers, 0)


def _redact_pod_spec(spec: Obj) -> tuple[Obj, int]:
    total = 0
    for key in CONTAINER_LISTS:
        containers, count = _redact_containers(spec.get(key))
        if count:
            spec = {**spec, key: containers}
            total += count
    return spec, total


def _redact_at(obj: Obj, path: tuple[str, ...]) -> tuple[Obj, int]:
    """``obj`` with the pod spec at ``path`` redacted (copied along the path when it changes)."""
    child = obj.get(path[0])
    if not isinstance(child, dict):
        return obj, 0
    if len(path) == 1:
        new_child, count = _redact_pod_spec(child)
    else:
        new_child, count = _redact_at(child, path[1:])
    return ({**obj, path[0]: new_child}, count) if count else (obj, 0)


def _slim_metadata(obj: Obj) -> tuple[Obj, bool, bool]:
    """``obj`` without managedFields and the last-applied annotation; whether each was there."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return obj, False, False
    annotations = metadata.get("annotations")
    applied = isinstance(annotations, dict) and ANNOTATION_LAST_APPLIED in annotations
    managed = "managedFields" in metadata
    if not (applied or managed):
        return obj, False, False
    slim = {k: v for k, v in metadata.items() if k != "managedFields"}
    if applied:
        assert isinstance(annotations, dict)
        slim["annotations"] = {k: v for k, v in annotations.items() if k != ANNOTATION_LAST_APPLIED}
    return {**obj, "metadata": slim}, applied, managed


def _redact_user_data(obj: Obj) -> tuple[Obj, bool]:
    """An EC2NodeClass without the value of ``spec.userData``; whether it had one."""
    spec = obj.get("spec")
    if obj.get("kind") != "EC2NodeClass" or not isinstance(spec, dict):
        return obj, False
    if spec.get("userData") in (None, "", REDACTED):
        return obj, False
    return {**obj, "spec": {**spec, "userData": REDACTED}}, True


def redact(obj: Obj) -> tuple[Obj, int, bool, bool]:
    """One object redacted: (object, env values replaced, last-applied dropped, managedFields
    dropped); :func:`redact_all` also counts userData."""
    obj, applied, managed = _slim_metadata(obj)
    obj, _ = _redact_user_data(obj)
    env_values = 0
    for path in POD_SPEC_PATHS:
        obj, count = _redact_at(obj, path)
        env_values += count
    return obj, env_values, applied, managed


def redact_all(objects: Iterable[Obj]) -> Redaction:
    """Every object redacted, with the totals for the header."""
    out: list[Obj] = []
    env_values = last_applied = managed_fields = user_data = 0
    for obj in objects:
        user_data += _redact_user_data(obj)[1]
        new, count, applied, managed = redact(obj)
        out.append(new)
        env_values += count
        last_applied += applied
        managed_fields += managed
    return Redaction(tuple(out), env_values, last_applied, managed_fields, user_data)


__all__ = ["NOT_READ", "REDACTED", "Redaction", "redact", "redact_all"]
