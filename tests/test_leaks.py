"""Nothing leaks: planted secret values never reach any output.

Against the scripted API server of test_cluster_client.py: a kubeconfig carrying a token (and
a server that answers 401 to it, or serves objects with an env value and an EC2NodeClass's
userData planted in them); every cluster command runs with and without ``--debug`` and its
stdout and stderr are searched for the planted values. Plus the redaction of userData in
``dump`` and its header. The same on the real API server, with a real Secret and a real
token: tests/controlplane/test_rbac.py.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from builders import make_daemonset, make_nodeclass
from eks_gpu.cluster.snapshot import SOURCES
from eks_gpu.manifests.redact import REDACTED, redact_all
from test_cluster_client import Reply, Script, status

RunCli = Any
Obj = dict[str, Any]
TOKEN = "planted-token-3f9c2a"
CLIENT_KEY = "planted-client-key-77d1"
ENV_VALUE = "planted-env-value-b81e"
USER_DATA = "planted-userdata-e02c"
SECRETS = (TOKEN, CLIENT_KEY, ENV_VALUE, USER_DATA)


def kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig whose user holds a token and (never used over http) a client key."""
    key = base64.b64encode(CLIENT_KEY.encode()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "me", "user": {"token": TOKEN, "client-key-data": key}}],
        "contexts": [{"name": "test", "context": {"cluster": "c", "user": "me"}}],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(config))
    return path


class Refusing(Script):
    """Every request answered 401, as the API server answers a revoked token."""

    def next(self, path: str) -> Reply:
        self.seen.append((path, {}, ""))
        return (401, status(401, "Unauthorized", "Unauthorized"), {})


def planted_objects() -> dict[str, list[Obj]]:
    """A DaemonSet with a literal env value, an EC2NodeClass with userData."""
    daemonset = make_daemonset("agent")
    container = {"name": "agent", "image": "agent:1", "env": [{"name": "K", "value": ENV_VALUE}]}
    daemonset["spec"]["template"] = {"spec": {"containers": [container]}}
    nodeclass = make_nodeclass("gpu")
    nodeclass["spec"]["userData"] = f"#!/bin/bash\nexport JOIN_TOKEN={USER_DATA}\n"
    return {"DaemonSet": [daemonset], "EC2NodeClass": [nodeclass]}


class Serving(Script):
    """Each LIST of ``cluster/snapshot.SOURCES`` answered, the planted objects in theirs."""

    def __init__(self) -> None:
        super().__init__()
        planted = planted_objects()
        for source in SOURCES:
            items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")}
                     for o in planted.get(source.kind, [])]  # fmt: skip
            api_version = source.path.split("/apis/")[-1].rsplit("/", 1)[0]
            if source.path.startswith("/api/"):
                api_version = "v1"
            page = {"apiVersion": api_version, "kind": f"{source.kind}List", "items": items}
            self.replies[source.path] = [(200, page, {})]


def _serve(script: Script) -> Iterator[str]:
    import threading

    from test_cluster_client import _Handler, _Server

    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.script = script
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def refusing() -> Iterator[str]:
    yield from _serve(Refusing())


@pytest.fixture
def serving() -> Iterator[str]:
    yield from _serve(Serving())


def cluster_commands(config: Path) -> list[tuple[str, ...]]:
    return [
        ("status",),
        ("status", "-o", "json"),
        ("doctor",),
        ("doctor", "-o", "json"),
        ("dump",),
        ("dump", "--format", "json"),
        ("diff", "-c", str(config)),
        ("apply", "-c", str(config), "--dry-run", "client"),
        ("verify", "-c", str(config), "--only", "objects", "--timeout", "10s"),
        ("validate", "-c", str(config), "--from-cluster"),
    ]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "eks-gpu.yaml"
    path.write_text(yaml.safe_dump({"clusterName": "demo"}))
    return path


