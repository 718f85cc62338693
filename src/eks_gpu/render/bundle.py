"""Everything ``render`` produces, in apply order, each object tagged with its group and file.

The files are the guide's own layout, so its commands (``kubectl apply -f
gpu/nodepool-gpu.yaml`` ...) work as written against ``--out-dir``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.names import API_VERSION_KUSTOMIZATION
from eks_gpu.render.device_plugin import render_device_plugin
from eks_gpu.render.node_overlay import render_node_overlays
from eks_gpu.render.nodeclass import render_nodeclass
from eks_gpu.render.nodepool import render_nodepool
from eks_gpu.render.probe_sources import render_probes_configmap
from eks_gpu.render.test_pods import (
    render_namespace,
    render_pytorch_test,
    render_simple_test,
    render_storage_test,
)

Group = Literal["nodeclass", "nodepool", "device-plugin", "tests"]
GROUPS: tuple[Group, ...] = ("nodeclass", "nodepool", "device-plugin", "tests")
DEVICE_PLUGIN_FILE = "device-plugin/nvidia-device-plugin.yml"
TEST_FILES = {
    "namespace": "tests/namespace.yaml",
    "probes": "tests/probes.yaml",
    "simple": "tests/test-gpu-simple.yaml",
    "pytorch": "tests/test-gpu-pytorch.yaml",
    "storage": "tests/test-gpu-nvme.yaml",
}


@dataclass(frozen=True)
class Rendered:
    """One object, the group ``--only`` selects it by, and the file ``--out-dir`` puts it in."""

    group: Group
    path: str
    obj: dict[str, Any]


def _pool_file(pool_name: str) -> str:
    return f"gpu/{pool_name}.yaml"


def _nodeclass_files(config: GpuConfig) -> dict[str, str]:
    """Each node class goes in the file of the first pool using it (unused: the first file)."""
    files: dict[str, str] = {}
    for pool in config.node_pools:
        files.setdefault(pool.node_class, _pool_file(pool.name))
    first = _pool_file(config.node_pools[0].name)
    return {nc.name: files.get(nc.name, first) for nc in config.node_classes}


def _karpenter_objects(config: GpuConfig, cluster_name: str) -> list[Rendered]:
    """Per file: its EC2NodeClasses, then its NodePool and the pool's NodeOverlays (so each
    file applies on its own)."""
    class_files = _nodeclass_files(config)
    out: list[Rendered] = []
    for pool in config.node_pools:
        path = _pool_file(pool.name)
        for node_class in config.node_classes:
            if class_files[node_class.name] == path:
                out.append(Rendered("nodeclass", path, render_nodeclass(node_class, cluster_name)))
        out.append(Rendered("nodepool", path, render_nodepool(pool)))
        out += [Rendered("nodepool", path, o) for o in render_node_overlays(config, pool)]
    return out


def _test_objects(config: GpuConfig) -> list[Rendered]:
    return [
        Rendered("tests", TEST_FILES["namespace"], render_namespace(config.tests)),
        Rendered("tests", TEST_FILES["probes"], render_probes_configmap(config.tests)),
        Rendered("tests", TEST_FILES["simple"], render_simple_test(config)),
        Rendered("tests", TEST_FILES["pytorch"], render_pytorch_test(config)),
        Rendered("tests", TEST_FILES["storage"], render_storage_test(config)),
    ]


def _apply_rank(item: Rendered) -> int:
    """Node classes before pools; the rest keep their group order."""
    return 0 if item.group == "nodeclass" else 1 if item.group == "nodepool" else 2


def render_all(
    config: GpuConfig, cluster_name: str, only: Iterable[Group] = GROUPS
) -> list[Rendered]:
    """Every object for ``config``, in apply order, restricted to the ``only`` groups."""
    wanted = set(only)
    items = sorted(_karpenter_objects(config, cluster_name), key=_apply_rank)
    if config.device_plugin.enabled:
        items += [
            Rendered("device-plugin", DEVICE_PLUGIN_FILE, o) for o in render_device_plugin(config)
        ]
    if config.tests.enabled:
        items += _test_objects(config)
    return [item for item in items if item.group in wanted]


def files_of(items: list[Rendered]) -> dict[str, list[dict[str, Any]]]:
    """Objects grouped by file, files in first-appearance order (= apply order)."""
    files: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        files.setdefault(item.path, []).append(item.obj)
    return files


def kustomization(paths: Iterable[str]) -> dict[str, Any]:
    """A kustomization over ``paths``, in apply order."""
    return {
        "apiVersion": API_VERSION_KUSTOMIZATION,
        "kind": "Kustomization",
        "resources": list(paths),
    }


__all__ = ["GROUPS", "Group", "Rendered", "files_of", "kustomization", "render_all"]
