"""Where CRDs come from offline: files (``--crds``), or a Karpenter release
(``--karpenter-version``), downloaded once from the release's ``pkg/apis/crds/`` and cached
under the user cache dir.

Nothing is bundled: the upstream CRD files are Karpenter's, so we fetch them for the exact
version the user runs, and say plainly when none are available offline.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from eks_gpu.errors import UsageError
from eks_gpu.loaders.cache_dir import cache_dir
from eks_gpu.loaders.manifest_files import load_manifests, read_text, yaml_files
from eks_gpu.manifests import Manifest, ManifestError, parse_documents
from eks_gpu.validate.crds import (
    KARPENTER_CRD_FILES,
    VERSION,
    CrdSet,
    CrdUnavailable,
    check_version,
    crd_set,
)

RELEASE_URL = "https://raw.githubusercontent.com/aws/karpenter-provider-aws/{version}/pkg/apis/crds"
URL_ENV = "EKS_GPU_KARPENTER_CRD_URL"
DOWNLOAD_TIMEOUT_S = 20


def _crd_documents(path: Path, explicit: bool) -> list[Manifest]:
    """The CRDs in one file; in a folder, files that are not Kubernetes YAML are passed over."""
    try:
        text = read_text(path)
        if not explicit and "CustomResourceDefinition" not in text:
            return []
        return [m for m in parse_documents(text, str(path))
                if m.kind == "CustomResourceDefinition"]  # fmt: skip
    except ManifestError:
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
    "DOWNLOAD_TIMEOUT_S",
    "RELEASE_URL",
    "URL_ENV",
    "crd_cache",
    "crds_from_paths",
    "karpenter_crds",
    "newest_cached_version",
]
