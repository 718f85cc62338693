"""Validate a set of manifests: CRD schema and CEL for custom resources, core schemas for
Kubernetes kinds, Karpenter-version warnings, then the GPU lint rules over the whole set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eks_gpu.manifests import Manifest, ManifestSet
from eks_gpu.names import KARPENTER_GROUPS
from eks_gpu.validate.cel import evaluate
from eks_gpu.validate.core import core_findings
from eks_gpu.validate.crds import CrdSet, CrdVersion
from eks_gpu.validate.findings import Finding, object_ref, sort_findings
from eks_gpu.validate.rules import run_lint
from eks_gpu.validate.schema import schema_violations
from eks_gpu.validate.type_meta import type_meta_findings
from eks_gpu.validate.versions import version_findings


@dataclass
class Report:
    """Everything validation found, and what it could not check."""

    findings: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def count(self, severity: str) -> int:
        return sum(1 for finding in self.findings if finding.severity == severity)

    def as_json(self) -> dict[str, Any]:
        """The ``-o json`` contract."""
        return {
            "findings": [finding.as_json() for finding in self.findings],
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "skipped": list(self.skipped),
        }


LiveLookup = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Options:
    """Where schemas come from and which versions to check against.

    ``live`` (``--from-cluster``) returns the live object of a manifest's apiVersion, kind and
    name, or None when there is none; transition rules (``oldSelf``) are then evaluated
    against it. The engine only calls it: the lookup (and its I/O) belongs to the caller.
    """

    crds: CrdSet | None
    crds_missing: str | None  # why Karpenter CRD validation is skipped (no Karpenter CRDs)
    kubernetes_version: str
    karpenter_version: str | None
    live: LiveLookup | None = None
    eks_admission: bool = True  # pods as EKS's ExtendedResourceToleration admission stores them


def _transition_note(ref: str, skips: int, live: bool) -> str:
    why = (
        "no live object in the cluster (a create: the API server does not run them either)"
        if live
        else "without the live object (--from-cluster)"
    )
    return f"{ref}: {skips} transition rule(s) (oldSelf) not evaluated: {why}"


def _custom_resource(
    crd: CrdVersion, manifest: Manifest, report: Report, live: LiveLookup | None
) -> None:
    ref = object_ref(manifest.obj)
    for path, message in schema_violations(crd.validator, manifest.obj):
        report.findings.append(Finding("schema", "error", ref, path, message))
    has_transition_rules = any(rule.transition for _, rule in crd.cel.rules)
    old = live(manifest.obj) if live is not None and has_transition_rules else None
    transition_skips = 0
    for result in evaluate(crd.cel, manifest.obj, old):
        if result.outcome == "skipped" and result.transition and old is not None:
            continue  # no old value at this path (a new item): the API server skips it too
        if result.outcome == "skipped" and result.transition:
            transition_skips += 1
        elif result.outcome == "skipped":
            report.skipped.append(f"{ref} {result.path}: CEL rule not evaluated: {result.message}")
        else:
            report.findings.append(
                Finding(
                    "cel", "error", ref, result.path, result.message, f"CEL rule: {result.rule}"
                )
            )
    if transition_skips:
        report.skipped.append(_transition_note(ref, transition_skips, live is not None))


DUPLICATE_KEY = "duplicate-key"


def duplicate_key_findings(manifest: Manifest) -> list[Finding]:
    """Keys written twice: kubectl and the API server decode strictly and refuse the object
    (``strict decoding error: ... duplicate field``), though PyYAML keeps the last value."""
    return [
        Finding(
            DUPLICATE_KEY,
            "error",
            object_ref(manifest.obj),
            f"{manifest.source}:{dup.line}:{dup.column}",
            f'key "{dup.key}" appears twice in one mapping ({manifest.source} line {dup.line}); '
            "the API server refuses the object (strict decoding)",
            f'keep one "{dup.key}" (merge the two values into it)',
        )
        for dup in manifest.duplicate_keys
    ]


def _one(manifest: Manifest, options: Options, report: Report) -> None:
    obj, group = manifest.obj, manifest.api_group
    ref = object_ref(obj)
    report.findings.extend(duplicate_key_findings(manifest))
    missing = type_meta_findings(obj)
    if missing:
        report.findings.extend(missing)  # no schema can be chosen: nothing else to check
        return
    crd = options.crds.find(str(obj.get("apiVersion")), manifest.kind) if options.crds else None
    if crd is not None:
        _custom_resource(crd, manifest, report, options.live)
    elif options.crds is not None and options.crds.knows_group(group):
        served = sorted({c.api_version for c in options.crds.versions if c.kind == manifest.kind})
        report.findings.append(
            Finding(
                "schema",
                "error",
                ref,
                ".apiVersion",
                f"{obj.get('apiVersion')} {manifest.kind} is not served by {options.crds.origin}",
                f"use {' or '.join(served)}" if served else "check the kind",
            )
        )
    elif group in KARPENTER_GROUPS:
        report.skipped.append(f"{ref}: CRD schema and CEL ({options.crds_missing})")
    else:
        found = core_findings(obj, options.kubernetes_version)
        if found is None:
            report.skipped.append(f"{ref}: no schema for {obj.get('apiVersion')} {manifest.kind}")
        else:
            report.findings.extend(found)
    if options.karpenter_version and group in KARPENTER_GROUPS:
        report.findings.extend(version_findings(obj, options.karpenter_version))


def validate_manifests(manifests: Sequence[Manifest], options: Options) -> Report:
    """Validate every manifest on its own, then the set with the GPU lint rules."""
    report = Report()
    for manifest in manifests:
        if manifest.kind == "CustomResourceDefinition":
            continue
        _one(manifest, options, report)
    report.findings.extend(run_lint(ManifestSet(list(manifests), options.eks_admission)))
    report.findings = sort_findings(report.findings)
    return report


__all__ = [
    "DUPLICATE_KEY",
    "LiveLookup",
    "Options",
    "Report",
    "duplicate_key_findings",
    "validate_manifests",
]
