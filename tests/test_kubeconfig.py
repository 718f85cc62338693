"""Which kubeconfig context is used, and what a broken one says (``eks_gpu.cluster.config``).

Parsing, TLS and exec plugins are lightkube's; these tests pin our part: kubectl's file order
and merge, context selection, and errors that name the file, context or field.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.cluster.client import Client, connect
from eks_gpu.cluster.config import load_config
from eks_gpu.errors import EXIT_CLUSTER, ClusterAccessError

Obj = dict[str, Any]
CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
SERVER = "https://10.0.0.1:6443"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def config(user: Obj | None = None, cluster: Obj | None = None, **extra: Any) -> Obj:
    """A one-context kubeconfig; ``extra`` replaces top-level keys."""
    data: Obj = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c1", "cluster": cluster if cluster is not None else {"server": SERVER}}
        ],
        "users": [{"name": "u1", "user": user if user is not None else {"token": "t0k3n"}}],
        "contexts": [{"name": "ctx1", "context": {"cluster": "c1", "user": "u1"}}],
        "current-context": "ctx1",
    }
    data.update(extra)
    return data


def write(path: Path, data: Obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def error_of(tmp_path: Path, data: Obj, context: str | None = None) -> str:
    with pytest.raises(ClusterAccessError) as caught:
        load_config(write(tmp_path / "kube" / "config", data), context)
    assert caught.value.exit_code == EXIT_CLUSTER
    return "\n".join(caught.value.lines())


@pytest.fixture(autouse=True)
def _no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield


def test_token_user_context_and_default_namespace(tmp_path: Path) -> None:
    client = connect(write(tmp_path / "config", config()))
    assert isinstance(client, Client)
    assert (client.context, client.server, client.namespace) == ("ctx1", SERVER, "default")
    assert client.config.user is not None and client.config.user.token == "t0k3n"


def test_context_selection_and_namespace(tmp_path: Path) -> None:
    data = config()
    data["clusters"].append({"name": "c2", "cluster": {"server": "https://other:443/"}})
    data["users"].append({"name": "u2", "user": {"token": "second"}})
    data["contexts"].append(
        {"name": "ctx2", "context": {"cluster": "c2", "user": "u2", "namespace": "ml"}}
    )
    path = write(tmp_path / "config", data)
    chosen = connect(path, "ctx2")
    assert (chosen.server, chosen.namespace, chosen.target.user) == (
        "https://other:443",
        "ml",
        "u2",
    )
    assert connect(path).context == "ctx1"  # current-context otherwise


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(), "prod")
    assert "context 'prod' is not in " in message
    assert "hint: pass --context with one of: ctx1" in message


def test_missing_current_context_says_pass_context(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(**{"current-context": ""}))
    assert "has no current-context" in message and "hint: pass --context, one of: ctx1" in message


def test_context_naming_a_missing_user(tmp_path: Path) -> None:
    data = config()
    data["contexts"][0]["context"]["user"] = "ghost"
    assert "names user 'ghost', which is not defined" in error_of(tmp_path, data)


def test_server_missing(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(cluster={"certificate-authority-data": b64(CERT)}))
    assert "clusters[name=c1].cluster.server: is missing" in message


def test_invalid_base64_names_the_field(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(user={"client-certificate-data": "!!"}))
    assert "users[name=u1].user.client-certificate-data: not valid base64" in message


def test_kubeconfig_env_merges_files_first_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write(tmp_path / "a.yaml", config(user={"token": "from-a"}))
    second_data = config(user={"token": "from-b"}, **{"current-context": "ctx-b"})
    second_data["contexts"].append({"name": "ctx-b", "context": {"cluster": "c1", "user": "u1"}})
    second = write(tmp_path / "b.yaml", second_data)
    missing = tmp_path / "nowhere.yaml"  # skipped, as kubectl does
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, (missing, first, second))))
    chosen = load_config()
    assert chosen.context_name == "ctx1" and chosen.user is not None
    assert chosen.user.token == "from-a"  # a's current-context and user
    other = load_config(context="ctx-b")  # ctx-b only in b; u1 from a
    assert other.user is not None and other.user.token == "from-a"


def test_default_path_and_its_absence(tmp_path: Path) -> None:
    with pytest.raises(ClusterAccessError) as caught:
        load_config()
    assert caught.value.message.startswith("no kubeconfig: $KUBECONFIG is not set and ")
    assert "--kubeconfig" in (caught.value.hint or "")
    write(tmp_path / "home" / ".kube" / "config", config())
    assert load_config().cluster.server == SERVER


def test_explicit_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ClusterAccessError, match="No such file"):
        load_config(tmp_path / "missing")


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken"
    path.write_text("clusters: [\n")
    with pytest.raises(ClusterAccessError, match=f"{path}: not valid YAML"):
        load_config(path)


def test_a_ca_file_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    data = config(cluster={"server": SERVER, "certificate-authority": "nowhere/ca.crt"})
    with pytest.raises(ClusterAccessError) as caught:
        connect(write(tmp_path / "config", data))
    assert "context 'ctx1': cannot set up TLS or credentials" in caught.value.message
    assert "certificate-authority" in (caught.value.hint or "")


def test_in_cluster_service_account_when_no_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eks_gpu.cluster import config as config_module

    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("pod-token")
    (account / "namespace").write_text("karpenter")
    monkeypatch.setattr(config_module, "SERVICE_ACCOUNT", account)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.100.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    chosen = load_config()
    assert (chosen.cluster.server, chosen.namespace) == ("https://10.100.0.1:443", "karpenter")
