"""``eks-gpu.yaml``: the root of the typed config, whose defaults reproduce the guide.

The sections are their own modules (:mod:`~eks_gpu.config.nodepool`,
:mod:`~eks_gpu.config.nodeclass`, :mod:`~eks_gpu.config.device_plugin`,
:mod:`~eks_gpu.config.test_pods`); this one ties them together and resolves the references
between them. Rules that span fields live in :mod:`eks_gpu.config.checks`.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from eks_gpu.config.base import ConfigModel
from eks_gpu.config.device_plugin import DevicePlugin
from eks_gpu.config.fields import ClusterName
from eks_gpu.config.nodeclass import NodeClass
from eks_gpu.config.nodepool import NodePool
from eks_gpu.config.test_pods import Tests

API_VERSION: Final = "eks-gpu/v1alpha1"
KIND: Final = "GpuConfig"


class GpuConfig(ConfigModel):
    """The whole ``eks-gpu.yaml``."""

    api_version: Literal["eks-gpu/v1alpha1"] = Field(
        default=API_VERSION, description="Config schema version."
    )
    kind: Literal["GpuConfig"] = Field(default=KIND, description="Always GpuConfig.")
    cluster_name: ClusterName | None = Field(
        default=None, description="EKS cluster name (discovery tags, IAM role default)."
    )
    node_classes: list[NodeClass] = Field(
        default_factory=lambda: [NodeClass()], min_length=1, description="EC2NodeClasses."
    )
    node_pools: list[NodePool] = Field(
        default_factory=lambda: [NodePool()], min_length=1, description="GPU NodePools."
    )
    device_plugin: DevicePlugin = Field(
        default_factory=DevicePlugin, description="The NVIDIA device plugin DaemonSet."
    )
    tests: Tests = Field(default_factory=Tests, description="Smoke-test pods.")

    def node_class(self, name: str) -> NodeClass:
        """The node class called ``name`` (references are checked at load time)."""
        for node_class in self.node_classes:
            if node_class.name == name:
                return node_class
        raise KeyError(name)

    def test_pool(self) -> NodePool:
        """The pool the smoke tests target."""
        wanted = self.tests.node_pool or self.node_pools[0].name
        return next(pool for pool in self.node_pools if pool.name == wanted)


__all__ = ["API_VERSION", "KIND", "GpuConfig"]
