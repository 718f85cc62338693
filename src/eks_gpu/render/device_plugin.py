"""The NVIDIA device plugin DaemonSet (and its sharing ConfigMap), hardened for Karpenter.

Starting point: NVIDIA's static manifest (``deployments/static/nvidia-device-plugin.yml``),
whose names, labels, container, security context and volume we keep, so that
``version: v0.16.2`` has the guide's semantics. On top of it:

- tolerations for **every** taint of every GPU pool (the upstream manifest tolerates only
  ``nvidia.com/gpu:NoSchedule``; any other pool taint leaves GPU nodes without a plugin);
- a required node affinity to NVIDIA GPU nodes: plugin >= v0.18 fails on nodes without a
  GPU (``FAIL_ON_INIT_ERROR`` is gone), so it must never be scheduled on CPU nodes. A node
  qualifies by Karpenter's GPU label, NFD/GFD's ``gpu.present`` label, or its instance type
  among the catalog's NVIDIA types: managed and self-managed node groups carry neither label,
  and their GPU nodes would otherwise lose the plugin when ours replaces the guide's;
- kept off EKS Auto Mode nodes and any listed node classes (Bottlerocket ships its own
  plugin; two plugins on one node conflict);
- hardened beyond upstream (checked by ``checkov`` in ``tests/test_checkov.py``): CPU and
  memory requests and limits, ``RuntimeDefault`` seccomp (the plugin makes gRPC and NVML
  calls only; the NVIDIA runtime hook that injects the GPUs runs outside the container), and
  no service account token (the plugin never calls the Kubernetes API). What it keeps from
  upstream and why (root, hostPath, tags, writable root) is in docs/hardening.md.
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from eks_gpu.catalog.gpu_types import gpu_instance_types
from eks_gpu.config.defaults import DEVICE_PLUGIN_IMAGE, DEVICE_PLUGIN_RESOURCES
from eks_gpu.config.device_plugin import DevicePlugin, TimeSlicing
from eks_gpu.config.fields import version_tuple
from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.names import (
    ANNOTATION_SHARING_CONFIG_HASH,
    API_VERSION_APPS,
    LABEL_EC2NODECLASS,
    LABEL_EKS_COMPUTE_TYPE,
    LABEL_GPU_MANUFACTURER,
    LABEL_INSTANCE_TYPE,
    LABEL_NVIDIA_GPU_PRESENT,
    RESOURCE_NVIDIA_GPU,
    TAINT_NVIDIA_GPU,
)
from eks_gpu.render.metadata import object_meta

NAME = "nvidia-device-plugin-daemonset"
POD_LABEL = {"name": "nvidia-device-plugin-ds"}
CONTAINER_NAME = "nvidia-device-plugin-ctr"
CONFIG_MAP_NAME = "nvidia-device-plugin-config"
# Not /etc/nvidia: toolkit 1.20.0 fails containers whose /etc/nvidia is read-only
# (NVIDIA/nvidia-container-toolkit#2026).
CONFIG_DIR = "/etc/eks-gpu/device-plugin"
PLUGIN_DIR = "/var/lib/kubelet/device-plugins"
UPSTREAM_TOLERATION = {"key": TAINT_NVIDIA_GPU, "operator": "Exists", "effect": "NoSchedule"}
# v0.18.0 dropped FAIL_ON_INIT_ERROR=false, renamed the volume and typed it Directory.
NEW_LAYOUT = (0, 18, 0)


def image_for(plugin: DevicePlugin) -> str:
    """The container image: the override, or NVIDIA's image at ``version``."""
    return plugin.image or f"{DEVICE_PLUGIN_IMAGE}:{plugin.version}"


def plugin_tolerations(config: GpuConfig) -> list[dict[str, str]]:
    """Tolerate every taint and startup taint of every GPU pool, whatever its value."""
    wanted = {(UPSTREAM_TOLERATION["key"], UPSTREAM_TOLERATION["effect"])}
    for pool in config.node_pools:
        wanted |= {(t.key, t.effect) for t in (*pool.taints, *pool.startup_taints)}
    return [{"key": k, "operator": "Exists", "effect": e} for k, e in sorted(wanted)]


def _exclusions(plugin: DevicePlugin) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"key": LABEL_EKS_COMPUTE_TYPE, "operator": "NotIn", "values": ["auto"]}
    ]
    if plugin.exclude_node_classes:
        out.append(
            {
                "key": LABEL_EC2NODECLASS,
                "operator": "NotIn",
                "values": sorted(plugin.exclude_node_classes),
            }
        )
    return out


def nvidia_instance_types() -> list[str]:
    """Every catalog instance type with NVIDIA GPUs (fractional g6f/gr6f included), sorted."""
    return sorted(r.instance_type for r in gpu_instance_types() if r.gpu_manufacturer == "nvidia")


