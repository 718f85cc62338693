"""Every ``-o json`` document, checked against its published JSON Schema (docs/schemas/).

Each case runs a command in-process, offline, with the guide's defaults (``catalog refresh``
against moto), and validates stdout against ``docs/schemas/<kind>.v1.json``. A command that
gains ``-o json`` without a schema and a case here fails :func:`test_every_json_command_has_a_case`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from builders import make_node, make_nodepool, make_pod
from conftest import CliResult
from eks_gpu import names
from eks_gpu.cli.main import COMMANDS, cli
from environment import empty_workdir, fake_aws

RunCli = Callable[..., CliResult]
SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
HEALTHY_DUMP = Path(__file__).resolve().parent / "data" / "doctor" / "healthy.yaml"
GPU = names.RESOURCE_NVIDIA_GPU


@dataclass(frozen=True)
class Case:
    """One command line, the schema its output follows, and its expected exit code."""

    argv: tuple[str, ...]
    kind: str
    code: int = 0
    aws: bool = False
    cluster: str | None = None
    """Needs a live cluster: the control-plane test named here checks the document."""

    @property
    def command(self) -> str:
        """The command path, e.g. ``catalog refresh``."""
        words = [self.argv[0]]
        if self.argv[0] == "catalog":
            words.append(self.argv[1])
        return " ".join(words)


def _pod(name: str, tolerate: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "main",
                "image": "nvidia/cuda:12.4.1-base-ubuntu22.04",
                "resources": {"limits": {GPU: 1}},
            }
        ]
    }
    if tolerate:
        spec["tolerations"] = [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


WORKLOADS = [_pod("trainer", tolerate=True), _pod("plain", tolerate=False)]
GPU_REQUEST_ONLY = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "requests-only"},
    "spec": {"containers": [{"name": "main", "image": "x", "resources": {"requests": {GPU: 1}}}]},
}

CLUSTER = [  # status: a GPU node, a GPU pod on it, a pending one, a launching NodeClaim
    make_node("gpu-1", instance_type="g5.12xlarge", gpus=4),
    make_pod("train", node="gpu-1", gpus=3),
    make_pod("waiting", gpus=1),
    make_nodepool("gpu", limits={GPU: 8}),
    {
        "apiVersion": names.API_VERSION_NODEPOOL,
        "kind": "NodeClaim",
        "metadata": {"name": "gpu-abc12", "labels": {names.LABEL_NODEPOOL: "gpu"}},
        "spec": {"resources": {"requests": {GPU: "1"}}},
        "status": {"conditions": [{"type": "Launched", "status": "Unknown", "reason": "x"}]},
    },
]

CASES = {
    "render": Case(("render", "--cluster-name", "demo", "-o", "json"), "List"),
    "validate-render": Case(("validate", "-o", "json"), "ValidationReport"),
    "validate-file": Case(("validate", "bad.yaml", "-o", "json"), "ValidationReport", code=1),
    "simulate": Case(
        ("simulate", "--workload", "workloads.yaml", "--no-eks-admission", "-o", "json"),
        "Simulation",
        code=1,
    ),
    "plan": Case(("plan", "--cluster-name", "demo", "-o", "json"), "Plan"),
    "plan-failing": Case(
        ("plan", "--workload", "workloads.yaml", "--no-eks-admission", "-o", "json"), "Plan", code=1
    ),
    "instances": Case(("instances", "--gpu", "l4,t4", "-o", "json"), "InstanceList"),
    "instances-spot": Case(("instances", "--capacity-type", "spot", "-o", "json"), "InstanceList"),
    "recommend": Case(
        ("recommend", "--workload", "inference", "--model-params", "70B", "-o", "json"),
        "Recommendation",
    ),
    "recommend-no-fit": Case(
        (
            "recommend",
            "--workload",
            "dev",
            "--gpu-memory",
            "12",
            "--max-price",
            "0.01",
            "-o",
            "json",
        ),
        "Recommendation",
        code=1,
    ),
    "status": Case(("status", "--from", "cluster.yaml", "-o", "json"), "GpuStatus"),
    "rbac": Case(("rbac", "-o", "json"), "List"),
    "catalog-show": Case(("catalog", "show", "-o", "json"), "PriceCatalog"),
    "doctor": Case(("doctor", "--from", str(HEALTHY_DUMP), "-o", "json"), "DoctorReport"),
    "doctor-idle": Case(("doctor", "--from", "idle.yaml", "-o", "json"), "DoctorReport"),
    "catalog-show-other": Case(
        ("catalog", "show", "--region", "eu-west-1", "-o", "json"), "PriceCatalog"
    ),
    "catalog-refresh": Case(
        ("catalog", "refresh", "--region", "us-west-2", "-o", "json"), "CatalogRefresh", aws=True
    ),
    "apply": Case(
        ("apply", "--yes", "-o", "json"),
        "ApplyReport",
        cluster="tests/controlplane/test_apply.py::test_apply_from_empty_then_reapply_is_a_no_op",
    ),
    "verify": Case(
        ("verify", "-o", "json"),
        "VerifyReport",
        cluster="tests/controlplane/test_verify.py::test_all_steps_pass_on_recorded_gpu_output",
    ),
    "delete": Case(
        ("delete", "--yes", "-o", "json"),
        "DeleteReport",
        cluster="tests/controlplane/test_apply.py::"
        "test_delete_lists_gpu_pods_needs_yes_and_leaves_what_is_not_ours",
    ),
}


def _schema(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{kind}.v1.json").read_text())
    return loaded


def _registry() -> Registry:
    resources = [
        (schema["$id"], Resource.from_contents(schema))
        for schema in (json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.v1.json")))
    ]
    return Registry().with_resources(resources)


def validator(kind: str) -> Draft202012Validator:
    """A validator for ``kind``'s schema that resolves references to the other schemas."""
    schema = _schema(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry())


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with the input files, no config, no cache, no real AWS."""
    workdir = empty_workdir(tmp_path, monkeypatch)
    fake_aws(tmp_path, monkeypatch)
    (workdir / "workloads.yaml").write_text(yaml.safe_dump_all(WORKLOADS))
    (workdir / "bad.yaml").write_text(yaml.safe_dump(GPU_REQUEST_ONLY))
    dump = yaml.safe_load(HEALTHY_DUMP.read_text())  # without its GPU pod: an idle-gpus finding
    dump["items"] = [o for o in dump["items"] if not o["metadata"]["name"].startswith("llm")]
    (workdir / "idle.yaml").write_text(yaml.safe_dump(dump))
    (workdir / "cluster.yaml").write_text(yaml.safe_dump_all(CLUSTER))
    return workdir


def _empty_price_list(**_: Any) -> tuple[Any, dict[str, Any]]:
    """GetProducts (which moto lacks) answering with no prices: a refresh with a warning."""
    from botocore.awsrequest import AWSResponse

    parsed = {"FormatVersion": "aws_v1", "PriceList": [], "ResponseMetadata": {}}
    parsed["ResponseMetadata"]["HTTPStatusCode"] = 200
    return AWSResponse("https://example.invalid", 200, {}, None), parsed


@pytest.fixture
def moto_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``catalog refresh`` against moto's EC2 (as tests/test_catalog_refresh.py does)."""
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    from eks_gpu.loaders import aws_session

    with moto.mock_aws():
        session = boto3.Session(region_name="us-west-2")
        session.events.register("before-call.pricing.GetProducts", _empty_price_list)
        monkeypatch.setattr(aws_session, "make_session", lambda region, profile: (session, region))
        yield


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_output_follows_its_schema(
    name: str, run_cli: RunCli, request: pytest.FixtureRequest
) -> None:
    case = CASES[name]
    if case.cluster:
        pytest.skip(f"needs a live cluster; the document is checked by {case.cluster}")
    if case.aws:
        request.getfixturevalue("moto_session")
    result = run_cli(*case.argv)

    assert result.code == case.code, result.err
    document = json.loads(result.out)
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(case.kind).iter_errors(document)
    ]
    assert not errors, "\n".join(errors)
    assert document["kind"] == case.kind


