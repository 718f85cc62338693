"""Parsed CEL rules of each CRD version, kept in the user cache between runs (and the fact
that its schema passed the JSON Schema metaschema check, which costs as much again).

Parsing a CRD's rules means building celpy's Lark LALR parser first: about 140 ms of every
cold ``validate`` (benchmarks/README.md). The parse trees depend only on the rule texts and
on the cel-python and lark versions, so they are kept per CRD version in
``<cache>/cel/<group>_<kind>_<version>-<key>.pickle``; the key is the SHA-256 of the
version's schema (canonical JSON) plus those versions, the Python version and
:data:`CACHE_FORMAT`, and is stored in the file too. A file whose key differs is not used
(another CRD release or cel-python gets its own file; the oldest beyond :data:`KEEP` are
removed); a file that cannot be read or unpickled, or holds anything but rule text -> tree,
is ignored and rebuilt. Writing is best effort (a read-only cache folder only costs the speed-up).

Why pickle is acceptable here: the file lives in the user's own cache folder, written only
by eks-gpu; whoever can write there can already change the user's shell start-up files.
The payload is checked to be ``{key, parsed: {str: lark.Tree | str}}`` before use.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import pickle
import sys
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from jsonschema.exceptions import SchemaError

from eks_gpu.loaders.cache_dir import cache_dir
from eks_gpu.validate.cel import parsed_rules, rule_texts, seed_parsed
from eks_gpu.validate.crds import CrdSet, CrdVersion

CACHE_FORMAT = 1
FOLDER = "cel"
KEEP = 4
"""Files kept per CRD group, kind and version (older CRD releases, older cel-python)."""


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def cache_key(crd: CrdVersion) -> str:
    """What the parse trees of ``crd`` depend on, hashed."""
    schema = json.dumps(crd.openapi, sort_keys=True, separators=(",", ":"))
    parts = [
        schema,
        f"cel-python={_version('cel-python')}",
        f"lark={_version('lark')}",
        f"python={sys.version_info[0]}.{sys.version_info[1]}",
        f"format={CACHE_FORMAT}",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _stem(crd: CrdVersion) -> str:
    return f"{crd.group}_{crd.kind}_{crd.version}"


def cache_file(crd: CrdVersion, key: str | None = None) -> Path:
    """Where ``crd``'s parsed rules are kept: one file per schema (two releases' NodePool
    CRDs, used in turn, each keep theirs)."""
    return cache_dir() / FOLDER / f"{_stem(crd)}-{key or cache_key(crd)}.pickle"


def _prune(crd: CrdVersion, keep: Path) -> None:
    """Drop all but the :data:`KEEP` newest files of ``crd``'s group, kind and version."""
    files = sorted(
        (p for p in keep.parent.glob(f"{_stem(crd)}-*.pickle") if p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in files[KEEP - 1 :]:
        old.unlink(missing_ok=True)


def _read(path: Path, key: str) -> dict[str, Any] | None:
    """The parsed rules in ``path`` if it holds them under ``key``; else None."""
    try:
        payload = pickle.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except Exception:  # a damaged pickle raises almost anything (EOFError, UnpicklingError,
        return None  # AttributeError, ImportError ...): it is rebuilt, never trusted
    if not isinstance(payload, dict) or payload.get("key") != key:
        return None
    parsed = payload.get("parsed")
    return parsed if isinstance(parsed, dict) else None


def _write(path: Path, payload: dict[str, Any]) -> None:
    """Whole or not at all, so a concurrent run never reads half a file; failures only cost
    speed (the next run parses again)."""
    from eks_gpu.loaders.atomic_file import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    except (OSError, pickle.PicklingError, RecursionError):
        return


def _seed_or_rebuild(crd: CrdVersion, key: str, path: Path) -> None:
    """Just before ``crd``'s rules compile: seed them from ``path``, or (a corrupt or foreign
    file) parse them and write the file again."""
    parsed = _read(path, key)
    if parsed is not None:
        seed_parsed(parsed)
    else:
        _write(path, {"key": key, "parsed": parsed_rules(rule_texts(crd.openapi))})


def load_or_store(crd: CrdVersion) -> CrdVersion:
    """``crd`` marked ``schema_checked`` and set to seed its parsed rules from the cache when
    they compile (CRD versions a run never uses cost no unpickling), when a file for its key
    exists; else ``crd`` after parsing its rules and checking its schema, both then stored.

    A file is only ever written after the schema it is named for passed the check, so its
    name alone says the check passed; its content is checked when it is read.
    """
    key = cache_key(crd)
    path = cache_file(crd, key)
    if path.is_file():
        seed = functools.partial(_seed_or_rebuild, crd, key, path)
        return replace(crd, schema_checked=True, before_compile=seed)
    try:
        crd.validator  # noqa: B018 (checks the schema now, once)
    except SchemaError:
        return crd  # never cached: validating against it fails as it did without the cache
    _write(path, {"key": key, "parsed": parsed_rules(rule_texts(crd.openapi))})
    with contextlib.suppress(OSError):
        _prune(crd, path)
    return crd


def warm(crds: CrdSet) -> CrdSet:
    """``crds`` with every version's rules parsed and schema checked: from the cache when an
    earlier run did it, else now (and cached)."""
    return replace(crds, versions=tuple(load_or_store(crd) for crd in crds.versions))


__all__ = ["CACHE_FORMAT", "cache_file", "cache_key", "load_or_store", "warm"]