def plugin_affinity(plugin: DevicePlugin) -> dict[str, Any]:
    """NVIDIA GPU nodes only: Karpenter's GPU label, NFD/GFD's ``gpu.present`` label, or an
    NVIDIA instance type (nodes of managed/self-managed node groups); terms are ORed."""
    exclusions = _exclusions(plugin)
    gpu_markers = [
        {"key": LABEL_GPU_MANUFACTURER, "operator": "In", "values": ["nvidia"]},
        {"key": LABEL_NVIDIA_GPU_PRESENT, "operator": "In", "values": ["true"]},
        {"key": LABEL_INSTANCE_TYPE, "operator": "In", "values": nvidia_instance_types()},
    ]
    terms = [{"matchExpressions": [marker, *exclusions]} for marker in gpu_markers]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
        }
    }


def sharing_config(time_slicing: TimeSlicing) -> str:
    """The plugin's own config file (``version: v1``) for time-slicing."""
    document = {
        "version": "v1",
        "sharing": {
            "timeSlicing": {
                "renameByDefault": time_slicing.rename_by_default,
                "failRequestsGreaterThanOne": time_slicing.fail_requests_greater_than_one,
                "resources": [{"name": RESOURCE_NVIDIA_GPU, "replicas": time_slicing.replicas}],
            }
        },
    }
    text: str = yaml.safe_dump(document, sort_keys=False)
    return text


def _time_slicing(plugin: DevicePlugin) -> TimeSlicing | None:
    return plugin.sharing.time_slicing if plugin.sharing else None


def render_config_map(plugin: DevicePlugin) -> dict[str, Any] | None:
    """The sharing ConfigMap, or None when the plugin shares nothing."""
    time_slicing = _time_slicing(plugin)
    if time_slicing is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_meta(CONFIG_MAP_NAME, plugin.namespace),
        "data": {"config.yaml": sharing_config(time_slicing)},
    }


def _container(plugin: DevicePlugin, volume: str) -> dict[str, Any]:
    env: list[dict[str, str]] = []
    if version_tuple(plugin.version) < NEW_LAYOUT:
        env.append({"name": "FAIL_ON_INIT_ERROR", "value": "false"})
    mounts: list[dict[str, Any]] = [{"name": volume, "mountPath": PLUGIN_DIR}]
    if _time_slicing(plugin) is not None:
        env.append({"name": "CONFIG_FILE", "value": f"{CONFIG_DIR}/config.yaml"})
        mounts.append({"name": "sharing-config", "mountPath": CONFIG_DIR, "readOnly": True})
    container: dict[str, Any] = {"name": CONTAINER_NAME, "image": image_for(plugin)}
    if env:
        container["env"] = env
    container["resources"] = {k: dict(v) for k, v in DEVICE_PLUGIN_RESOURCES.items()}
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    container["volumeMounts"] = mounts
    return container


def _volumes(plugin: DevicePlugin, volume: str) -> list[dict[str, Any]]:
    host_path: dict[str, str] = {"path": PLUGIN_DIR}
    if version_tuple(plugin.version) >= NEW_LAYOUT:
        host_path["type"] = "Directory"
    volumes: list[dict[str, Any]] = [{"name": volume, "hostPath": host_path}]
    if _time_slicing(plugin) is not None:
        volumes.append({"name": "sharing-config", "configMap": {"name": CONFIG_MAP_NAME}})
    return volumes


def _template_metadata(plugin: DevicePlugin) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": dict(POD_LABEL)}
    time_slicing = _time_slicing(plugin)
    if time_slicing is not None:
        # The plugin reads its config once; a changed hash rolls the DaemonSet.
        digest = hashlib.sha256(sharing_config(time_slicing).encode()).hexdigest()[:16]
        meta["annotations"] = {ANNOTATION_SHARING_CONFIG_HASH: digest}
    return meta


def render_daemonset(config: GpuConfig) -> dict[str, Any]:
    """The device plugin DaemonSet for ``config``."""
    plugin = config.device_plugin
    volume = (
        "kubelet-device-plugins-dir"
        if version_tuple(plugin.version) >= NEW_LAYOUT
        else "device-plugin"
    )
    pod_spec: dict[str, Any] = {
        "tolerations": plugin_tolerations(config),
        "affinity": plugin_affinity(plugin),
        "priorityClassName": plugin.priority_class_name,
        "automountServiceAccountToken": False,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [_container(plugin, volume)],
        "volumes": _volumes(plugin, volume),
    }
    return {
        "apiVersion": API_VERSION_APPS,
        "kind": "DaemonSet",
        "metadata": object_meta(NAME, plugin.namespace),
        "spec": {
            "selector": {"matchLabels": dict(POD_LABEL)},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"metadata": _template_metadata(plugin), "spec": pod_spec},
        },
    }


def render_device_plugin(config: GpuConfig) -> list[dict[str, Any]]:
    """ConfigMap (when sharing) then DaemonSet, in apply order."""
    config_map = render_config_map(config.device_plugin)
    return [*([config_map] if config_map else []), render_daemonset(config)]


__all__ = [
    "NAME",
    "POD_LABEL",
    "image_for",
    "nvidia_instance_types",
    "plugin_affinity",
    "plugin_tolerations",
    "render_config_map",
    "render_daemonset",
    "render_device_plugin",
    "sharing_config",
]