def outputs(run_cli: RunCli, kubeconfig_path: Path, config: Path) -> list[tuple[str, str]]:
    """(command line, stdout + stderr) of every cluster command, with and without --debug."""
    seen = []
    for args in cluster_commands(config):
        for debug in ((), ("--debug",)):
            argv = (*debug, *args, "--kubeconfig", str(kubeconfig_path))
            try:
                result = run_cli(*argv)
            except Exception as error:  # --debug re-raises unexpected errors: search them too
                seen.append((" ".join(argv), f"{type(error).__name__}: {error}"))
                continue
            seen.append((" ".join(argv), result.out + result.err))
    return seen


def leaks(seen: list[tuple[str, str]]) -> list[str]:
    return [f"{line}: {s}" for line, text in seen for s in SECRETS if s in text]


def test_a_rejected_token_is_never_printed(
    run_cli: RunCli, refusing: str, tmp_path: Path, config: Path
) -> None:
    seen = outputs(run_cli, kubeconfig(tmp_path / "kubeconfig", refusing), config)
    assert leaks(seen) == []
    refused = [line for line, text in seen if "401 Unauthorized" in text]
    assert len(refused) == len(seen), [line for line, text in seen if "401" not in text]


def test_read_secrets_are_never_printed(
    run_cli: RunCli, serving: str, tmp_path: Path, config: Path
) -> None:
    seen = outputs(run_cli, kubeconfig(tmp_path / "kubeconfig", serving), config)
    assert leaks(seen) == []
    dumped = next(text for line, text in seen if line.startswith("dump --kubeconfig"))
    assert dumped.count(REDACTED) >= 2  # the env value and the userData were read, redacted


def test_the_test_can_fail() -> None:
    """The search finds a planted value where one is printed."""
    assert leaks([("x", f"token {TOKEN}")]) == [f"x: {TOKEN}"]


# --- dump's redaction of userData ------------------------------------------------------------


def test_userdata_is_redacted_and_counted() -> None:
    nodeclass = make_nodeclass("gpu")
    nodeclass["spec"]["userData"] = f"export T={USER_DATA}"
    empty = make_nodeclass("plain")
    result = redact_all([nodeclass, empty])
    assert result.objects[0]["spec"]["userData"] == REDACTED
    assert nodeclass["spec"]["userData"] == f"export T={USER_DATA}"  # the input is not modified
    assert result.objects[1] is empty
    assert result.user_data == 1
    assert f"EC2NodeClass spec.userData: 1 replaced with {REDACTED}" in result.notes()


def test_userdata_of_other_kinds_is_left_alone() -> None:
    other = {"apiVersion": "v1", "kind": "ConfigMap", "spec": {"userData": "x"}}
    assert redact_all([other]).objects[0] is other


def test_dump_header_says_what_was_redacted(run_cli: RunCli, serving: str, tmp_path: Path) -> None:
    out = tmp_path / "dump.yaml"
    result = run_cli(
        "dump", "-o", str(out), "--kubeconfig", str(kubeconfig(tmp_path / "k", serving))
    )
    assert result.code == 0, result.err
    header = yaml.safe_load(out.read_text())["items"][0]
    assert header["kind"] == "ClusterDump"
    assert header["redacted"][0].startswith("Secrets and ConfigMaps: never read")
    assert f"EC2NodeClass spec.userData: 1 replaced with {REDACTED}" in header["redacted"]
    assert any(n.startswith("env[].value: 1 replaced") for n in header["redacted"])
    assert USER_DATA not in out.read_text() and ENV_VALUE not in out.read_text()


def test_a_malformed_kubeconfig_is_located_not_quoted(run_cli: RunCli, tmp_path: Path) -> None:
    """PyYAML's message quotes the offending line, which in a kubeconfig holds the token."""
    path = tmp_path / "kubeconfig"
    path.write_text(f"users:\n- name: me\n  user:\n    token: {TOKEN}: oops\n")
    for debug in ((), ("--debug",)):
        result = run_cli(*debug, "status", "--kubeconfig", str(path))
        assert result.code == 3, result.err
        assert TOKEN not in result.out + result.err
        assert "not valid YAML: mapping values are not allowed here at line 4, column" in result.err
