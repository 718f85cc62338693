"""Behaviour of the ``eks-gpu`` command line: help, version, render, init, config discovery.

Every test runs in an empty temporary working directory with ``$EKS_GPU_CONFIG`` unset, so
no stray ``./eks-gpu.yaml`` or environment changes what the defaults render.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CliResult
from eks_gpu import __version__

RunCli = Callable[..., CliResult]

GUIDE_FILES = [
    "gpu/nodepool-gpu.yaml",
    "device-plugin/nvidia-device-plugin.yml",
    "tests/namespace.yaml",
    "tests/probes.yaml",
    "tests/test-gpu-simple.yaml",
    "tests/test-gpu-pytorch.yaml",
    "tests/test-gpu-nvme.yaml",
]
FAMILY_KEY = "karpenter.k8s.aws/instance-family"
CAPACITY_KEY = "karpenter.sh/capacity-type"
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and no ``$EKS_GPU_CONFIG``: nothing is discovered."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("EKS_GPU_CONFIG", raising=False)
    return workdir


def ok(result: CliResult) -> CliResult:
    """``result``, after checking it exited 0."""
    assert result.code == 0, result.err
    return result


def usage_error(result: CliResult) -> CliResult:
    """``result``, after checking it is a clean exit-2 usage error."""
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.err
    assert "internal error" not in result.err
    return result


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def kinds(text: str) -> list[str]:
    return [doc["kind"] for doc in documents(text)]


def of_kind(text: str, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in documents(text) if doc["kind"] == kind]


def requirement_values(nodepool: dict[str, Any], key: str) -> list[str]:
    """The values of the NodePool requirement on ``key``."""
    requirements = nodepool["spec"]["template"]["spec"]["requirements"]
    (requirement,) = [r for r in requirements if r["key"] == key]
    values: list[str] = requirement["values"]
    return values


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- help and version ---------------------------------------------------------------------


def test_help_lists_commands(run_cli: RunCli) -> None:
    out = ok(run_cli("--help")).out

    assert "Commands:" in out
    assert "init" in out
    assert "render" in out


def test_version_prints_package_version(run_cli: RunCli) -> None:
    assert ok(run_cli("--version")).out == f"eks-gpu {__version__}\n"


def test_unknown_command_is_usage_error(run_cli: RunCli) -> None:
    result = usage_error(run_cli("bogus"))

    assert "No such command" in result.err


# --- render to stdout ------------------------------------------------------------------------


def test_render_is_byte_identical_across_runs(run_cli: RunCli) -> None:
    first = ok(run_cli("render", "--cluster-name", "demo")).out
    second = ok(run_cli("render", "--cluster-name", "demo")).out

    assert first == second


def test_render_defaults_to_guide_objects_in_apply_order(run_cli: RunCli) -> None:
    out = ok(run_cli("render", "--cluster-name", "demo")).out

    assert out.startswith("---\n")
    assert kinds(out) == [
        "EC2NodeClass", "NodePool", "DaemonSet", "Namespace", "ConfigMap", "Pod", "Pod", "Pod"
    ]  # fmt: skip


def test_json_output_is_a_list_of_the_yaml_objects(run_cli: RunCli) -> None:
    as_yaml = ok(run_cli("render", "--cluster-name", "demo")).out
    as_json = ok(run_cli("render", "--cluster-name", "demo", "-o", "json")).out

    listing = json.loads(as_json)
    assert listing["apiVersion"] == "v1"
    assert listing["kind"] == "List"
    assert listing["items"] == documents(as_yaml)


def test_only_nodepool(run_cli: RunCli) -> None:
    out = ok(run_cli("render", "--cluster-name", "demo", "--only", "nodepool")).out

    assert kinds(out) == ["NodePool"]


def test_only_nodeclass_and_tests(run_cli: RunCli) -> None:
    out = ok(run_cli("render", "--cluster-name", "demo", "--only", "nodeclass,tests")).out

    assert kinds(out) == ["EC2NodeClass", "Namespace", "ConfigMap", "Pod", "Pod", "Pod"]


def test_only_unknown_group_is_usage_error(run_cli: RunCli) -> None:
    result = usage_error(run_cli("render", "--cluster-name", "demo", "--only", "nodepool,gpus"))

    assert "unknown group gpus" in result.err
    assert "nodeclass,nodepool,device-plugin,tests" in result.err


# --- render --out-dir ----------------------------------------------------------------------


def test_out_dir_writes_the_guides_files(run_cli: RunCli, tmp_path: Path) -> None:
    out_dir = tmp_path / "manifests"

    ok(run_cli("render", "--cluster-name", "demo", "--out-dir", str(out_dir)))

    written = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())
    assert written == sorted([*GUIDE_FILES, "kustomization.yaml"])
    nodepool_file = (out_dir / "gpu/nodepool-gpu.yaml").read_text(encoding="utf-8")
    assert kinds(nodepool_file) == ["EC2NodeClass", "NodePool"]


def test_out_dir_kustomization_lists_files_in_apply_order(run_cli: RunCli, tmp_path: Path) -> None:
    out_dir = tmp_path / "manifests"

    ok(run_cli("render", "--cluster-name", "demo", "--out-dir", str(out_dir)))

    (kustomization,) = documents((out_dir / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"] == GUIDE_FILES


def test_out_dir_files_concatenate_to_stdout(run_cli: RunCli, tmp_path: Path) -> None:
    out_dir = tmp_path / "manifests"
    stdout = ok(run_cli("render", "--cluster-name", "demo")).out

    ok(run_cli("render", "--cluster-name", "demo", "--out-dir", str(out_dir)))

    joined = "".join((out_dir / name).read_text(encoding="utf-8") for name in GUIDE_FILES)
    assert joined == stdout


def test_out_dir_with_json_is_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    out_dir = tmp_path / "manifests"

    result = usage_error(
        run_cli("render", "--cluster-name", "demo", "--out-dir", str(out_dir), "-o", "json")
    )

    assert "--out-dir" in result.err
    assert not out_dir.exists()


def test_two_pools_get_one_file_each(run_cli: RunCli, tmp_path: Path) -> None:
    config = write(
        tmp_path / "two.yaml",
        "nodeClasses: [{name: shared}]\n"
        "nodePools:\n"
        "  - {name: alpha, nodeClass: shared}\n"
        "  - {name: beta, nodeClass: shared, instanceFamilies: [g5]}\n",
    )
    out_dir = tmp_path / "manifests"

    ok(run_cli("render", "-c", str(config), "--cluster-name", "demo", "--out-dir", str(out_dir)))

    alpha = (out_dir / "gpu/alpha.yaml").read_text(encoding="utf-8")
    beta = (out_dir / "gpu/beta.yaml").read_text(encoding="utf-8")
    assert [(d["kind"], d["metadata"]["name"]) for d in documents(alpha)] == [
        ("EC2NodeClass", "shared"),
        ("NodePool", "alpha"),
    ]
    assert [(d["kind"], d["metadata"]["name"]) for d in documents(beta)] == [("NodePool", "beta")]
    (kustomization,) = documents((out_dir / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["resources"][:2] == ["gpu/alpha.yaml", "gpu/beta.yaml"]


# --- where the config comes from -------------------------------------------------------------


def test_config_and_profile_exclude_each_other(run_cli: RunCli, tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "clusterName: demo\n")

    result = usage_error(run_cli("render", "-c", str(config), "--profile", "dev"))

    assert "cannot be used together" in result.err


def test_env_var_config_is_used(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "env.yaml", "clusterName: from-env\nnodePools: [{name: env-pool}]\n")
    monkeypatch.setenv("EKS_GPU_CONFIG", str(config))

    out = ok(run_cli("render", "--only", "nodepool")).out

    (nodepool,) = documents(out)
    assert nodepool["metadata"]["name"] == "env-pool"


def test_default_file_in_cwd_is_used(run_cli: RunCli, isolated_cwd: Path) -> None:
    write(isolated_cwd / "eks-gpu.yaml", "clusterName: from-cwd\nnodePools: [{name: cwd-pool}]\n")

    out = ok(run_cli("render", "--only", "nodepool")).out

    (nodepool,) = documents(out)
    assert nodepool["metadata"]["name"] == "cwd-pool"


def test_env_var_wins_over_default_file(
    run_cli: RunCli, tmp_path: Path, isolated_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(isolated_cwd / "eks-gpu.yaml", "clusterName: demo\nnodePools: [{name: cwd-pool}]\n")
    config = write(tmp_path / "env.yaml", "clusterName: demo\nnodePools: [{name: env-pool}]\n")
    monkeypatch.setenv("EKS_GPU_CONFIG", str(config))

    out = ok(run_cli("render", "--only", "nodepool")).out

    assert documents(out)[0]["metadata"]["name"] == "env-pool"


def test_cluster_name_flag_overrides_config(run_cli: RunCli, tmp_path: Path) -> None:
    config = write(tmp_path / "c.yaml", "clusterName: from-config\n")

    out = ok(run_cli("render", "-c", str(config), "--cluster-name", "beta", "--only", "nodeclass"))

    (nodeclass,) = documents(out.out)
    spec = nodeclass["spec"]
    assert spec["role"] == "KarpenterNodeRole-beta"
    assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "beta"}}]
    assert "from-config" not in out.out


# --- init ----------------------------------------------------------------------------------


def test_init_file_round_trips_to_the_profile(run_cli: RunCli, tmp_path: Path) -> None:
    config = tmp_path / "eks-gpu.yaml"

    ok(run_cli("init", "--profile", "dev", "--cluster-name", "demo", "-f", str(config)))

    from_file = ok(run_cli("render", "-c", str(config))).out
    from_profile = ok(run_cli("render", "--profile", "dev", "--cluster-name", "demo")).out
    assert from_file == from_profile


def test_init_writes_default_file_in_cwd(run_cli: RunCli, isolated_cwd: Path) -> None:
    result = ok(run_cli("init", "--cluster-name", "demo"))

    assert (isolated_cwd / "eks-gpu.yaml").is_file()
    assert "wrote eks-gpu.yaml" in result.out


def test_init_refuses_to_overwrite(run_cli: RunCli, tmp_path: Path) -> None:
    config = write(tmp_path / "eks-gpu.yaml", "# mine\n")

    result = usage_error(run_cli("init", "-f", str(config)))

    assert "already exists" in result.err
    assert "--force" in result.err
    assert config.read_text(encoding="utf-8") == "# mine\n"


def test_init_force_overwrites(run_cli: RunCli, tmp_path: Path) -> None:
    config = write(tmp_path / "eks-gpu.yaml", "# mine\n")

    ok(run_cli("init", "-f", str(config), "--force"))

    text = config.read_text(encoding="utf-8")
    assert text.startswith("# eks-gpu configuration")
    assert "kind: GpuConfig" in text


def test_init_to_stdout(run_cli: RunCli, isolated_cwd: Path) -> None:
    out = ok(run_cli("init", "--profile", "inference", "-f", "-")).out

    (config,) = documents(out)
    assert config["kind"] == "GpuConfig"
    assert config["nodePools"][0]["instanceFamilies"] == ["g5"]
    assert list(isolated_cwd.iterdir()) == []


def test_init_bad_cluster_name_is_usage_error(run_cli: RunCli, isolated_cwd: Path) -> None:
    usage_error(run_cli("init", "--cluster-name", "no spaces allowed"))

    assert list(isolated_cwd.iterdir()) == []


# --- profiles ------------------------------------------------------------------------------


def render_nodepool(run_cli: RunCli, profile: str) -> dict[str, Any]:
    out = ok(run_cli("render", "--profile", profile, "--cluster-name", "demo")).out
    (nodepool,) = of_kind(out, "NodePool")
    return nodepool


def test_profile_dev_is_g4dn_spot(run_cli: RunCli) -> None:
    nodepool = render_nodepool(run_cli, "dev")

    assert requirement_values(nodepool, FAMILY_KEY) == ["g4dn"]
    assert requirement_values(nodepool, CAPACITY_KEY) == ["spot"]


def test_profile_inference_is_g5_on_demand(run_cli: RunCli) -> None:
    nodepool = render_nodepool(run_cli, "inference")

    assert requirement_values(nodepool, FAMILY_KEY) == ["g5"]
    assert requirement_values(nodepool, CAPACITY_KEY) == ["on-demand"]


def test_profile_training_is_p_families(run_cli: RunCli) -> None:
    nodepool = render_nodepool(run_cli, "training")

    families = requirement_values(nodepool, FAMILY_KEY)
    assert families
    assert all(family.startswith("p") for family in families), families
    assert set(requirement_values(nodepool, CAPACITY_KEY)) == {"spot", "on-demand"}


def test_profile_guide_is_the_guides_families(run_cli: RunCli) -> None:
    nodepool = render_nodepool(run_cli, "guide")

    assert requirement_values(nodepool, FAMILY_KEY) == [
        "g4dn",
        "g5",
        "g6",
        "g6e",
        "p3",
        "p4d",
        "p4de",
    ]


# --- installed entry points ---------------------------------------------------------------


def run_program(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("EKS_GPU_CONFIG", None)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, env=env)


def installed(script: str) -> str:
    path = BIN / script
    if not path.is_file():
        pytest.skip(f"{script} is not installed next to {sys.executable}")
    return str(path)


def test_console_script_version() -> None:
    result = run_program(installed("eks-gpu"), "--version")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"eks-gpu {__version__}\n"


def test_python_dash_m_help() -> None:
    result = run_program(sys.executable, "-m", "eks_gpu", "--help")

    assert result.returncode == 0, result.stderr
    assert "Usage: eks-gpu" in result.stdout
    assert "render" in result.stdout


def test_kubectl_plugin_usage_says_kubectl_gpu() -> None:
    result = run_program(installed("kubectl-gpu"), "--help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: kubectl gpu ")
