"""``eks-gpu dump``: redaction (``manifests/redact.py``), which pods' logs it reads
(``cluster/logs.py``), the writer (atomic; JSON or YAML by suffix), and the whole command
against a scripted local API server (the same one as tests/test_cluster_client.py).

(Against the real API server, with the call count from its audit log:
tests/controlplane/test_dump.py.)
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from builders import make_daemonset, make_node, make_pod, make_workload
from conftest import CliResult
from eks_gpu.cluster.logs import (
    LogTarget,
    log_targets,
    read_logs,
    selector_matches,
)
from eks_gpu.commands.dump import dump_text, format_for, summary, write_atomic, yaml_text
from eks_gpu.errors import ClusterAccessError, UsageError
from eks_gpu.loaders.state_file import read_state_file
from eks_gpu.manifests.cluster_state import (
    ClusterState,
    PodLog,
    image_tag,
    is_device_plugin,
    karpenter_version,
)
from eks_gpu.manifests.redact import REDACTED, redact, redact_all
from eks_gpu.names import ANNOTATION_LAST_APPLIED, LABEL_APP_NAME
from test_cluster_client import Script, _Handler, _Server, ok, status
from test_json_output import validator

Obj = dict[str, Any]
PLANTED = "planted-s3cret-value"
PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
KARPENTER_IMAGE = "public.ecr.aws/karpenter/controller:1.14.1@sha256:" + "a" * 64


# --- redaction ------------------------------------------------------------------------------


def _with_env(obj: Obj, *path: str) -> Obj:
    spec = obj
    for key in path:
        spec = spec[key]
    spec["containers"][0]["env"] = [
        {"name": "TOKEN", "value": PLANTED},
        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
        {"name": "EMPTY", "value": ""},
    ]
    spec["initContainers"] = [
        {"name": "init", "image": "i", "env": [{"name": "A", "value": PLANTED}]}
    ]
    return obj


def test_env_values_are_replaced_names_and_refs_kept() -> None:
    pod = _with_env(make_pod("p"), "spec")
    out, count, _, _ = redact(pod)
    env = out["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "TOKEN", "value": REDACTED},
        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
        {"name": "EMPTY", "value": ""},
    ]
    assert out["spec"]["initContainers"][0]["env"] == [{"name": "A", "value": REDACTED}]
    assert count == 2


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        (make_workload("Deployment", "d"), ("spec", "template", "spec")),
        (make_daemonset("ds"), ("spec", "template", "spec")),
        (make_workload("CronJob", "c"), ("spec", "jobTemplate", "spec", "template", "spec")),
    ],
)
def test_templates_are_redacted_too(obj: Obj, path: tuple[str, ...]) -> None:
    out, count, _, _ = redact(_with_env(obj, *path))
    assert count == 2
    assert PLANTED not in json.dumps(out)


def test_last_applied_and_managed_fields_are_dropped_other_annotations_kept() -> None:
    obj = make_workload("Deployment", "d")
    obj["metadata"]["annotations"] = {
        ANNOTATION_LAST_APPLIED: json.dumps({"v": PLANTED}),
        "keep": "1",
    }
    obj["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {}}]
    out, count, applied, managed = redact(obj)
    assert out["metadata"] == {"name": "d", "namespace": "default", "annotations": {"keep": "1"}}
    assert (count, applied, managed) == (0, True, True)


def test_redaction_copies_never_mutates_and_leaves_clean_objects_alone() -> None:
    dirty = _with_env(make_pod("p"), "spec")
    dirty["metadata"]["managedFields"] = []
    before = copy.deepcopy(dirty)
    clean = make_node("n")
    result = redact_all([dirty, clean])
    assert dirty == before
    assert result.objects[1] is clean
    assert (result.env_values, result.last_applied, result.managed_fields) == (2, 0, 1)
    notes = result.notes()
    assert notes[0].startswith("Secrets and ConfigMaps: never read")
    assert "env[].value: 2 replaced with REDACTED" in notes[1]
    assert "managedFields: dropped from 1 objects" in notes[3]


# --- Karpenter version, selectors, log targets ----------------------------------------------


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        (KARPENTER_IMAGE, "1.14.1"),
        ("public.ecr.aws/karpenter/controller:1.0.8", "1.0.8"),
        ("registry:5000/karpenter/controller", ""),
        ("registry:5000/karpenter/controller:v1.2", "v1.2"),
        ("controller", ""),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def karpenter(name: str = "karpenter", namespace: str = "karpenter", **labels: str) -> Obj:
    selector = {LABEL_APP_NAME: "karpenter"}
    obj = make_workload("Deployment", name, namespace=namespace, selector={"matchLabels": selector})
    obj["metadata"]["labels"] = dict(labels)
    template = obj["spec"]["template"]
    template["metadata"]["labels"] = dict(selector)
    template["spec"]["containers"] = [
        {"name": "sidecar", "image": "busybox:1"},
        {"name": "controller", "image": KARPENTER_IMAGE},
    ]
    return obj


def test_karpenter_version_by_label_or_name() -> None:
    labelled = karpenter("kp", **{LABEL_APP_NAME: "karpenter"})
    assert karpenter_version([make_workload("Deployment", "web"), labelled]) == "1.14.1"
    assert karpenter_version([karpenter("karpenter")]) == "1.14.1"
    assert karpenter_version([karpenter("other")]) == ""


def test_selector_matching() -> None:
    labels = {"app": "a", "tier": "x"}
    assert selector_matches({"matchLabels": {"app": "a"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "b"}}, labels)
    expressions = [
        {"key": "tier", "operator": "In", "values": ["x", "y"]},
        {"key": "zone", "operator": "DoesNotExist"},
        {"key": "app", "operator": "Exists"},
        {"key": "tier", "operator": "NotIn", "values": ["z"]},
    ]
    assert selector_matches({"matchExpressions": expressions}, labels)
    assert not selector_matches(
        {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, labels
    )
    assert not selector_matches({}, labels)  # an empty selector selects nothing here


def plugin(name: str = "nvidia-device-plugin-daemonset", image: str = PLUGIN_IMAGE) -> Obj:
    obj = make_daemonset(name)
    obj["metadata"]["uid"] = f"uid-{name}"
    obj["spec"]["template"]["spec"]["containers"] = [
        {"name": "nvidia-device-plugin-sidecar", "image": image},
        {"name": "nvidia-device-plugin-ctr", "image": image},
    ]
    return obj


def owned_pod(name: str, owner: Obj, node: str | None = "n1", uid: str | None = None) -> Obj:
    pod = make_pod(name, namespace="kube-system", node=node)
    pod["metadata"]["labels"] = {"app": owner["metadata"]["name"]}
    pod["metadata"]["ownerReferences"] = [{
        "kind": "DaemonSet", "name": owner["metadata"]["name"], "controller": True,
        "uid": uid or owner["metadata"]["uid"],
    }]  # fmt: skip
    pod["spec"]["containers"] = copy.deepcopy(owner["spec"]["template"]["spec"]["containers"])
    return pod


def test_device_plugin_by_name_or_image() -> None:
    assert is_device_plugin(plugin())
    assert is_device_plugin(plugin("gpu-agent", image="my.registry/k8s-device-plugin:v1"))
    assert is_device_plugin(plugin("nvidia-device-plugin", image="mirror/dp:1"))
    assert not is_device_plugin(make_daemonset("aws-node"))


def test_log_targets_from_the_listed_objects() -> None:
    ds, other = plugin(), make_daemonset("aws-node")
    other["metadata"]["uid"] = "uid-other"
    kp = karpenter(**{LABEL_APP_NAME: "karpenter"})
    controller = make_pod("karpenter-abc", namespace="karpenter", node="n1")
    controller["metadata"]["labels"] = {LABEL_APP_NAME: "karpenter"}
    controller["spec"]["containers"] = copy.deepcopy(kp["spec"]["template"]["spec"]["containers"])
    elsewhere = copy.deepcopy(controller)
    elsewhere["metadata"].update(name="karpenter-copy", namespace="default")
    pending = owned_pod("plugin-pending", ds, node=None)
    stale = owned_pod("plugin-old-uid", ds, uid="uid-of-a-deleted-daemonset")
    pods = [
        owned_pod("plugin-1", ds),
        owned_pod("aws-node-1", other),
        pending,
        stale,
        controller,
        elsewhere,
        make_pod("app"),
    ]
    state = ClusterState({"DaemonSet": (ds, other), "Deployment": (kp,), "Pod": tuple(pods)})
    targets = log_targets(state)
    assert [(t.namespace, t.pod, t.container, bool(t.skip)) for t in targets] == [
        ("karpenter", "karpenter-abc", "controller", False),
        ("kube-system", "plugin-1", "nvidia-device-plugin-ctr", False),
        ("kube-system", "plugin-pending", "nvidia-device-plugin-ctr", True),
    ]
    assert targets[0].owner == "Deployment/karpenter/karpenter"
    assert targets[1].key == "PodLog/kube-system/plugin-1"
    assert targets[1].path == "/api/v1/namespaces/kube-system/pods/plugin-1/log"


class Logs:
    """A log source that answers from a dict and refuses the rest as the API server does."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.calls: list[tuple[str, dict[str, str]]] = []

    def text(self, path: str, **query: str) -> str:
        self.calls.append((path, query))
        if path in self.texts:
            return self.texts[path]
        raise ClusterAccessError("forbidden: pods/log", code=403)


