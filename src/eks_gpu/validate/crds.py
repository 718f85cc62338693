"""CRDs as validation uses them: each served version's structural schema and CEL rules.

Where they come from (``--crds`` files, a downloaded Karpenter release, the cluster) is the
edge's business (:mod:`eks_gpu.loaders.crd_release`, ``cluster/``); this module turns CRD
objects into a :class:`CrdSet`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator

from eks_gpu.errors import UsageError
from eks_gpu.manifests import Manifest
from eks_gpu.validate.cel import CompiledValidations, compile_validations
from eks_gpu.validate.schema import schema_validator

KARPENTER_CRD_FILES = (
    "karpenter.sh_nodepools.yaml",
    "karpenter.sh_nodeclaims.yaml",
    "karpenter.k8s.aws_ec2nodeclasses.yaml",
)
# Served by releases that have NodeOverlay (karpenter.sh/v1alpha1; v1.14.1 has it), absent
# from older ones: a release without it is still usable, its NodeOverlays go unchecked.
OPTIONAL_CRD_FILES = ("karpenter.sh_nodeoverlays.yaml",)
# The newest Karpenter release this version of eks-gpu is checked against (shared/reference);
# validate fetches its CRDs on first use when no other source is given.
SUPPORTED_KARPENTER_VERSION = "v1.14.1"
VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+$")


class CrdUnavailable(Exception):
    """The CRDs asked for cannot be had (not cached, download failed)."""


@dataclass(frozen=True)
class CrdVersion:
    """One served version of one CRD."""

    group: str
    kind: str
    version: str
    openapi: dict[str, Any]
    source: str
    schema_checked: bool = field(default=False, compare=False)
    """An earlier run checked this very schema against the metaschema (the CEL cache says so)."""
    before_compile: Callable[[], None] | None = field(default=None, compare=False, repr=False)
    """Called once before the rules compile: the loaders seed parse trees from their cache."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @cached_property
    def validator(self) -> Draft202012Validator:
        """The structural-schema validator, built once per CRD version."""
        return schema_validator(self.openapi, check=not self.schema_checked)

    @cached_property
    def cel(self) -> CompiledValidations:
        """Every CEL rule of this version, compiled once."""
        if self.before_compile is not None:
            self.before_compile()
        return compile_validations(self.openapi)


@dataclass(frozen=True)
class CrdSet:
    """The CRDs validation runs against, and a few words on where they came from."""

    versions: tuple[CrdVersion, ...]
    origin: str

    def find(self, api_version: str, kind: str) -> CrdVersion | None:
        """The CRD version serving ``kind`` at ``api_version``, if any."""
        for crd in self.versions:
            if crd.api_version == api_version and crd.kind == kind:
                return crd
        return None

    def knows_group(self, group: str) -> bool:
        """Whether some CRD of ``group`` is loaded (to tell "wrong version" from "no CRD")."""
        return any(crd.group == group for crd in self.versions)


def crd_versions(manifest: Manifest) -> list[CrdVersion]:
    """The served versions of a ``CustomResourceDefinition`` manifest (others: empty)."""
    obj = manifest.obj
    if obj.get("kind") != "CustomResourceDefinition":
        return []
    spec = obj.get("spec") or {}
    out = []
    for entry in spec.get("versions") or []:
        schema = (entry.get("schema") or {}).get("openAPIV3Schema")
        if entry.get("served", True) and isinstance(schema, dict):
            kind = spec["names"]["kind"]
            out.append(CrdVersion(spec["group"], kind, entry["name"], schema, manifest.source))
    return out


def crd_set(manifests: Iterable[Manifest], origin: str) -> CrdSet:
    """Every CRD version found in ``manifests``."""
    versions = tuple(v for manifest in manifests for v in crd_versions(manifest))
    return CrdSet(versions, origin)


def crds_from_cluster(objects: Iterable[dict[str, Any]], origin: str) -> CrdSet:
    """``--from-cluster``: the CRD objects a cluster serves (fetched by ``cluster/``), so
    validation matches the Karpenter version actually running. ``origin`` names the cluster."""
    manifests = [
        Manifest(obj, f"{origin}: {(obj.get('metadata') or {}).get('name', '?')}", index)
        for index, obj in enumerate(objects)
    ]
    return crd_set(manifests, origin)


def check_version(version: str) -> str:
    """A Karpenter release tag such as ``v1.14.1`` (a leading ``v`` is added if missing)."""
    tag = version if version.startswith("v") else f"v{version}"
    if not VERSION.match(tag):
        raise UsageError(
            f"--karpenter-version {version!r} is not a release version",
            hint="use a release tag such as v1.14.1",
        )
    return tag


__all__ = [
    "KARPENTER_CRD_FILES",
    "OPTIONAL_CRD_FILES",
    "SUPPORTED_KARPENTER_VERSION",
    "VERSION",
    "CrdSet",
    "CrdUnavailable",
    "CrdVersion",
    "check_version",
    "crd_set",
    "crds_from_cluster",
]
