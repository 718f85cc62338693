"""The pre-commit hook (``.pre-commit-hooks.yaml``): its definition, and its entry run the way
pre-commit runs it (the matching files appended to ``entry``) on a good and a bad manifest.

``pre-commit try-repo . eks-gpu-validate --files ...`` itself installs the hook's own
environment (pip install of eks-gpu and its dependencies: about 2 minutes here), too slow
for the normal suite: it runs when ``EKS_GPU_TRY_PRE_COMMIT=1`` is set (needs the network).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
BAD = "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers: [{name: c, image: busybox}]\n"


@pytest.fixture(scope="module")
def hook() -> dict[str, Any]:
    (entry,) = yaml.safe_load(HOOKS.read_text())
    assert isinstance(entry, dict)
    return entry


@pytest.fixture
def files(tmp_path: Path, run_cli: Any) -> dict[str, Path]:
    rendered = run_cli("render", "--cluster-name", "demo")
    assert rendered.code == 0, rendered.err
    out = {"good": tmp_path / "good.yaml", "bad": tmp_path / "bad.yml", "doc": tmp_path / "a.md"}
    out["good"].write_text(rendered.out)
    out["bad"].write_text(BAD)
    out["doc"].write_text("# not a manifest\n")
    return out


def test_hook_definition(hook: dict[str, Any]) -> None:
    assert hook["id"] == "eks-gpu-validate"
    assert hook["entry"] == "eks-gpu validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    assert [
        n for n in ("a.yaml", "b.yml", "c.json", "d.py", "e.md", "yaml") if files.search(n)
    ] == [
        "a.yaml",
        "b.yml",
        "c.json",
    ]


def _run_entry(hook: dict[str, Any], paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """As pre-commit does: ``entry`` + the files its ``files`` regex matches."""
    matching = [str(p) for p in paths if re.search(hook["files"], str(p))]
    command = shlex.split(hook["entry"])
    executable = Path(sys.executable).parent / command[0]
    command[0] = str(executable) if executable.exists() else (shutil.which(command[0]) or "")
    return subprocess.run(
        [*command, *matching], capture_output=True, text=True, check=False, env=os.environ.copy()
    )


def test_entry_passes_a_good_manifest(hook: dict[str, Any], files: dict[str, Path]) -> None:
    result = _run_entry(hook, [files["good"], files["doc"]])
    assert result.returncode == 0, result.stderr + result.stdout
    assert "0 errors" in result.stdout


def test_entry_fails_a_bad_manifest(hook: dict[str, Any], files: dict[str, Path]) -> None:
    result = _run_entry(hook, [files["good"], files["bad"], files["doc"]])
    assert result.returncode == 1, result.stderr + result.stdout
    assert "type-meta" in result.stdout and "apiVersion not set" in result.stdout


@pytest.mark.skipif(
    os.environ.get("EKS_GPU_TRY_PRE_COMMIT") != "1",
    reason="pre-commit try-repo installs the hook's environment (~2 min, network): "
    "set EKS_GPU_TRY_PRE_COMMIT=1",
)
def test_pre_commit_try_repo(files: dict[str, Path], tmp_path: Path) -> None:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("good", "bad"):
        shutil.copy(files[name], repo / files[name].name)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)

    def try_repo(name: str) -> subprocess.CompletedProcess[str]:
        argv = [str(pre_commit), "try-repo", str(ROOT), "eks-gpu-validate", "--files", name]
        return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, check=False)

    good = try_repo("good.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = try_repo("bad.yml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "apiVersion not set" in bad.stdout