def test_read_logs_records_what_it_could_not_read() -> None:
    ok_target = LogTarget("kube-system", "a", "ctr", "DaemonSet/kube-system/d")
    refused = LogTarget("kube-system", "b", "ctr", "DaemonSet/kube-system/d")
    skipped = LogTarget("kube-system", "c", "ctr", "DaemonSet/kube-system/d", "not scheduled")
    source = Logs({ok_target.path: "line 1\nline 2\n"})
    logs, missing = read_logs(source, [ok_target, refused, skipped], tail_lines=7)
    assert logs == (PodLog("kube-system", "a", "ctr", "line 1\nline 2\n"),)
    assert missing == {
        "PodLog/kube-system/b": "ctr: forbidden: pods/log",
        "PodLog/kube-system/c": "ctr: not scheduled",
    }
    assert [q for _, q in source.calls] == [{"container": "ctr", "tailLines": "7"}] * 2


# --- the writer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "fmt", "chosen"),
    [
        ("d.json", None, "json"),
        ("d.JSON", None, "json"),
        ("d.yaml", None, "yaml"),
        ("dump", None, "yaml"),
        (None, None, "yaml"),
        (None, "json", "json"),
        ("d.json", "yaml", "yaml"),
    ],
)
def test_format_by_suffix_unless_told(output: str | None, fmt: str | None, chosen: str) -> None:
    assert format_for(Path(output) if output else None, fmt) == chosen


