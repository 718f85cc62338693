"""``imds-exposed``: pods can reach the node's instance metadata (and its IAM credentials).

IMDSv1 (``httpTokens: optional``) or a PUT response hop limit above 1 lets containers that
are not on the host network read the node role's credentials; Karpenter's default is
IMDSv2 with hop limit 1 (shared/research/karpenter.md section 2.3).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.rule import Rule

PATH = ".spec.metadataOptions"


def _options(node_class: dict[str, Any]) -> dict[str, Any]:
    spec = node_class.get("spec")
    options = spec.get("metadataOptions") if isinstance(spec, dict) else None
    return options if isinstance(options, dict) else {}


def _findings(node_class: dict[str, Any], options: dict[str, Any]) -> Iterator[Finding]:
    if options.get("httpTokens") == "optional":
        yield RULE.finding(
            node_class,
            f"{PATH}.httpTokens",
            "httpTokens: optional allows IMDSv1, whose credentials any SSRF can read",
            "set metadataOptions.httpTokens: required (IMDSv2)",
        )
    hops = options.get("httpPutResponseHopLimit")
    if isinstance(hops, int) and not isinstance(hops, bool) and hops > 1:
        yield RULE.finding(
            node_class,
            f"{PATH}.httpPutResponseHopLimit",
            f"hop limit {hops} lets every pod reach IMDS and take the node role's credentials",
            "set metadataOptions.httpPutResponseHopLimit: 1 and give pods their own IAM "
            "(EKS Pod Identity or IRSA)",
        )


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for node_class in manifests.nodeclasses:
        options = _options(node_class)
        if options.get("httpEndpoint") != "disabled":
            yield from _findings(node_class, options)


RULE = Rule(
    id="imds-exposed",
    severity="warning",
    summary="IMDS reachable from pods: httpTokens optional or hop limit > 1",
    check=_check,
)

__all__ = ["RULE"]
