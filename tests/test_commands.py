"""The command layer as a library: plain arguments in, a frozen result out, no printing.

The CLI is tested through ``main(argv)`` elsewhere; here the command functions are called
directly, as another program (or ``plan``) would call them.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import eks_gpu.commands
from eks_gpu import errors
from eks_gpu.commands.catalog import show_catalog
from eks_gpu.commands.config_source import RenderSource
from eks_gpu.commands.init import init
from eks_gpu.commands.instances import instances
from eks_gpu.commands.plan import plan
from eks_gpu.commands.recommend import recommend
from eks_gpu.commands.render import render
from eks_gpu.commands.simulate import simulate
from eks_gpu.commands.validate import validate
from eks_gpu.names import API_VERSION_EKS_GPU

COMMANDS = Path(eks_gpu.commands.__file__).parent
EXIT_CODES = {errors.EXIT_OK, errors.EXIT_FINDINGS}


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file, no cached CRDs or prices, no AWS region from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EKS_GPU_CONFIG", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))


def test_plan_composes_render_validate_and_simulate() -> None:
    result = plan(RenderSource(cluster_name="demo"))

    assert result.ok and result.exit_code == errors.EXIT_OK
    assert result.rendered.cluster_name == "demo"
    assert result.validation.count("error") == 0
    placed = [p for c in result.simulation.document["nodeclaims"] for p in c["pods"]]
    assert len(placed) == 3  # the guide's three test pods
    document = result.to_json()
    assert document["validation"]["kind"] == "ValidationReport"
    assert document["simulation"]["kind"] == "Simulation"


def test_every_result_is_frozen_with_an_envelope_and_a_known_exit_code(tmp_path: Path) -> None:
    results = [
        plan(),
        validate(),
        simulate(),
        instances(gpus=("l4",)),
        recommend("dev", gpu_memory=12),
        show_catalog(None),
        init("dev", path=tmp_path / "eks-gpu.yaml"),
    ]
    for result in results:
        assert dataclasses.is_dataclass(result)
        field = dataclasses.fields(result)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, field, None)
        assert result.exit_code in EXIT_CODES
        assert result.to_json()["apiVersion"] == API_VERSION_EKS_GPU


def test_render_without_a_cluster_name_is_a_usage_error_unless_for_checks() -> None:
    with pytest.raises(errors.UsageError, match="no cluster name"):
        render()
    assert render(example_cluster=True).cluster_name == "example-cluster"
    assert render(RenderSource(profile="dev"), only=("nodepool",), example_cluster=True).objects


def test_render_writes_the_out_dir_files(tmp_path: Path) -> None:
    result = render(RenderSource(cluster_name="demo"), out_dir=tmp_path / "out")

    written = {str(p.relative_to(tmp_path / "out")) for p in result.written}
    assert "kustomization.yaml" in written and "gpu/nodepool-gpu.yaml" in written
    assert result.to_json()["kind"] == "List"  # Kubernetes' own, not our envelope


def test_a_failed_check_is_exit_findings_not_an_exception() -> None:
    nothing_fits = recommend("dev", gpu_memory=12, max_price=0.01)
    assert nothing_fits.exit_code == errors.EXIT_FINDINGS
    assert nothing_fits.to_json()["options"] == []


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "eks-gpu.yaml"
    target.write_text("keep me\n")
    with pytest.raises(errors.UsageError, match="already exists"):
        init("dev", path=target)
    assert target.read_text() == "keep me\n"
    assert init("dev", path=None).text.startswith("#")


def _prints_or_exits(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id == "print":
            found.append(f"{node.lineno}: print")
        if isinstance(node, ast.Attribute) and node.attr in ("exit", "echo", "stdout", "stderr"):
            found.append(f"{node.lineno}: .{node.attr}")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            )
            found += [f"{node.lineno}: import {m}" for m in modules if m and m.startswith("click")]
    return found


def test_commands_never_print_or_exit() -> None:
    offenders = [
        f"{path.name}:{where}"
        for path in sorted(COMMANDS.glob("*.py"))
        for where in _prints_or_exits(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "commands return results; cli/output.py prints:\n" + "\n".join(offenders)
