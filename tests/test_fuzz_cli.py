"""Fuzz the commands that read a user's file, in-process: ``validate FILE``, ``doctor --from``,
``status --from`` and ``simulate --workload``. Whatever the file holds, the exit code is 0, 1
or 2 (never 70, the "bug in eks-gpu" code) and stderr holds no traceback.

Budget: ~25 s of the fuzz suite's ~60 s: the nasty-file corpus once per command, then a few
derandomized generated files per command (``FUZZ_CLI``: each run is a whole command).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from test_fuzz_common import CLUSTER_OBJECTS, FUZZ_CLI, NASTY_FILES

COMMANDS = {
    "validate": ("validate", "{}"),
    "doctor": ("doctor", "--from", "{}"),
    "status": ("status", "--from", "{}"),
    "simulate": ("simulate", "--workload", "{}"),
}
EXTRA_COMMANDS = {"simulate-manifests": ("simulate", "--manifests", "{}")}
ALLOWED_EXITS = {0, 1, 2}


def check_run(run_cli, command: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    args = [arg.format(path) for arg in {**COMMANDS, **EXTRA_COMMANDS}[command]]
    result = run_cli(*args)
    assert result.code in ALLOWED_EXITS, (args, result.code, result.err[-2000:])
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_nasty_files(command: str, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    for name, content in sorted(NASTY_FILES.items()):
        path = tmp_path / name
        path.write_bytes(content)
        check_run(run_cli, command, path)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_generated_manifests(command: str, tmp_path_factory, run_cli) -> None:  # type: ignore[no-untyped-def]
    """Pods, nodes, NodePools and other objects with junk in a field or two (one file,
    several documents, or one ``kind: List``)."""
    folder = tmp_path_factory.mktemp(command)

    @FUZZ_CLI
    @given(st.lists(CLUSTER_OBJECTS, min_size=1, max_size=4), st.booleans())
    def run(objects: list, as_list: bool) -> None:
        path = folder / "in.yaml"
        document = [{"apiVersion": "v1", "kind": "List", "items": objects}] if as_list else objects
        path.write_text("\n---\n".join(yaml.safe_dump(o) for o in document))
        check_run(run_cli, command, path)

    run()


@pytest.mark.parametrize(
    "spec",
    [
        "{weight: {a: 1}, template: {spec: {}}}",
        "{weight: heavy, template: {spec: {}}}",
        "{template: {spec: {taints: 5}}}",
        "{template: {spec: {taints: [gpu]}}}",
        "{template: {spec: {requirements: {a: 1}}}}",
        "{template: {spec: {requirements: [[1]]}}}",
    ],
    ids=["weight-map", "weight-word", "taints-number", "taint-string", "reqs-map", "req-list"],
)
def test_simulate_manifests_with_a_junk_nodepool(spec: str, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    """Found by fuzzing ``simulate --manifests``."""
    path = tmp_path / "pools.yaml"
    path.write_text(
        f"apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata: {{name: gpu}}\nspec: {spec}\n"
    )
    check_run(run_cli, "simulate-manifests", path)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ("kind: NodePool\nmetadata: {name: gpu}\nspec: {limits: [1]}", "spec.limits is a list"),
        ("kind: NodePool\nmetadata: {name: gpu}\nspec: {limits: 1.5}", "spec.limits is a float"),
        ("kind: Pod\nmetadata: {name: p}\nspec: {nodeName: {a: 1}}", "spec.nodeName is a dict"),
        ("kind: Pod\nmetadata: {name: p}\nspec: {containers: [5]}", "spec.containers[0] is a int"),
        ("kind: Node\nmetadata: {name: n}\nstatus: {capacity: [1]}", "status.capacity is a list"),
    ],
)
@pytest.mark.parametrize("command", ["status", "doctor"])
def test_dump_fields_of_the_wrong_type_are_usage_errors(
    command: str,
    document: str,
    field: str,
    tmp_path: Path,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    """Found by fuzzing ``status --from``: a NodePool whose limits were a list or a number, or
    a Pod whose nodeName was a mapping, crashed the inventory (AttributeError, unhashable
    dict: exit 70). The loader now checks the fields the analysers read against the types the
    API server prints, and names the object and field."""
    path = tmp_path / "dump.yaml"
    path.write_text("apiVersion: v1\n" + document + "\n")
    result = run_cli(command, "--from", str(path))
    assert result.code == 2, result.err
    assert field in result.err and "dump.yaml" in result.err


def test_validate_a_nodeclass_whose_user_data_nests_deeply(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    """Found by fuzzing: the manifest parses (the nesting is inside a string), the rule's own
    YAML read of userData crashes."""
    user_data = (
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: " + "[" * 3000 + "]" * 3000
    )
    node_class = {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": "gpu"},
        "spec": {"amiFamily": "AL2023", "role": "r", "userData": user_data,
                 "amiSelectorTerms": [{"alias": "al2023@latest"}],
                 "subnetSelectorTerms": [{"tags": {"a": "b"}}],
                 "securityGroupSelectorTerms": [{"tags": {"a": "b"}}]},
    }  # fmt: skip
    path = tmp_path / "nodeclass.yaml"
    path.write_text(yaml.safe_dump(node_class))
    check_run(run_cli, "validate", path)
