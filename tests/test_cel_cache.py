"""Parsed CEL rules kept in the user cache per CRD version (:mod:`eks_gpu.loaders.cel_cache`):
a second run parses nothing and checks no schema, and gives the same findings; a stale key, a
corrupt file or a mistyped payload is ignored and rebuilt; an unwritable cache only costs
speed (issue 14 item 7)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.loaders import cel_cache
from eks_gpu.loaders.crd_release import crds_from_paths
from eks_gpu.manifests import Manifest
from eks_gpu.render.bundle import render_all
from eks_gpu.validate import cel
from eks_gpu.validate.crds import CrdSet
from eks_gpu.validate.engine import Options, validate_manifests


@pytest.fixture(autouse=True)
def _fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts as a fresh process would: empty cache folder, nothing parsed."""
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))
    cel.forget_parsed()
    yield
    cel.forget_parsed()


def _crds(reference: Path) -> CrdSet:
    return crds_from_paths([str(reference / "karpenter")])


def _bad_nodepool() -> dict[str, Any]:
    nodepool = copy.deepcopy(render_all(GpuConfig(), "demo")[1].obj)
    nodepool["spec"]["template"]["spec"]["nodeClassRef"]["name"] = ""  # a CEL rule refuses it
    return nodepool


def _findings(crds: CrdSet) -> list[tuple[str, str, str]]:
    manifest = Manifest(_bad_nodepool(), "np.yaml", 0)
    report = validate_manifests([manifest], Options(crds, None, "1.33", None))
    return [(f.rule, f.path, f.message) for f in report.findings]


