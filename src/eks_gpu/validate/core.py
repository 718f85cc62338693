"""Core Kubernetes objects (Pod, DaemonSet, ConfigMap, Namespace, ...) checked against the
OpenAPI schemas of a chosen Kubernetes version, with ``kubernetes-validate`` (strict: unknown
fields are errors)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from eks_gpu.errors import UsageError
from eks_gpu.validate.findings import Finding, object_ref

RULE = "core-schema"
DEFAULT_KUBERNETES_VERSION = "1.33"


def supported_versions() -> list[str]:
    """The Kubernetes versions the installed kubernetes-validate has schemas for."""
    import kubernetes_validate.utils as utils

    return sorted({".".join(v.split(".")[:2]) for v in utils.all_versions()},
                  key=lambda v: tuple(int(x) for x in v.split(".")))  # fmt: skip


def check_kubernetes_version(version: str) -> str:
    """``1.33`` (a leading ``v`` and a patch are accepted) if kubernetes-validate knows it."""
    minor = ".".join(version.removeprefix("v").split(".")[:2])
    known = supported_versions()
    if minor not in known:
        raise UsageError(
            f"--kubernetes-version {version!r} has no bundled schemas",
            hint=f"use one of {', '.join(known)}",
        )
    return minor


@cache
def _validator(version: str, kind: str, api_version: str) -> Any | None:
    """A strict validator for one kind, built once (kubernetes-validate's schema files)."""
    import jsonschema
    from kubernetes_validate.utils import Registry, Resource, all_versions, schema_contents

    minor = tuple(int(x) for x in version.split("."))
    available = [v for v in all_versions() if tuple(int(x) for x in v.split(".")[:2]) <= minor]
    folder = f"v{available[-1]}-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(
            f"kubernetes-json-schema/{folder}/{kind.lower()}-{group_version}.json", version
        )
    except FileNotFoundError:
        return None
    definitions = schema_contents(f"kubernetes-json-schema/{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def core_findings(obj: dict[str, Any], version: str) -> list[Finding] | None:
    """Every schema violation of ``obj``; None when there is no schema for its kind."""
    from eks_gpu.validate.schema import json_path

    validator = _validator(version, str(obj.get("kind", "")), str(obj.get("apiVersion", "")))
    if validator is None:
        return None
    ref = object_ref(obj)
    errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    return [Finding(RULE, "error", ref, json_path(e), e.message) for e in errors]


__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "RULE",
    "check_kubernetes_version",
    "core_findings",
    "supported_versions",
]
