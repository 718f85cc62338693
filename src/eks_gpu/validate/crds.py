"""Where CRDs come from: files (``--crds``), the cluster (``--from-cluster``: objects that
``cluster/`` fetched, passed in), or a Karpenter release (``--karpenter-version``), downloaded
once from the release's ``pkg/apis/crds/`` and cached under the user cache dir.

Nothing is bundled: the upstream CRD files are Karpenter's, so we fetch them for the exact
version the user runs, and say plainly when none are available offline.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from eks_gpu.errors import UsageError
from eks_gpu.loaders.cache_dir import cache_dir
from eks_gpu.validate.cel import CompiledValidations, compile_validations
from eks_gpu.validate.manifests import (
    Manifest,
    ManifestError,
    load_manifests,
    parse_documents,
    yaml_files,
)
from eks_gpu.validate.schema import schema_validator

KARPENTER_CRD_FILES = (
    "karpenter.sh_nodepools.yaml",
    "karpenter.sh_nodeclaims.yaml",
    "karpenter.k8s.aws_ec2nodeclasses.yaml",
)
RELEASE_URL = "https://raw.githubusercontent.com/aws/karpenter-provider-aws/{version}/pkg/apis/crds"
URL_ENV = "EKS_GPU_KARPENTER_CRD_URL"
VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+$")
DOWNLOAD_TIMEOUT_S = 20


class CrdUnavailable(Exception):
    """The CRDs asked for cannot be had offline; validation goes on without them."""


@dataclass(frozen=True)
class CrdVersion:
    """One served version of one CRD."""

    group: str
    kind: str
    version: str
    openapi: dict[str, Any]
    source: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @cached_property
    def validator(self) -> Draft202012Validator:
        """The structural-schema validator, built once per CRD version."""
        return schema_validator(self.openapi)

    @cached_property
    def cel(self) -> CompiledValidations:
        """Every CEL rule of this version, compiled once."""
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


def _crd_documents(path: Path, explicit: bool) -> list[Manifest]:
    """The CRDs in one file; in a folder, files that are not Kubernetes YAML are passed over."""
    try:
        text = path.read_text(encoding="utf-8")
        if not explicit and "CustomResourceDefinition" not in text:
            return []
        return [m for m in parse_documents(text, str(path))
                if m.kind == "CustomResourceDefinition"]  # fmt: skip
    except (ManifestError, OSError, UnicodeDecodeError):
        if explicit:
            raise
        return []


def crds_from_paths(paths: Iterable[str]) -> CrdSet:
    """``--crds FILE|DIR``: the CRDs in those files (other objects are ignored)."""
    paths = list(paths)
    manifests: list[Manifest] = []
    for raw in paths:
        root = Path(raw)
        for path in yaml_files(root):
            manifests.extend(_crd_documents(path, explicit=path == root))
    found = crd_set(manifests, f"--crds {', '.join(paths)}")
    if not found.versions:
        raise UsageError(
            f"--crds {', '.join(paths)}: no CustomResourceDefinition found",
            hint="point --crds at the CRD YAML files, e.g. Karpenter's pkg/apis/crds/",
        )
    return found


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


def crd_cache(version: str) -> Path:
    """Where the CRDs of Karpenter ``version`` are kept."""
    return cache_dir() / "crds" / f"karpenter-{version}"


def _download(url: str, target: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            body = response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise CrdUnavailable(f"cannot download {url}: {error}") from None
    parse_documents(body.decode("utf-8"), url)  # refuse to cache what does not parse
    target.write_bytes(body)


def karpenter_crds(version: str, download: bool = True) -> CrdSet:
    """Karpenter ``version``'s CRDs: from the cache, else downloaded once (when allowed)."""
    tag = check_version(version)
    folder = crd_cache(tag)
    missing = [name for name in KARPENTER_CRD_FILES if not (folder / name).is_file()]
    if missing and not download:
        raise CrdUnavailable(f"Karpenter {tag} CRDs are not cached in {folder}")
    if missing:
        base = os.environ.get(URL_ENV) or RELEASE_URL
        folder.mkdir(parents=True, exist_ok=True)
        for name in missing:
            _download(f"{base.format(version=tag).rstrip('/')}/{name}", folder / name)
    paths = [str(folder / name) for name in KARPENTER_CRD_FILES]
    return crd_set(load_manifests(paths), f"Karpenter {tag} CRDs ({folder})")


def newest_cached_version() -> str | None:
    """The newest Karpenter version whose CRDs are already cached, if any."""
    root = cache_dir() / "crds"
    versions = [
        p.name.removeprefix("karpenter-")
        for p in root.glob("karpenter-v*")
        if all((p / name).is_file() for name in KARPENTER_CRD_FILES)
    ]
    valid = [v for v in versions if VERSION.match(v)]
    return max(valid, key=lambda v: tuple(int(x) for x in v[1:].split("."))) if valid else None


__all__ = [
    "KARPENTER_CRD_FILES",
    "URL_ENV",
    "CrdSet",
    "CrdUnavailable",
    "CrdVersion",
    "check_version",
    "crd_cache",
    "crd_set",
    "crds_from_cluster",
    "crds_from_paths",
    "karpenter_crds",
    "newest_cached_version",
]
