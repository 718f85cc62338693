"""``nodeconfig-kubelet-conflict``: kubelet fields in a NodeConfig part that kubelet refuses.

nodeadm writes ``spec.kubelet.config`` into kubelet's configuration; kubelet validates it at
start (k8s.io/kubernetes ``pkg/kubelet/apis/config/validation/validation.go``
``ValidateKubeletConfiguration``) and exits on a contradiction, so the node never joins:
``maxParallelImagePulls`` above 1 with ``serializeImagePulls: true``, a
``maxParallelImagePulls`` below 1, or ``imageGCLowThresholdPercent`` not below
``imageGCHighThresholdPercent``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.rule import Rule
from eks_gpu.validate.rules.user_data import USER_DATA_PATH, kubelet_configs, user_data_of


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def contradictions(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(problem, fix) for every contradiction kubelet refuses in one kubelet config."""
    out = []
    pulls = _int(config.get("maxParallelImagePulls"))
    if config.get("serializeImagePulls") is True and pulls is not None and pulls > 1:
        out.append((
            f"serializeImagePulls: true with maxParallelImagePulls: {pulls} (kubelet: "
            "maxParallelImagePulls cannot be larger than 1 unless serializeImagePulls is false)",
            "drop serializeImagePulls (nodeadm already sets it to false) or set it to false",
        ))  # fmt: skip
    if pulls is not None and pulls < 1:
        out.append((
            f"maxParallelImagePulls: {pulls} (kubelet: must be a positive number)",
            "drop maxParallelImagePulls (unset means no limit) or set it to 1 or more",
        ))  # fmt: skip
    high = _int(config.get("imageGCHighThresholdPercent"))
    low = _int(config.get("imageGCLowThresholdPercent"))
    if high is not None and low is not None and low >= high:
        out.append((
            f"imageGCLowThresholdPercent: {low} is not below imageGCHighThresholdPercent: "
            f"{high} (kubelet refuses it)",
            "set imageGCLowThresholdPercent below imageGCHighThresholdPercent",
        ))  # fmt: skip
    return out


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for node_class in manifests.nodeclasses:
        parts = user_data_of(node_class)
        for config in kubelet_configs(parts) if parts else []:
            for problem, fix in contradictions(config):
                yield RULE.finding(
                    node_class,
                    USER_DATA_PATH,
                    f"the NodeConfig part sets {problem}: kubelet exits at start and the "
                    "node never joins",
                    fix,
                )


RULE = Rule(
    id="nodeconfig-kubelet-conflict",
    severity="error",
    summary="contradictory kubelet fields in a NodeConfig part (kubelet refuses to start)",
    check=_check,
)

__all__ = ["RULE", "contradictions"]
