"""Where CRDs come from offline: files (``--crds``), or a Karpenter release
(``--karpenter-version``, else the newest supported one), downloaded once from the release's
``pkg/apis/crds/`` and cached under the user cache dir. Either way the CRDs' CEL rules come
back parsed from the cache when an earlier run parsed them (:mod:`.cel_cache`).

Nothing is bundled: the upstream CRD files are Karpenter's, so we fetch them for the exact
version the user runs, and fail plainly (exit 3) when they cannot be had: a check that did
not run must never read as a pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from eks_gpu.errors import UsageError
from eks_gpu.loaders.atomic_file import write_atomic
from eks_gpu.loaders.cache_dir import cache_dir
from eks_gpu.loaders.cel_cache import warm
from eks_gpu.loaders.manifest_files import load_manifests, read_text, yaml_files
from eks_gpu.manifests import Manifest, ManifestError, parse_documents
from eks_gpu.validate.crds import (
    KARPENTER_CRD_FILES,
    OPTIONAL_CRD_FILES,
    CrdSet,
    CrdUnavailable,
    check_version,
    crd_set,
)

if TYPE_CHECKING:
    import urllib.error

RELEASE_URL = "https://raw.githubusercontent.com/aws/karpenter-provider-aws/{version}/pkg/apis/crds"
URL_ENV = "EKS_GPU_KARPENTER_CRD_URL"
DOWNLOAD_TIMEOUT_S = 20
ABSENT = ".absent"


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
    return warm(found)


def crd_cache(version: str) -> Path:
    """Where the CRDs of Karpenter ``version`` are kept."""
    return cache_dir() / "crds" / f"karpenter-{version}"


def _not_found(error: urllib.error.URLError) -> bool:
    """A 404 (or a missing file under a ``file://`` base): the release has no such file."""
    import urllib.error

    if isinstance(error, urllib.error.HTTPError):
        return error.code == 404
    return isinstance(error.reason, FileNotFoundError)


def _download(url: str, target: Path, optional: bool = False) -> None:
    """Fetch ``url`` into ``target``. An optional file the release lacks is remembered as
    ``<name>.absent`` so it is not asked for again; one that cannot be fetched right now
    (offline, with the required files cached by an older eks-gpu) is tried again next time,
    and its objects meanwhile fail as "not served" rather than pass. urllib is imported here
    (with http.client and ssl it is a noticeable part of start-up), as a cached release never
    needs it."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            body = response.read()
    except urllib.error.URLError as error:
        if optional and _not_found(error):
            target.with_name(target.name + ABSENT).touch()
            return
        if optional:
            return
        raise CrdUnavailable(f"cannot download {url}: {error}") from None
    except (TimeoutError, OSError) as error:
        if optional:
            return
        raise CrdUnavailable(f"cannot download {url}: {error}") from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CrdUnavailable(f"{url}: not UTF-8 text ({error})") from None
    parse_documents(text, url)  # refuse to cache what does not parse
    try:
        write_atomic(target, body)  # a CRD cut short would fail every later validate
    except OSError as error:
        raise CrdUnavailable(f"cannot cache {url} in {target}: {error}") from None


def _known(folder: Path, name: str) -> bool:
    return (folder / name).is_file() or (folder / (name + ABSENT)).is_file()


def karpenter_crds(version: str, download: bool = True) -> CrdSet:
    """Karpenter ``version``'s CRDs: from the cache, else downloaded once (when allowed).

    Raises:
        CrdUnavailable: not cached and ``download`` is False, or the download failed.
    """
    tag = check_version(version)
    folder = crd_cache(tag)
    wanted = [(name, False) for name in KARPENTER_CRD_FILES]
    wanted += [(name, True) for name in OPTIONAL_CRD_FILES]
    missing = [(name, optional) for name, optional in wanted if not _known(folder, name)]
    if missing and not download:
        raise CrdUnavailable(f"Karpenter {tag} CRDs are not cached in {folder}")
    if missing:
        base = os.environ.get(URL_ENV) or RELEASE_URL
        folder.mkdir(parents=True, exist_ok=True)
        for name, optional in missing:
            url = f"{base.format(version=tag).rstrip('/')}/{name}"
            _download(url, folder / name, optional)
    names = [*KARPENTER_CRD_FILES, *OPTIONAL_CRD_FILES]
    paths = [str(folder / name) for name in names if (folder / name).is_file()]
    found = crd_set(load_manifests(paths), f"Karpenter {tag} CRDs ({folder})")
    return warm(found)


__all__ = [
    "DOWNLOAD_TIMEOUT_S",
    "RELEASE_URL",
    "URL_ENV",
    "crd_cache",
    "crds_from_paths",
    "karpenter_crds",
]
