"""Fields newer than the Karpenter a cluster runs: warn before the API server says no.

Introduction versions were checked against the CRDs at each release tag
(shared/research/karpenter.md, section 9). Each feature is a small finder returning the
paths where a manifest uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from eks_gpu.names import (
    DOMAIN_K8S,
    DOMAIN_KUBERNETES,
    LABEL_ARCH,
    LABEL_INSTANCE_TYPE,
    LABEL_OS,
    LABEL_REGION,
    LABEL_WINDOWS_BUILD,
    LABEL_ZONE,
)
from eks_gpu.validate.findings import Finding, object_ref

RULE = "karpenter-version"
Finder = Callable[[dict[str, Any]], Iterator[str]]
WELL_KNOWN_K8S_KEYS = {
    LABEL_ARCH,
    LABEL_OS,
    LABEL_INSTANCE_TYPE,
    LABEL_ZONE,
    LABEL_REGION,
    LABEL_WINDOWS_BUILD,
}


def parse_version(tag: str) -> tuple[int, int, int]:
    """``v1.14.1`` -> ``(1, 14, 1)``."""
    major, minor, patch = (int(part) for part in tag.removeprefix("v").split("."))
    return major, minor, patch


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _requirements(pool: dict[str, Any]) -> list[Any]:
    found = _get(pool, "spec", "template", "spec", "requirements")
    return found if isinstance(found, list) else []


def _balanced(pool: dict[str, Any]) -> Iterator[str]:
    if _get(pool, "spec", "disruption", "consolidationPolicy") == "Balanced":
        yield ".spec.disruption.consolidationPolicy"


def _gte_lte(pool: dict[str, Any]) -> Iterator[str]:
    for index, requirement in enumerate(_requirements(pool)):
        if isinstance(requirement, dict) and requirement.get("operator") in ("Gte", "Lte"):
            yield f".spec.template.spec.requirements[{index}].operator"


def _replicas(pool: dict[str, Any]) -> Iterator[str]:
    if _get(pool, "spec", "replicas") is not None:
        yield ".spec.replicas"


def _k8s_domain_labels(pool: dict[str, Any]) -> Iterator[str]:
    labels = _get(pool, "spec", "template", "metadata", "labels") or {}
    keys = [(f".spec.template.metadata.labels[{key}]", key) for key in labels]
    keys += [
        (f".spec.template.spec.requirements[{i}].key", r.get("key", ""))
        for i, r in enumerate(_requirements(pool))
        if isinstance(r, dict)
    ]
    for path, key in keys:
        domain = key.split("/")[0] if "/" in key else ""
        if domain.endswith((DOMAIN_KUBERNETES, DOMAIN_K8S)) and key not in WELL_KNOWN_K8S_KEYS:
            yield path


def _field(*keys: str) -> Finder:
    def find(obj: dict[str, Any]) -> Iterator[str]:
        if _get(obj, "spec", *keys) is not None:
            yield ".spec." + ".".join(keys)

    return find


def _ssm_parameter(node_class: dict[str, Any]) -> Iterator[str]:
    for index, term in enumerate(_get(node_class, "spec", "amiSelectorTerms") or []):
        if isinstance(term, dict) and "ssmParameter" in term:
            yield f".spec.amiSelectorTerms[{index}].ssmParameter"


def _windows2025(node_class: dict[str, Any]) -> Iterator[str]:
    for index, term in enumerate(_get(node_class, "spec", "amiSelectorTerms") or []):
        if isinstance(term, dict) and str(term.get("alias", "")).startswith("windows2025@"):
            yield f".spec.amiSelectorTerms[{index}].alias"


@dataclass(frozen=True)
class Feature:
    """A manifest feature and the first Karpenter release that accepts it."""

    kind: str
    since: tuple[int, int, int]
    what: str
    find: Finder


FEATURES: tuple[Feature, ...] = (
    Feature("NodePool", (1, 14, 0), "consolidationPolicy Balanced", _balanced),
    Feature("NodePool", (1, 9, 0), "requirement operators Gte/Lte", _gte_lte),
    Feature("NodePool", (1, 8, 0), "static NodePools (spec.replicas)", _replicas),
    Feature("NodePool", (1, 9, 0), f"{DOMAIN_KUBERNETES}/{DOMAIN_K8S} label keys",
            _k8s_domain_labels),
    Feature("EC2NodeClass", (1, 5, 0), "amiSelectorTerms ssmParameter", _ssm_parameter),
    Feature("EC2NodeClass", (1, 3, 0), "capacityReservationSelectorTerms",
            _field("capacityReservationSelectorTerms")),
    Feature("EC2NodeClass", (1, 9, 0), "the windows2025 alias", _windows2025),
    Feature("EC2NodeClass", (1, 11, 0), "placementGroupSelector",
            _field("placementGroupSelector")),
    Feature("EC2NodeClass", (1, 13, 0), "cpuOptions", _field("cpuOptions")),
)  # fmt: skip


def version_findings(obj: dict[str, Any], target: str) -> list[Finding]:
    """Warnings for every feature of ``obj`` newer than Karpenter ``target``."""
    have = parse_version(target)
    out = []
    for feature in FEATURES:
        if obj.get("kind") != feature.kind or have >= feature.since:
            continue
        since = "v{}.{}.{}".format(*feature.since)
        for path in feature.find(obj):
            out.append(
                Finding(
                    RULE,
                    "warning",
                    object_ref(obj),
                    path,
                    f"{feature.what} needs Karpenter {since} or newer; the target is {target}",
                    f"upgrade Karpenter to {since}+, or drop this field",
                )
            )
    return out


__all__ = ["FEATURES", "RULE", "Feature", "parse_version", "version_findings"]
