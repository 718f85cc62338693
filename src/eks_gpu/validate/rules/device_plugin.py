"""Finding the NVIDIA device plugin among a set's DaemonSets, and what its image version means.

A DaemonSet is taken for the plugin when one of its containers runs NVIDIA's
``k8s-device-plugin`` image (the static manifest, the Helm chart and mirrors all keep that
repository name). From v0.18.0 the static manifest no longer sets ``FAIL_ON_INIT_ERROR=false``
and the binary's default (fail) applies (shared/research/nvidia.md section 1.1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eks_gpu.manifests import ManifestSet, pod_spec_of
from eks_gpu.validate.rules.workloads import containers

PLUGIN_IMAGE = "k8s-device-plugin"
FAILS_ON_INIT_FROM = (0, 18, 0)
FAIL_ON_INIT_ENV = "FAIL_ON_INIT_ERROR"
FAIL_ON_INIT_FLAG = "--fail-on-init-error"
_FALSE = {"false", "0", "f"}
_VERSION = re.compile(r"^v?([0-9]+)\.([0-9]+)(?:\.([0-9]+))?")


@dataclass(frozen=True)
class PluginDaemonSet:
    """One device plugin DaemonSet and the plugin container in it."""

    obj: dict[str, Any]
    pod_spec: dict[str, Any]
    container_path: str
    container: dict[str, Any]

    @property
    def image(self) -> str:
        return str(self.container.get("image", ""))


def plugin_daemonsets(manifests: ManifestSet) -> Iterator[PluginDaemonSet]:
    """Every DaemonSet of the set that runs the NVIDIA device plugin (first such container)."""
    for daemonset in manifests.daemonsets:
        pod_spec = pod_spec_of(daemonset)
        if pod_spec is None:
            continue
        for path, container in containers(pod_spec):
            if PLUGIN_IMAGE in str(container.get("image", "")):
                yield PluginDaemonSet(daemonset, pod_spec, path, container)
                break


def image_version(image: str) -> tuple[int, int, int] | None:
    """The version in an image tag (``...:v0.17.1`` → (0, 17, 1)); None when there is none.

    A digest-only or non-version tag says nothing; ``latest`` and no tag at all are handled
    by :func:`fails_on_init_by_default`.
    """
    tag = image.split("@", 1)[0].rpartition("/")[2].partition(":")[2]
    match = _VERSION.match(tag)
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def fails_on_init_by_default(image: str) -> bool | None:
    """True for plugin images >= v0.18 (and ``latest``/untagged); None when unknown."""
    name = image.split("@", 1)[0].rpartition("/")[2]
    tag = name.partition(":")[2]
    if tag in ("", "latest") and "@" not in image:
        return True
    version = image_version(image)
    return None if version is None else version >= FAILS_ON_INIT_FROM


def _env_false(container: dict[str, Any]) -> bool:
    env = container.get("env")
    for var in env if isinstance(env, list) else []:
        if isinstance(var, dict) and var.get("name") == FAIL_ON_INIT_ENV:
            return str(var.get("value", "")).strip().lower() in _FALSE
    return False


def _flag_false(container: dict[str, Any]) -> bool:
    words = [*(container.get("command") or []), *(container.get("args") or [])]
    flags = {str(w).strip().lower() for w in words}
    return any(f"{FAIL_ON_INIT_FLAG}={value}" in flags for value in _FALSE)


def fail_on_init_disabled(container: dict[str, Any]) -> bool:
    """True when the container sets ``FAIL_ON_INIT_ERROR=false`` (env or flag)."""
    return _env_false(container) or _flag_false(container)


__all__ = [
    "FAILS_ON_INIT_FROM",
    "PLUGIN_IMAGE",
    "PluginDaemonSet",
    "fail_on_init_disabled",
    "fails_on_init_by_default",
    "image_version",
    "plugin_daemonsets",
]
