"""``node-overlay-feature-gate``: NodeOverlays work only with Karpenter's ``NodeOverlay``
feature gate on.

NodeOverlay is alpha in Karpenter v1.14 and off by default (aws/karpenter-provider-aws@v1.14.1
``charts/karpenter/values.yaml``: ``settings.featureGates.nodeOverlay: false``); with the gate
off the API server still accepts the objects (the CRD is installed) and Karpenter ignores
them, so GPU capacity stays what the instance type says. Whether the gate is on cannot be
seen offline, hence ``info``.
"""

from __future__ import annotations

from collections.abc import Iterator

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.rule import Rule


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for overlay in manifests.of_kind("NodeOverlay"):
        yield RULE.finding(
            overlay,
            ".spec",
            "Karpenter applies NodeOverlays only with the feature gate NodeOverlay=true "
            "(alpha, off by default); without it this overlay is accepted and ignored",
            "start Karpenter with --feature-gates NodeOverlay=true "
            "(Helm: --set settings.featureGates.nodeOverlay=true)",
        )


RULE = Rule(
    id="node-overlay-feature-gate",
    severity="info",
    summary="NodeOverlays need Karpenter's NodeOverlay feature gate",
    check=_check,
)

__all__ = ["RULE"]
