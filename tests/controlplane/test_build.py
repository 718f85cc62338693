"""The build cache: a folder built before a binary was added to its module gets just that one.

This is how kube-controller-manager joined the kubernetes module without rebuilding a cache
whose go.mod had not changed. A two-command Go module stands in for the real ones (seconds).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .build import Module, binaries, build_module

pytestmark = pytest.mark.controlplane

MAIN = 'package main\n\nfunc main() { println("{name}") }\n'


@pytest.fixture
def module_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("go") is None:
        pytest.skip("Go is not installed")
    monkeypatch.setenv("EKS_GPU_CONTROLPLANE_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "src" / "tiny"
    for name in ("one", "two"):
        (folder / name).mkdir(parents=True)
        (folder / name / "main.go").write_text(MAIN.replace("{name}", name))
    (folder / "go.mod").write_text("module example.local/tiny\n\ngo 1.25\n")
    (folder / "go.sum").write_text("")
    return folder.parent


def test_a_binary_added_later_is_built_alone(module_root: Path) -> None:
    before = Module("tiny", {"one": "./one"}, root=module_root)
    after = Module("tiny", {"one": "./one", "two": "./two"}, root=module_root)
    folder = build_module(before, log=lambda _: None)
    first = (folder / "one").stat()
    assert binaries((after,)) is None  # the cache is incomplete for the new module
    lines: list[str] = []
    assert build_module(after, log=lines.append) == folder
    assert lines[0].endswith("but for two")
    assert [line for line in lines if "go build" in line] == ["tiny: go build ./two -> two"]
    kept = (folder / "one").stat()
    assert (kept.st_ino, kept.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    found = binaries((after,))
    assert found is not None and set(found) == {"one", "two"}
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp")]
