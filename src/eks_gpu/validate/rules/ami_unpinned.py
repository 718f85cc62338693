"""``ami-unpinned``: an EC2NodeClass whose AMI moves under it.

``al2023@latest`` rolls every node onto each new AMI (drift), including AMIs that broke a GPU
family (awslabs/amazon-eks-ami#2768); a name wildcard without a Kubernetes version can even
resolve an AMI built for another Kubernetes minor (aws/karpenter-provider-aws#7731).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from eks_gpu.manifests import ManifestSet
from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules.rule import Rule

PINNABLE_ALIASES = ("al2023", "al2", "bottlerocket")  # Windows aliases only allow latest
_KUBERNETES_VERSION = re.compile(r"(?<![0-9.])1\.[0-9]{2}(?![0-9])")
ISSUE = "aws/karpenter-provider-aws#7731"


def _alias_finding(obj: dict[str, Any], path: str, alias: str) -> Finding | None:
    family, _, version = alias.partition("@")
    if version != "latest" or family not in PINNABLE_ALIASES:
        return None
    return RULE.finding(
        obj,
        path,
        f"{alias} follows every new AMI release: each one drifts and replaces all GPU nodes, "
        "and a bad driver/AMI release reaches them unannounced",
        f"pin a tested release, e.g. {family}@v20260714, and move it deliberately; unpinned "
        f"selection is how nodes end up on the wrong AMI ({ISSUE})",
    )


def _name_finding(obj: dict[str, Any], path: str, name: str) -> Finding | None:
    if not any(c in name for c in "*?") or _KUBERNETES_VERSION.search(name):
        return None
    return RULE.finding(
        obj,
        path,
        f"AMI name pattern {name!r} has a wildcard but no Kubernetes version, so it can "
        "resolve the newest AMI of another Kubernetes minor",
        "use alias: al2023@vYYYYMMDD (Karpenter then picks the NVIDIA variant for the cluster's "
        f"Kubernetes version), or put the version in the name, e.g. ...-nvidia-1.33-* ({ISSUE})",
    )


def _term_findings(obj: dict[str, Any], index: int, term: dict[str, Any]) -> Iterator[Finding]:
    path = f".spec.amiSelectorTerms[{index}]"
    if isinstance(term.get("alias"), str):
        finding = _alias_finding(obj, f"{path}.alias", term["alias"])
        if finding:
            yield finding
    if isinstance(term.get("name"), str):
        finding = _name_finding(obj, f"{path}.name", term["name"])
        if finding:
            yield finding


def _check(manifests: ManifestSet) -> Iterator[Finding]:
    for node_class in manifests.nodeclasses:
        spec = node_class.get("spec")
        terms = spec.get("amiSelectorTerms") if isinstance(spec, dict) else None
        for index, term in enumerate(terms if isinstance(terms, list) else []):
            if isinstance(term, dict):
                yield from _term_findings(node_class, index, term)


RULE = Rule(
    id="ami-unpinned",
    severity="warning",
    summary="al2023@latest, or an AMI name wildcard without a Kubernetes version",
    check=_check,
)

__all__ = ["RULE"]
