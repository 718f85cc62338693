"""``--from FILE|DIR`` (``loaders/state_file.py``): dumps and plain ``kubectl get -o yaml|json``
output, one file, many, a folder or stdin; bad input is a :class:`ManifestError` naming the
file and what is wrong, never a traceback."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from builders import make_daemonset, make_node, make_pod
from eks_gpu.commands.cluster_source import ClusterSource, read_cluster
from eks_gpu.errors import UsageError
from eks_gpu.loaders.state_file import read_state_file
from eks_gpu.manifests import ManifestError
from eks_gpu.manifests.cluster_state import ClusterState, PodLog

Obj = dict[str, Any]
NODE, POD, DS = make_node("n1"), make_pod("p1", node="n1"), make_daemonset("agent")
FLOW_THEN_BLOCK = '{"apiVersion": "v1", "kind": "List", "items": []}\n---\n' + yaml.safe_dump_all(
    [NODE, POD, DS]
)  # JSON-looking first document, YAML after: not JSON, so the YAML parser reads it all
FLOW_THEN_BLOCK = '{"apiVersion": "v1", "kind": "List", "items": []}\n---\n' + yaml.safe_dump_all(
    [NODE, POD, DS]
)


def kubectl_list(*objs: Obj) -> Obj:
    """What ``kubectl get nodes,pods -A -o json`` prints."""
    return {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": list(objs),
    }


def names(state: ClusterState) -> dict[str, list[str]]:
    return {kind: [o["metadata"]["name"] for o in objs] for kind, objs in state.objects.items()}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("list.json", json.dumps(kubectl_list(NODE, POD, DS), indent=4)),
        ("array.json", json.dumps([NODE, kubectl_list(POD), DS])),
        ("list.yaml", yaml.safe_dump(kubectl_list(NODE, POD, DS))),
        ("multi.yaml", yaml.safe_dump_all([NODE, POD, DS])),
        ("mixed.yaml", yaml.safe_dump_all([kubectl_list(NODE), POD, kubectl_list(DS)])),
        ("flow.yaml", FLOW_THEN_BLOCK),
    ],
)
def test_kubectl_output_in_any_shape(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(text)
    state = read_state_file(str(path))
    assert names(state) == {"Node": ["n1"], "Pod": ["p1"], "DaemonSet": ["agent"]}
    assert state.read_kinds is None  # plain kubectl output: absence means "not in the input"
    assert state.knows("Node") and not state.knows("NodePool")
    assert state.source == str(path)


def test_a_folder_reads_every_yaml_and_json_file_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "pods.json").write_text(json.dumps(kubectl_list(POD)))
    (tmp_path / "a-nodes.yaml").write_text(yaml.safe_dump(NODE))
    (tmp_path / "notes.txt").write_text("not read")
    assert names(read_state_file(str(tmp_path))) == {"Node": ["n1"], "Pod": ["p1"]}


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(kubectl_list(NODE, POD))))
    assert names(read_state_file("-")) == {"Node": ["n1"], "Pod": ["p1"]}


def test_a_dump_round_trips_its_header_and_logs(tmp_path: Path) -> None:
    state = ClusterState(
        {"Node": (NODE,), "Pod": (POD,)},
        (PodLog("kube-system", "plugin", "ctr", "line\n"),),
        frozenset({"Node", "Pod", "NodePool"}),
        {"NodeMetrics": "no metrics API"},
        "context prod",
        "2026-12-01T10:00:00Z",
        "1.14.1",
        ("Secrets and ConfigMaps: never read",),
    )
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(state.to_list()))
    back = read_state_file(str(path))
    assert back == state
    assert back.knows("NodePool") and not back.knows("NodeMetrics")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no Kubernetes objects"),
        ("---\n---\n", "holds no Kubernetes objects"),
        ("null", "holds no Kubernetes objects"),
        ('{"apiVersion": "v1", "kind": "List", "items": []}', "holds no Kubernetes objects"),
        ('{"kind": "Node",', "not valid YAML"),
        ("kind: [\n", "not valid YAML"),
        ("3", "document 1 is a int, not an object"),
        ("[1]", "item 1 is a int, not an object"),
        ("- a\n- b\n", "document 1 is a list, not an object"),
        ("{}", "object 1: has no kind"),
        ("metadata: {name: x}\n", "object 1 (x): has no kind"),
        ("kind: List\nitems: 5\n", "document 1: items is a int, not a list"),
        ('{"kind": "List", "items": "abc"}', "item 1: items is a str, not a list"),
    ],
)
def test_bad_input_is_a_typed_error_naming_the_file(
    text: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError) as caught:
        read_state_file(str(path))
    assert str(path) in caught.value.message
    assert message in caught.value.message, caught.value.message
    assert caught.value.hint


def test_missing_empty_folder_and_undecodable_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file or directory"):
        read_state_file(str(tmp_path / "nope.yaml"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="holds no Kubernetes objects"):
        read_state_file(str(tmp_path / "empty"))
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00kind")
    with pytest.raises(ManifestError, match="cannot read"):
        read_state_file(str(tmp_path / "bin.yaml"))


def test_read_cluster_from_a_file_and_its_flag_check(tmp_path: Path) -> None:
    path = tmp_path / "state.yaml"
    path.write_text(yaml.safe_dump(kubectl_list(NODE)))
    assert names(read_cluster(ClusterSource(from_path=str(path)))) == {"Node": ["n1"]}
    with pytest.raises(UsageError, match="--from reads a file"):
        read_cluster(ClusterSource(from_path=str(path), kube_context="prod"))


def test_objects_not_shaped_like_api_output_are_refused_naming_the_field(tmp_path: Path) -> None:
    """A list where the API always writes an object is a typed error, not a crash later."""
    cases = {
        "metadata: [1, 2]": "object 1 (Node): metadata is a list, not an object",
        "metadata: {name: n, labels: [a]}": "object 1 (Node n): metadata.labels is a list",
        "metadata: {name: n}\nstatus: 5": "object 1 (Node n): status is a int, not an object",
        "metadata: {name: n}\nspec: text": "spec is a str, not an object",
    }
    for body, message in cases.items():
        path = tmp_path / "odd.yaml"
        path.write_text(f"apiVersion: v1\nkind: Node\n{body}\n")
        with pytest.raises(ManifestError, match=re.escape(message)):
            read_state_file(str(path))
