"""``validate`` refuses what kubectl refuses before any schema: empty input, and objects
without ``apiVersion``/``kind`` (issue 14 item 6).

kubectl 1.32, no server, as the reference (see :mod:`eks_gpu.validate.type_meta`):
``kubectl apply --dry-run=client -f empty.yaml`` -> ``error: no objects passed to apply``,
exit 1; a Pod without apiVersion -> ``error validating data: apiVersion not set``, exit 1.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.manifests import Manifest
from eks_gpu.validate.engine import Options, validate_manifests
from eks_gpu.validate.type_meta import type_meta_findings

RunCli = Any
POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("EKS_GPU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


@pytest.mark.parametrize("text", ["", "\n", "---\n---\n", "# only a comment\n"])
def test_empty_stdin_is_an_error(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    _stdin(monkeypatch, text)
    result = run_cli("validate", "-", "--skip-crd-checks")
    assert result.code == 2
    assert result.out == ""
    assert "no objects in INPUT: stdin; did the command producing it fail?" in result.err
    assert "--allow-empty" in result.err


def test_empty_file_and_empty_folder_are_errors(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "nothing").mkdir()
    result = run_cli("validate", "empty.yaml", "nothing", "--skip-crd-checks")
    assert result.code == 2
    assert "no objects in INPUT: empty.yaml, nothing;" in result.err


def test_allow_empty_accepts_empty_input(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, "")
    result = run_cli("validate", "-", "--skip-crd-checks", "--allow-empty", "-o", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["errors"] == 0


def test_one_empty_file_among_others_is_fine(run_cli: RunCli, tmp_path: Path) -> None:
    """kubectl applies a.yaml when b.yaml is empty: only input with no object at all fails."""
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(POD))
    (tmp_path / "b.yaml").write_text("")
    result = run_cli("validate", "a.yaml", "b.yaml", "--skip-crd-checks")
    assert result.code == 0, result.err


def _without(field: str, value: Any = None) -> dict[str, Any]:
    obj = {key: val for key, val in POD.items() if key != field}
    if value is not None:
        obj[field] = value
    return obj


@pytest.mark.parametrize(
    ("obj", "path", "words", "fix"),
    [
        (_without("apiVersion"), ".apiVersion", "apiVersion not set", "add apiVersion: v1"),
        (_without("apiVersion", ""), ".apiVersion", "apiVersion not set", "add apiVersion: v1"),
        (_without("apiVersion", 1), ".apiVersion", "apiVersion isn't string type", "apiVersion"),
        (_without("kind"), ".kind", "kind not set", "add kind:"),
        (_without("kind", ["Pod"]), ".kind", "kind isn't string type", "add kind:"),
    ],
)
def test_missing_or_mistyped_type_meta_is_an_error(
    obj: dict[str, Any], path: str, words: str, fix: str
) -> None:
    (finding,) = type_meta_findings(obj)
    assert (finding.rule, finding.severity, finding.path) == ("type-meta", "error", path)
    assert finding.message.startswith(words)
    assert finding.fix is not None and fix in finding.fix


def test_pod_without_api_version_is_an_error_not_skipped(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(_without("apiVersion")))
    result = run_cli("validate", "pod.yaml", "--skip-crd-checks", "-o", "json")
    assert result.code == 1, result.err
    report = json.loads(result.out)
    assert report["skipped"] == []
    (finding,) = [f for f in report["findings"] if f["rule"] == "type-meta"]
    assert finding["object"] == "Pod/p"
    assert finding["path"] == ".apiVersion"
    assert finding["fix"] == "add apiVersion: v1"


def test_nodepool_without_api_version_names_its_version() -> None:
    obj = {"kind": "NodePool", "metadata": {"name": "gpu"}, "spec": {}}
    options = Options(None, "no CRDs", "1.33", None)
    report = validate_manifests([Manifest(obj, "np.yaml", 0)], options)
    (finding,) = [f for f in report.findings if f.rule == "type-meta"]
    assert finding.object == "NodePool/gpu"
    assert finding.fix == "add apiVersion: karpenter.sh/v1"
    assert report.skipped == []  # not "CRD schema and CEL (no CRDs)": nothing could be chosen


def test_both_missing_gives_two_findings() -> None:
    paths = [f.path for f in type_meta_findings({"metadata": {"name": "x"}})]
    assert paths == [".apiVersion", ".kind"]


def test_complete_type_meta_has_no_finding() -> None:
    assert type_meta_findings(POD) == []