def _state() -> ClusterState:
    node, pod = make_node("n1"), make_pod("p", node="n1")
    log = PodLog("kube-system", "plugin", "ctr", "I1201 started\nwarning: x\n")
    return ClusterState(
        {"Node": (node,), "Pod": (pod,)},
        (log,),
        frozenset({"Node", "Pod"}),
        {"NodeOverlay": "the NodeOverlay CRD is not installed"},
        "context test",
        "2026-12-01T00:00:00Z",
        "1.14.1",
        ("Secrets and ConfigMaps: never read",),
    )


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_dump_text_reads_back_the_same_state(fmt: str, tmp_path: Path) -> None:
    state = _state()
    path = tmp_path / f"dump.{fmt}"
    write_atomic(path, dump_text(state.to_list(), fmt))
    back = read_state_file(str(path))
    assert back == ClusterState(
        {"Node": state.of("Node"), "Pod": state.of("Pod")},
        state.logs,
        state.read_kinds,
        state.missing,
        state.source,
        state.captured_at,
        state.karpenter_version,
        state.redacted,
    )
    document = json.loads(path.read_text()) if fmt == "json" else yaml.safe_load(path.read_text())
    assert not list(validator("List").iter_errors(document))  # a kind: List as kubectl prints


def test_yaml_is_what_render_prints_for_logs_and_odd_strings() -> None:
    """The libyaml emitter the dump uses prints byte for byte what render's YAML does."""
    from eks_gpu.render.serialize import to_yaml

    state = _state()
    odd = PodLog("ns", "p", "c", "tab\there \ntrailing space \nünïcode: 'q' \"d\" # x\n\n")
    document = ClusterState(state.objects, (*state.logs, odd)).to_list()
    document["items"].append({"kind": "X", "metadata": {"name": "yes"}, "v": ["on", "1.0", ""]})
    assert yaml_text(document) == to_yaml(document)