def test_unused_crd_versions_are_never_unpickled(
    reference: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crds(reference)
    cel.forget_parsed()
    read: list[str] = []
    original = cel_cache._read
    monkeypatch.setattr(cel_cache, "_read", lambda p, k: read.append(p.name) or original(p, k))
    crds = _crds(reference)
    assert read == []
    _findings(crds)  # a NodePool only
    assert [name.split("-")[0] for name in read] == ["karpenter.sh_NodePool_v1"]


def test_second_run_parses_nothing_and_finds_the_same(reference: Path) -> None:
    first = _crds(reference)
    assert cel.parse_count() > 60  # the 84 rules of v1.14.1 (63 distinct texts) + NodeOverlay
    assert not any(crd.schema_checked for crd in first.versions)
    files = sorted(p.name for p in (cel_cache.cache_file(first.versions[0]).parent).iterdir())
    # the release's and unreleased-main's NodePool v1 differ: each keeps a file of its own
    assert len([name for name in files if name.startswith("karpenter.sh_NodePool_v1-")]) == 2
    cold = _findings(first)

    cel.forget_parsed()  # a new process
    second = _crds(reference)
    warm = _findings(second)
    assert cel.parse_count() == 0
    assert all(crd.schema_checked for crd in second.versions)
    assert warm == cold
    assert ("cel", ".spec.template.spec.nodeClassRef.name", "name may not be empty") in warm


def test_cached_trees_are_reused_not_reparsed(reference: Path) -> None:
    """The trees a cached run compiles are the very objects read from the file."""
    crds = _crds(reference)
    nodepool = next(c for c in crds.versions if c.kind == "NodePool")
    cel.forget_parsed()
    loaded = cel_cache.load_or_store(nodepool)
    assert loaded.schema_checked
    assert len(loaded.cel) > 0
    payload = pickle.loads(cel_cache.cache_file(nodepool).read_bytes())
    text = next(iter(payload["parsed"]))
    assert cel.parse_rule(text) == payload["parsed"][text]
    assert cel.parse_count() == 0


def _rewrite(path: Path, data: bytes) -> None:
    path.write_bytes(data)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda p: _rewrite(p, b"\x00not a pickle at all"), id="corrupt"),
        pytest.param(lambda p: _rewrite(p, p.read_bytes()[: len(p.read_bytes()) // 2]), id="cut"),
        pytest.param(
            lambda p: _rewrite(p, pickle.dumps({**pickle.loads(p.read_bytes()), "key": "old"})),
            id="stale-key",
        ),
        pytest.param(lambda p: _rewrite(p, pickle.dumps(["a", "list"])), id="not-a-dict"),
        pytest.param(lambda p: _rewrite(p, pickle.dumps({"key": 1, "parsed": 2})), id="wrong"),
    ],
)
def test_spoiled_cache_is_ignored_and_rebuilt(reference: Path, spoil: Any) -> None:
    crds = _crds(reference)
    nodepool = next(c for c in crds.versions if c.kind == "NodePool")
    path = cel_cache.cache_file(nodepool)
    spoil(path)
    cold = _findings(crds)

    cel.forget_parsed()
    again = _crds(reference)
    assert cel.parse_count() == 0  # nothing is read (or parsed) before the rules compile
    # the file's name says its schema passed the metaschema check (written only after it)
    assert next(c for c in again.versions if c.kind == "NodePool").schema_checked
    assert _findings(again) == cold
    assert cel.parse_count() > 0  # the spoiled NodePool entry was parsed again
    rebuilt = pickle.loads(path.read_bytes())
    assert rebuilt["key"] == cel_cache.cache_key(nodepool)

    cel.forget_parsed()
    _crds(reference)
    assert cel.parse_count() == 0  # and the rebuilt file serves the next run


def test_mistyped_entries_are_not_seeded() -> None:
    cel.seed_parsed({"self.x > 0": 42, "self.y > 0": "cannot parse (made up)"})  # type: ignore[dict-item]
    assert cel.parse_rule("self.y > 0") == "cannot parse (made up)"
    assert cel.parse_count() == 0
    tree = cel.parse_rule("self.x > 0")  # the int was not taken: parsed for real
    assert not isinstance(tree, (int, str))
    assert cel.parse_count() == 1


def test_another_crd_schema_has_another_key(reference: Path) -> None:
    crds = _crds(reference)
    nodepool = next(c for c in crds.versions if c.kind == "NodePool")
    changed = copy.deepcopy(nodepool.openapi)
    changed["properties"]["spec"]["x-kubernetes-validations"] = [{"rule": "has(self.template)"}]
    other = type(nodepool)(nodepool.group, nodepool.kind, nodepool.version, changed, "x")
    assert cel_cache.cache_key(other) != cel_cache.cache_key(nodepool)
    cel.forget_parsed()
    assert not cel_cache.load_or_store(other).schema_checked  # not cached: checked and parsed
    assert cel.parse_count() > 0


def test_old_files_of_one_crd_version_are_pruned(reference: Path) -> None:
    crds = _crds(reference)
    nodepool = next(c for c in crds.versions if c.kind == "NodePool")
    folder = cel_cache.cache_file(nodepool).parent
    for n in range(cel_cache.KEEP + 3):
        changed = copy.deepcopy(nodepool.openapi)
        changed["description"] = f"variant {n}"
        variant = type(nodepool)(nodepool.group, nodepool.kind, nodepool.version, changed, "x")
        cel_cache.load_or_store(variant)
    kept = list(folder.glob("karpenter.sh_NodePool_v1-*.pickle"))
    assert len(kept) == cel_cache.KEEP
    assert cel_cache.cache_file(variant) in kept  # the newest stays


def test_unwritable_cache_still_validates(
    reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(blocker))
    crds = _crds(reference)
    assert ("cel", ".spec.template.spec.nodeClassRef.name", "name may not be empty") in (
        _findings(crds)
    )


def test_cli_second_run_does_not_compile(run_cli: Any, reference: Path, tmp_path: Path) -> None:
    path = tmp_path / "np.yaml"
    path.write_text(yaml.safe_dump(_bad_nodepool()))
    args = ("validate", str(path), "--crds", str(reference / "karpenter"), "-o", "json")
    first = run_cli(*args)
    assert first.code == 1, first.err
    assert cel.parse_count() > 0
    cel.forget_parsed()
    second = run_cli(*args)
    assert cel.parse_count() == 0
    assert second.out == first.out
