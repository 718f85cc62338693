"""Rendered core objects (DaemonSet, ConfigMap, Namespace, Pod) pass the Kubernetes schemas.

The oracle is ``kubernetes-validate``'s bundled OpenAPI schemas in strict mode, where an
unknown field is an error, checked at Kubernetes 1.33 and at the newest version it knows.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions, latest_version, major_minor

from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.parse import config_from_data
from eks_gpu.config.profiles import PROFILES, profile_config
from eks_gpu.render.bundle import render_all

CLUSTER = "demo"
CORE_KINDS = {"DaemonSet", "ConfigMap", "Namespace", "Pod"}
CURRENT = "1.33"
LATEST = major_minor(latest_version())
VERSIONS = sorted({CURRENT, LATEST})

EXTRA_CONFIGS: dict[str, dict[str, Any]] = {
    "time-slicing": {"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 4}}}},
    "device-plugin-v0.16.2": {"devicePlugin": {"version": "v0.16.2"}},
}


def _configs() -> dict[str, GpuConfig]:
    configs = {f"profile-{name}": profile_config(name) for name in PROFILES}
    configs.update({name: config_from_data(data, name) for name, data in EXTRA_CONFIGS.items()})
    return configs


CONFIGS = _configs()


def _core_objects() -> list[Any]:
    """One pytest param per rendered core object, id'd config/kind/name."""
    return [
        pytest.param(item.obj, id=f"{config}/{item.obj['kind']}/{item.obj['metadata']['name']}")
        for config, gpu_config in CONFIGS.items()
        for item in render_all(gpu_config, CLUSTER)
        if item.obj["kind"] in CORE_KINDS
    ]


def _validate(obj: dict[str, Any], version: str) -> None:
    """Strict validation, failing with the object's path and the schema's message."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = "/".join(map(str, error.path)) or "<root>"
        pytest.fail(f"{obj['kind']} {obj['metadata']['name']} at {where}: {error.message}")


def test_versions_are_supported() -> None:
    supported = {major_minor(version) for version in all_versions()}
    assert CURRENT in supported
    assert LATEST in supported


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("obj", _core_objects())
def test_rendered_core_objects_pass_strict_schema(obj: dict[str, Any], version: str) -> None:
    _validate(obj, version)


def test_every_core_kind_is_covered() -> None:
    kinds = {item.obj["kind"] for c in CONFIGS.values() for item in render_all(c, CLUSTER)}
    assert kinds >= CORE_KINDS, f"not rendered by any config: {CORE_KINDS - kinds}"


def _first_pod() -> dict[str, Any]:
    items = render_all(profile_config("guide"), CLUSTER)
    return copy.deepcopy(next(item.obj for item in items if item.obj["kind"] == "Pod"))


@pytest.mark.parametrize("version", VERSIONS)
def test_strict_validation_rejects_an_unknown_pod_field(version: str) -> None:
    pod = _first_pod()
    kubernetes_validate.validate(pod, version, strict=True)  # the unbroken pod is valid
    pod["spec"]["containers"][0]["gpus"] = 1
    with pytest.raises(kubernetes_validate.ValidationError, match="gpus"):
        kubernetes_validate.validate(pod, version, strict=True)