def test_write_atomic_replaces_a_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "dump.yaml"
    path.write_text("old")
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.yaml"]
    assert (path.stat().st_mode & 0o777) == 0o600


def test_write_atomic_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dump.yaml"
    path.write_text("old")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(UsageError, match="No space left"):
        write_atomic(path, "new " * 1000)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.yaml"]


def test_write_atomic_into_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write"):
        write_atomic(tmp_path / "no" / "dump.json", "{}")


def test_summary_line() -> None:
    line = summary(_state(), Path("d.json"))
    assert line == (
        "dump: 1 Node, 1 Pod, 1 PodLog; not read: NodeOverlay (the NodeOverlay CRD is not "
        "installed); wrote d.json"
    )


# --- the command against a scripted API server ----------------------------------------------


@pytest.fixture
def api() -> Iterator[tuple[str, Script]]:
    """tests/test_cluster_client.py's scripted API server."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.script = Script()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.script
    httpd.shutdown()
    httpd.server_close()


def _kubeconfig(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "c", "cluster": {"server": url}}],
        "users": [{"name": "me", "user": {"token": "t"}}],
        "contexts": [{"name": "test", "context": {"cluster": "c", "user": "me"}}],
    }))  # fmt: skip
    return path


def _page(kind: str, api_version: str, *items: Obj) -> Any:
    body = [{k: v for k, v in i.items() if k not in ("apiVersion", "kind")} for i in items]
    return ok({"apiVersion": api_version, "kind": f"{kind}List", "metadata": {}, "items": body})


def _cluster(script: Script) -> None:
    ds = plugin()
    ds["metadata"]["annotations"] = {ANNOTATION_LAST_APPLIED: json.dumps({"env": PLANTED})}
    ds["spec"]["template"]["spec"]["containers"][1]["env"] = [{"name": "T", "value": PLANTED}]
    pod = owned_pod("plugin-1", ds)
    pod["spec"]["containers"][1]["env"] = [{"name": "T", "value": PLANTED}]
    pod["metadata"]["managedFields"] = [{"manager": PLANTED}]
    kp = karpenter(**{LABEL_APP_NAME: "karpenter"})
    controller = make_pod("karpenter-abc", namespace="karpenter", node="n1")
    controller["metadata"]["labels"] = {LABEL_APP_NAME: "karpenter"}
    controller["spec"]["containers"] = copy.deepcopy(kp["spec"]["template"]["spec"]["containers"])
    script.replies["/api/v1/nodes"] = [_page("Node", "v1", make_node("n1"))]
    script.replies["/api/v1/pods"] = [_page("Pod", "v1", pod, controller)]
    script.replies["/apis/apps/v1/daemonsets"] = [_page("DaemonSet", "apps/v1", ds)]
    script.replies["/apis/apps/v1/deployments"] = [_page("Deployment", "apps/v1", kp)]
    script.replies["/api/v1/namespaces/kube-system/pods/plugin-1/log"] = [ok("I1201 plugin up\n")]
    forbidden = status(403, "Forbidden", 'pods "karpenter-abc" is forbidden', kind="pods")
    script.replies["/api/v1/namespaces/karpenter/pods/karpenter-abc/log"] = [(403, forbidden, {})]


def test_dump_command_end_to_end(run_cli: Any, api: tuple[str, Script], tmp_path: Path) -> None:
    url, script = api
    _cluster(script)
    out = tmp_path / "dump.json"
    result: CliResult = run_cli(
        "dump", "-o", str(out), "--kubeconfig", str(_kubeconfig(tmp_path, url))
    )
    assert result.code == 0, result.err
    assert result.out == ""
    assert "  Pod: 2" in result.err and "  NodePool: not read (the Karpenter v1 CRDs" in result.err
    assert result.err.rstrip().endswith(f"wrote {out}")
    text = out.read_text()
    assert PLANTED not in text
    assert text.count("\n") == 1  # compact JSON: the C encoder
    state = read_state_file(str(out))
    assert [log.pod for log in state.logs] == ["plugin-1"]
    assert state.logs[0].text == "I1201 plugin up\n"
    assert "forbidden" in state.missing["PodLog/karpenter/karpenter-abc"]
    assert state.karpenter_version == "1.14.1"
    assert {"NodePool", "EC2NodeClass", "NodeClaim", "NodeOverlay", "NodeMetrics"} <= set(
        state.missing
    )
    assert state.redacted[0] == "Secrets and ConfigMaps: never read"
    lists = [(path, q) for path, q, _ in script.seen if not path.endswith("/log")]
    assert len(lists) == len({path for path, _ in lists}) == 11  # one LIST per kind
    pod_query = next(q for path, q in lists if path == "/api/v1/pods")
    assert pod_query["fieldSelector"] == "status.phase!=Succeeded,status.phase!=Failed"
    logs = [q for path, q, _ in script.seen if path.endswith("/log")]
    assert logs == [
        {"container": "controller", "tailLines": "200"},
        {"container": "nvidia-device-plugin-ctr", "tailLines": "200"},
    ]


def test_dump_to_stdout_no_logs(run_cli: Any, api: tuple[str, Script], tmp_path: Path) -> None:
    url, script = api
    _cluster(script)
    kubeconfig = str(_kubeconfig(tmp_path, url))
    result = run_cli("dump", "--kubeconfig", kubeconfig, "--no-logs", "--format", "json", "-q")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["kind"] == "List"
    header = document["items"][0]
    assert header["kind"] == "ClusterDump"
    assert "log tails: not read (--no-logs)" in header["redacted"]
    assert not [p for p, _, _ in script.seen if p.endswith("/log")]
    assert result.err == ""  # -q: no progress, no summary (docs/cli.md "--quiet")


def test_dump_required_kind_refused_is_exit_3(
    run_cli: Any, api: tuple[str, Script], tmp_path: Path
) -> None:
    url, script = api
    _cluster(script)
    refused = status(403, "Forbidden", 'pods is forbidden: User "me" cannot list', kind="pods")
    script.replies["/api/v1/pods"] = [(403, refused, {})]
    out = tmp_path / "dump.yaml"
    result = run_cli("dump", "-o", str(out), "--kubeconfig", str(_kubeconfig(tmp_path, url)))
    assert result.code == 3
    assert "forbidden" in result.err and "hint:" in result.err and "Traceback" not in result.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-o", "json"), "-o names the file to write"),
        (("--tail-lines", "0"), "--tail-lines"),
        (("-o", "no-such-folder/dump.json"), "does not exist"),
    ],
)
def test_dump_bad_flags_are_usage_errors(
    run_cli: Any,
    tmp_path: Path,
    args: tuple[str, ...],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(
        "dump", "--kubeconfig", str(_kubeconfig(tmp_path, "http://127.0.0.1:9")), *args
    )
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err


def test_a_dump_is_simulate_from_input(run_cli: Any, tmp_path: Path) -> None:
    """``simulate --from`` reads a dump: its Nodes and Pods are used (the pending pod lands on
    the existing node's free GPU), the header, logs and other kinds are ignored with a note."""
    from eks_gpu.loaders.snapshot_file import read_snapshot

    node = make_node("gpu-1", gpus=2)
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "default"}}
    pods = (make_pod("busy", node="gpu-1", gpus=1), make_pod("trainer", gpus=1))
    state = ClusterState(
        {"Node": (node,), "Pod": pods, "Event": (event,)},
        (PodLog("kube-system", "plugin", "ctr", "log\n"),),
        frozenset({"Node", "Pod", "Event"}),
    )
    for fmt in ("json", "yaml"):
        path = tmp_path / f"dump.{fmt}"
        write_atomic(path, dump_text(state.to_list(), fmt))
        snapshot = read_snapshot(str(path))
        assert [n.name for n in snapshot.nodes] == ["gpu-1"]
        assert [p.name for p in snapshot.pending] == ["trainer"]
        assert "ignored 1 ClusterDump, 1 Event, 1 PodLog" in " ".join(snapshot.notes)
        result = run_cli("simulate", "--from", str(path), "--cluster-name", "demo", "-o", "json")
        assert result.code == 0, result.err
        report = json.loads(result.out)
        assert report["nodeclaims"] == []
        assert "default/trainer" in json.dumps(report["existing"]), report["existing"]
