"""A set of manifests grouped the way the lint rules look at them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eks_gpu.manifests.document import Manifest
from eks_gpu.manifests.pod_spec import pod_spec_of
from eks_gpu.names import API_VERSION_APPS, GROUP_KARPENTER, GROUP_KARPENTER_AWS

_APPS_GROUP = API_VERSION_APPS.split("/")[0]


@dataclass
class ManifestSet:
    """The objects grouped the way the lint rules look at them."""

    manifests: list[Manifest] = field(default_factory=list)
    eks_admission: bool = True
    """Whether the lint rules read pods as EKS's ExtendedResourceToleration admission
    stores them (``scheduling.admission``)."""

    def of_kind(self, kind: str, group: str | None = None) -> list[dict[str, Any]]:
        """Objects of ``kind`` (and API ``group`` when given)."""
        return [
            m.obj
            for m in self.manifests
            if m.kind == kind and (group is None or m.api_group == group)
        ]

    @property
    def nodepools(self) -> list[dict[str, Any]]:
        return self.of_kind("NodePool", GROUP_KARPENTER)

    @property
    def nodeclasses(self) -> list[dict[str, Any]]:
        return self.of_kind("EC2NodeClass", GROUP_KARPENTER_AWS)

    @property
    def daemonsets(self) -> list[dict[str, Any]]:
        return self.of_kind("DaemonSet", _APPS_GROUP)

    def workloads(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """``(object, pod spec)`` for every Pod and pod-template workload (not DaemonSets)."""
        out = []
        for manifest in self.manifests:
            if manifest.kind == "DaemonSet":
                continue
            pod_spec = pod_spec_of(manifest.obj)
            if pod_spec is not None:
                out.append((manifest.obj, pod_spec))
        return out


__all__ = ["ManifestSet"]
