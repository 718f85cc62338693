"""``eks-gpu doctor`` from files: grouped text, the exact JSON contract, exit codes, flags,
and rules whose input is absent reported as not checked (never as a pass)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from conftest import CliResult
from eks_gpu.diagnose.engine import RULES
from eks_gpu.diagnose.finding import RuleId

RunCli = Callable[..., CliResult]
DATA = Path(__file__).parent / "data" / "doctor"
HEALTHY = str(DATA / "healthy.yaml")


def broken(tmp_path: Path) -> str:
    """The healthy dump with the plugin failing NVML and the GPU pod evicted to Pending."""
    document = yaml.safe_load(Path(HEALTHY).read_text())
    for obj in document["items"]:
        if obj["kind"] == "PodLog":
            obj["tail"] = "E1201 factory.go:112] Incompatible strategy detected auto\n"
        if obj["kind"] == "Pod" and obj["metadata"]["name"].startswith("llm-serve"):
            obj["metadata"]["name"] = "llm-serve-pending"
            del obj["spec"]["nodeName"]
            obj["spec"]["nodeSelector"] = {"team": "research"}
            obj["status"] = {"phase": "Pending"}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_a_healthy_cluster_says_so_and_what_was_checked(run_cli: RunCli) -> None:
    result = run_cli("doctor", "--from", HEALTHY)
    assert result.code == 0, result.err
    assert result.out == "no problems found (2 nodes, 3 pods, 1 NodePool checked)\n"
    assert result.err == ""


def test_findings_are_grouped_by_subject_worst_first(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("doctor", "--from", broken(tmp_path))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "Node/ip-10-0-12-34.ec2.internal"
    assert "ERROR device-plugin-nvml-failure" in lines[1]
    assert any(line.strip().startswith("fix: ") for line in lines)
    assert "Pod/ml/llm-serve-pending" in lines
    assert lines[-1].startswith("2 errors, 1 warning, 0 info")


def test_json_is_exactly_the_contract(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("doctor", "--from", broken(tmp_path), "-o", "json")
    document = json.loads(result.out)
    assert set(document) == {"apiVersion", "kind", "findings", "checked"}
    assert document["checked"] == {"nodes": 2, "pods": 3, "nodepools": 1}
    for finding in document["findings"]:
        assert set(finding) == {"id", "severity", "subject", "summary", "evidence", "fix"}
    assert [f["id"] for f in document["findings"]] == [
        "device-plugin-nvml-failure",
        "pending-gpu-pod",
        "idle-gpus",
    ]


def test_severity_filters_but_errors_still_set_the_exit_code(
    run_cli: RunCli, tmp_path: Path
) -> None:
    path = broken(tmp_path)
    errors_only = json.loads(run_cli("doctor", "--from", path, "--severity", "error",
                                     "-o", "json").out)  # fmt: skip
    assert {f["severity"] for f in errors_only["findings"]} == {"error"}
    warnings = run_cli("doctor", "--from", HEALTHY, "--severity", "warning")
    assert warnings.code == 0


def kubectl_nodes_and_pods(tmp_path: Path) -> str:
    """What `kubectl get nodes,pods -A -o yaml` prints: no header, no other kinds."""
    document = yaml.safe_load(Path(HEALTHY).read_text())
    document["items"] = [o for o in document["items"] if o["kind"] in ("Node", "Pod")]
    path = tmp_path / "kubectl.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_rules_without_their_input_are_not_checked_and_fail(
    run_cli: RunCli, tmp_path: Path
) -> None:
    result = run_cli("doctor", "--from", kubectl_nodes_and_pods(tmp_path))
    assert result.code == 1
    assert "not checked: device-plugin-missing: not in the input: DaemonSet" in result.err
    assert "hint: give doctor that input, or accept the gap with --skip" in result.err


def test_skip_accepts_the_gap(run_cli: RunCli, tmp_path: Path) -> None:
    path = kubectl_nodes_and_pods(tmp_path)
    first = run_cli("doctor", "--from", path)
    skip = first.err.split("--skip ", 1)[1].strip()
    result = run_cli("doctor", "--from", path, "--skip", skip)
    assert result.code == 0, result.err
    assert result.err == ""


def test_unknown_rule_in_skip_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("doctor", "--from", HEALTHY, "--skip", "gpu-is-sad")
    assert result.code == 2
    assert "unknown rule gpu-is-sad" in result.err and "hint: rules are:" in result.err


def test_from_and_context_together_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("doctor", "--from", HEALTHY, "--context", "prod")
    assert result.code == 2
    assert "--from reads a file" in result.err


def test_bad_idle_after(run_cli: RunCli) -> None:
    result = run_cli("doctor", "--from", HEALTHY, "--idle-after", "soon")
    assert result.code == 2
    assert "use a number with s, m, h or d" in result.err


def test_idle_after_changes_the_verdict(run_cli: RunCli, tmp_path: Path) -> None:
    document: dict[str, Any] = yaml.safe_load(Path(HEALTHY).read_text())
    document["items"] = [o for o in document["items"]
                         if not o["metadata"]["name"].startswith("llm-serve")]  # fmt: skip
    path = tmp_path / "idle.yaml"
    path.write_text(yaml.safe_dump(document))
    assert run_cli("doctor", "--from", str(path), "--idle-after", "1h").code == 0  # a warning
    idle = json.loads(run_cli("doctor", "--from", str(path), "-o", "json").out)["findings"]
    assert [f["id"] for f in idle] == ["idle-gpus"]
    later = json.loads(run_cli("doctor", "--from", str(path), "--idle-after", "3h",
                               "-o", "json").out)["findings"]  # fmt: skip
    assert later == []


def test_every_rule_id_is_in_the_schema() -> None:
    schema = json.loads(
        (Path(__file__).parents[1] / "docs/schemas/DoctorReport.v1.json").read_text()
    )
    listed = set(schema["properties"]["findings"]["items"]["properties"]["id"]["enum"])
    emitted: set[RuleId] = {rule_id for rule in RULES for rule_id in (rule.id, *rule.also)}
    assert listed == emitted


def test_idle_gpus_are_priced_in_the_nodes_region(run_cli: RunCli, tmp_path: Path) -> None:
    """As status does: a cluster in eu-west-1 is not priced with the bundled us-east-1 table."""
    document: dict[str, Any] = yaml.safe_load(Path(HEALTHY).read_text())
    document["items"] = [o for o in document["items"]
                         if not o["metadata"]["name"].startswith("llm-serve")]  # fmt: skip
    for obj in document["items"]:
        if obj["kind"] == "Node":
            obj["metadata"]["labels"]["topology.kubernetes.io/zone"] = "eu-west-1a"
    path = tmp_path / "eu.yaml"
    path.write_text(yaml.safe_dump(document))
    found = json.loads(run_cli("doctor", "--from", str(path), "-o", "json").out)["findings"]
    assert "costing an unknown price" in found[0]["summary"]
    us = json.loads(run_cli("doctor", "--from", str(path), "--region", "us-east-1",
                            "-o", "json").out)["findings"]  # fmt: skip
    assert "costing $1.006/h" in us[0]["summary"]