def test_the_schemas_pin_the_version_in_names() -> None:
    for path in sorted(SCHEMAS.glob("*.v1.json")):
        schema = json.loads(path.read_text())
        kind = path.name.removesuffix(".v1.json")
        assert schema["$id"].endswith(f"/{kind}.v1.json")
        assert schema["properties"]["kind"] == {"const": kind}
        expected = names.API_VERSION_CORE if kind == "List" else names.API_VERSION_EKS_GPU
        assert schema["properties"]["apiVersion"] == {"const": expected}


def _json_commands(command: click.Command, path: str) -> Iterator[str]:
    """``path`` of every command under ``command`` whose ``-o/--output`` offers json."""
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _json_commands(sub, f"{path} {name}")
        return
    for param in command.params:
        choice = param.type if isinstance(param.type, click.Choice) else None
        if param.name == "output" and choice is not None and "json" in choice.choices:
            yield path


def test_every_json_command_has_a_case() -> None:
    with click.Context(cli) as ctx:
        found = {
            path
            for name in COMMANDS
            for path in _json_commands(cli.get_command(ctx, name), name)  # type: ignore[arg-type]
        }
    assert found == {case.command for case in CASES.values()}
    kinds = {case.kind for case in CASES.values()}
    assert kinds == {p.name.removesuffix(".v1.json") for p in SCHEMAS.glob("*.v1.json")}


def test_cluster_cases_are_checked_by_the_test_they_name() -> None:
    root = Path(__file__).resolve().parents[1]
    for case in CASES.values():
        if case.cluster is None:
            continue
        path, _, test = case.cluster.partition("::")
        source = (root / path).read_text()
        body = source.split(f"def {test}(", 1)[1].split("\ndef ", 1)[0]
        assert f'schema_errors("{case.kind}"' in body, case.cluster
