"""`eks-gpu verify` flags and errors that need no cluster (the runs: tests/controlplane)."""

from __future__ import annotations

from pathlib import Path

from test_apply import nowhere

RunCli = object


def test_help_lists_the_steps_and_an_example(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("verify", "--help")
    assert result.code == 0
    for word in ("--only", "nvme", "--keep", "--stall-after", "Examples:"):
        assert word in result.out


def test_an_unknown_step_is_a_usage_error_before_any_cluster_call(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    result = run_cli("verify", "--only", "gpu", "--kubeconfig", nowhere(tmp_path))
    assert result.code == 2
    assert "unknown step gpu" in result.err and "steps are: objects" in result.err


def test_a_bad_timeout_names_the_flag(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("verify", "--timeout", "soon")
    assert result.code == 2
    assert "--timeout" in result.err and "30m" in result.err


def test_a_too_short_timeout_is_refused(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("verify", "--timeout", "5s")
    assert result.code == 2 and "too short" in result.err


def test_an_unreachable_cluster_is_a_cluster_error_not_a_traceback(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    result = run_cli("verify", "--kubeconfig", nowhere(tmp_path))
    assert result.code == 3, result.err
    assert "Traceback" not in result.err and "error:" in result.err


def test_the_table_shows_each_step_the_evidence_of_failures_and_the_verdict() -> None:
    from eks_gpu.cli.verify_cmd import table
    from eks_gpu.commands.verify import VerifyResult
    from eks_gpu.verify.steps import failed, not_run, passed

    steps = (
        passed("objects", "NodePool/gpu and EC2NodeClass/nc are Ready"),
        failed("device-plugin", "no NVIDIA device plugin DaemonSet", ["run `eks-gpu apply`"]),
        not_run("simple", "device-plugin failed: fix it first"),
    )
    result = VerifyResult("ctx", "gpu", steps, "", "nothing to clean up")
    text = table(result)
    lines = text.splitlines()
    assert lines[0].split() == ["STEP", "STATUS", "RESULT"]
    assert lines[2].split()[:2] == ["device-plugin", "FAILED"]
    assert "device-plugin:\n  run `eks-gpu apply`\n" in text
    assert text.endswith("NOT verified: 1 of 3 steps passed (NodePool/gpu)\n")
    assert result.exit_code == 1 and "\x1b[" not in text  # no colour off a terminal
