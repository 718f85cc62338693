"""Kubeconfig parsing and credentials (``eks_gpu.cluster.kubeconfig``, ``.exec_plugin``, ``.tls``).

Every error must name the kubeconfig field that is wrong and say what to do; exec plugins are
exercised with a tiny fake plugin (a Python script) that prints an ExecCredential.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_gpu.cluster.exec_plugin import clear_cache, exec_credential
from eks_gpu.cluster.kubeconfig import KubeContext, load_kubeconfig
from eks_gpu.cluster.tls import ssl_context
from eks_gpu.errors import EXIT_CLUSTER, ClusterAccessError

Obj = dict[str, Any]
CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n"
SERVER = "https://10.0.0.1:6443"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def config(
    user: Obj | None = None, cluster: Obj | None = None, **extra: Any
) -> Obj:  # a one-context kubeconfig; `extra` replaces top-level keys
    data: Obj = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c1",
                "cluster": cluster
                if cluster is not None
                else {"server": SERVER, "certificate-authority-data": b64(CERT)},
            }
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


def load(tmp_path: Path, data: Obj, context: str | None = None) -> KubeContext:
    return load_kubeconfig(write(tmp_path / "kube" / "config", data), context)


def error_of(tmp_path: Path, data: Obj, context: str | None = None) -> str:
    with pytest.raises(ClusterAccessError) as caught:
        load(tmp_path, data, context)
    assert caught.value.exit_code == EXIT_CLUSTER
    return "\n".join(caught.value.lines())


@pytest.fixture(autouse=True)
def _no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    clear_cache()
    yield
    clear_cache()


# --- files and contexts --------------------------------------------------------------------


def test_token_user_and_inline_ca(tmp_path: Path) -> None:
    ctx = load(tmp_path, config())
    assert (ctx.context, ctx.user, ctx.server, ctx.token) == ("ctx1", "u1", SERVER, "t0k3n")
    assert ctx.ca_pem == CERT
    assert ctx.namespace == "default"
    assert ctx.exec is None and ctx.client_cert_pem is None


def test_context_selection_and_namespace(tmp_path: Path) -> None:
    data = config()
    data["clusters"].append({"name": "c2", "cluster": {"server": "https://other:443/"}})
    data["users"].append({"name": "u2", "user": {"token": "second"}})
    data["contexts"].append(
        {"name": "ctx2", "context": {"cluster": "c2", "user": "u2", "namespace": "ml"}}
    )
    chosen = load(tmp_path, data, "ctx2")
    assert (chosen.server, chosen.token, chosen.namespace) == ("https://other:443", "second", "ml")
    assert load(tmp_path, data).context == "ctx1"  # current-context otherwise


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(), "prod")
    assert "no context named 'prod' (defined: ctx1)" in message
    assert "--context" in message


def test_missing_current_context_says_pass_context(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(**{"current-context": ""}))
    assert "current-context is not set (contexts: ctx1)" in message
    assert "hint: pass --context NAME" in message


def test_context_naming_a_missing_user(tmp_path: Path) -> None:
    data = config()
    data["contexts"][0]["context"]["user"] = "ghost"
    assert "no user named 'ghost' (defined: u1)" in error_of(tmp_path, data)


def test_server_missing(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(cluster={"certificate-authority-data": b64(CERT)}))
    assert "clusters[name=c1].cluster.server: is missing" in message


def test_kubeconfig_env_merges_files_first_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write(tmp_path / "a.yaml", config(user={"token": "from-a"}))
    second_data = config(user={"token": "from-b"}, **{"current-context": "ctx-b"})
    second_data["contexts"].append({"name": "ctx-b", "context": {"cluster": "c1", "user": "u1"}})
    second = write(tmp_path / "b.yaml", second_data)
    missing = tmp_path / "nowhere.yaml"  # skipped, as kubectl does
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, (missing, first, second))))
    ctx = load_kubeconfig()
    assert (ctx.context, ctx.token) == ("ctx1", "from-a")  # a's current-context and user
    assert load_kubeconfig(context="ctx-b").token == "from-a"  # ctx-b only in b; u1 from a


def test_default_path_and_its_absence(tmp_path: Path) -> None:
    with pytest.raises(ClusterAccessError) as caught:
        load_kubeconfig()
    assert "$KUBECONFIG is not set" in caught.value.message
    assert "--kubeconfig" in (caught.value.hint or "")
    write(tmp_path / "home" / ".kube" / "config", config())
    assert load_kubeconfig().server == SERVER


def test_explicit_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ClusterAccessError, match="no such file"):
        load_kubeconfig(tmp_path / "missing")


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken"
    path.write_text("clusters: [\n")
    with pytest.raises(ClusterAccessError, match=f"kubeconfig {path} is not valid YAML"):
        load_kubeconfig(path)


# --- TLS material --------------------------------------------------------------------------


def test_client_cert_inline_data(tmp_path: Path) -> None:
    ctx = load(tmp_path, config(user={"client-certificate-data": b64(CERT),
                                       "client-key-data": b64(KEY)}))  # fmt: skip
    assert (ctx.client_cert_pem, ctx.client_key_pem, ctx.token) == (CERT, KEY, None)


def test_client_cert_files_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "kube" / "pki").mkdir(parents=True)
    (tmp_path / "kube" / "pki" / "me.crt").write_text(CERT)
    (tmp_path / "kube" / "pki" / "me.key").write_text(KEY)
    (tmp_path / "kube" / "ca.crt").write_text(CERT)
    ctx = load(
        tmp_path,
        config(
            user={"client-certificate": "pki/me.crt", "client-key": "pki/me.key"},
            cluster={"server": SERVER, "certificate-authority": "ca.crt"},
        ),
    )
    assert (ctx.client_cert_pem, ctx.client_key_pem, ctx.ca_pem) == (CERT, KEY, CERT)


def test_invalid_base64_names_the_field(tmp_path: Path) -> None:
    message = error_of(
        tmp_path, config(user={"client-certificate-data": b64(CERT), "client-key-data": "%%%"})
    )
    assert "users[name=u1].user.client-key-data: not valid base64" in message
    assert "hint:" in message


def test_base64_that_is_not_pem(tmp_path: Path) -> None:
    cluster = {"server": SERVER, "certificate-authority-data": b64("hello")}
    message = error_of(tmp_path, config(cluster=cluster))
    assert "clusters[name=c1].cluster.certificate-authority-data: does not hold a PEM" in message


def test_certificate_without_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(user={"client-certificate-data": b64(CERT)}))
    assert "users[name=u1].user.client-key[-data]: is missing" in message


def test_file_and_data_both_set(tmp_path: Path) -> None:
    cluster = {
        "server": SERVER,
        "certificate-authority": "ca.crt",
        "certificate-authority-data": b64(CERT),
    }
    message = error_of(tmp_path, config(cluster=cluster))
    assert "both certificate-authority and certificate-authority-data are set" in message


def test_missing_ca_file_names_field_and_path(tmp_path: Path) -> None:
    cluster = {"server": SERVER, "certificate-authority": "/no/ca.crt"}
    message = error_of(tmp_path, config(cluster=cluster))
    assert "clusters[name=c1].cluster.certificate-authority: cannot read /no/ca.crt" in message


def test_insecure_skip_tls_verify(tmp_path: Path) -> None:
    ctx = load(tmp_path, config(cluster={"server": SERVER, "insecure-skip-tls-verify": True}))
    assert ctx.insecure and ctx.ca_pem is None
    tls = ssl_context(ctx)
    assert tls.verify_mode == ssl.CERT_NONE and not tls.check_hostname


def test_insecure_with_a_ca_is_refused(tmp_path: Path) -> None:
    cluster = {
        "server": SERVER,
        "insecure-skip-tls-verify": True,
        "certificate-authority-data": b64(CERT),
    }
    assert "insecure-skip-tls-verify: is set together with" in error_of(
        tmp_path, config(cluster=cluster)
    )


def test_unsupported_auth_provider_says_use_exec(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(user={"auth-provider": {"name": "oidc"}}))
    assert "users[name=u1].user.auth-provider: is not supported; use an exec plugin" in message


@pytest.fixture(scope="module")
def real_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A real self-signed certificate and key (openssl), to load into an SSL context."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    folder = tmp_path_factory.mktemp("pki")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", "1", "-subj", "/CN=eks-gpu-test"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    return (folder / "c.pem").read_text(), (folder / "k.pem").read_text()


def test_real_certificates_load_into_tls(tmp_path: Path, real_cert: tuple[str, str]) -> None:
    cert, key = real_cert
    ctx = load(
        tmp_path,
        config(
            user={"client-certificate-data": b64(cert), "client-key-data": b64(key)},
            cluster={"server": SERVER, "certificate-authority-data": b64(cert)},
        ),
    )
    tls = ssl_context(ctx, ctx.client_cert_pem, ctx.client_key_pem)
    assert tls.verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in tls.get_ca_certs()] == [((("commonName", "eks-gpu-test"),),)]


def test_a_key_that_does_not_match_is_a_clear_error(
    tmp_path: Path, real_cert: tuple[str, str]
) -> None:
    ctx = load(tmp_path, config(cluster={"server": SERVER, "insecure-skip-tls-verify": True}))
    with pytest.raises(ClusterAccessError, match="client certificate and key do not load"):
        ssl_context(ctx, real_cert[0], KEY)


def test_a_ca_that_does_not_load_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClusterAccessError, match="certificate authority of context 'ctx1'"):
        ssl_context(load(tmp_path, config()))  # the fake CA is PEM-shaped, not a certificate


# --- tokens --------------------------------------------------------------------------------


def test_token_file_relative_path(tmp_path: Path) -> None:
    (tmp_path / "kube").mkdir()
    (tmp_path / "kube" / "token").write_text("from-file\n")
    ctx = load(tmp_path, config(user={"tokenFile": "token"}))
    assert ctx.token is None
    assert ctx.token_file == tmp_path / "kube" / "token"


def test_token_wins_over_token_file(tmp_path: Path) -> None:
    ctx = load(tmp_path, config(user={"token": "inline", "tokenFile": "/does/not/matter"}))
    assert (ctx.token, ctx.token_file) == ("inline", None)


def test_missing_token_file(tmp_path: Path) -> None:
    message = error_of(tmp_path, config(user={"tokenFile": "/no/such/token"}))
    assert "users[name=u1].user.tokenFile: /no/such/token does not exist" in message


# --- exec plugins --------------------------------------------------------------------------

PLUGIN = """#!{python}
import json, os, sys
from pathlib import Path
calls = Path(os.environ["PLUGIN_CALLS"])
calls.write_text(calls.read_text() + "x" if calls.exists() else "x")
Path(os.environ["PLUGIN_INFO"]).write_text(os.environ.get("KUBERNETES_EXEC_INFO", ""))
if os.environ.get("PLUGIN_FAIL"):
    print("error: the SSO session has expired", file=sys.stderr)
    sys.exit(255)
status = json.loads(os.environ.get("PLUGIN_STATUS") or "{{}}")
status.setdefault("token", "tok-" + "-".join(sys.argv[1:]))
print(json.dumps({{"kind": "ExecCredential",
                  "apiVersion": os.environ.get("PLUGIN_API", "{api}"), "status": status}}))
"""


def plugin(tmp_path: Path, api: str = "client.authentication.k8s.io/v1beta1") -> Path:
    script = tmp_path / "kube" / "bin" / "fake-get-token"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(PLUGIN.format(python=sys.executable, api=api))
    script.chmod(0o755)
    return script


def exec_user(tmp_path: Path, api: str, **more: Any) -> Obj:
    env = [
        {"name": "PLUGIN_CALLS", "value": str(tmp_path / "calls")},
        {"name": "PLUGIN_INFO", "value": str(tmp_path / "info.json")},
        *more.pop("env", []),
    ]
    return {
        "exec": {
            "apiVersion": api,
            "command": more.pop("command", "bin/fake-get-token"),  # relative to the kubeconfig
            "args": ["eks", "get-token", "--cluster-name", "demo"],
            "env": env,
            **more,
        }
    }


def calls(tmp_path: Path) -> int:
    path = tmp_path / "calls"
    return len(path.read_text()) if path.exists() else 0


@pytest.mark.parametrize(
    "api", ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]
)
def test_exec_plugin_token_is_cached(tmp_path: Path, api: str) -> None:
    plugin(tmp_path, api)
    ctx = load(tmp_path, config(user=exec_user(tmp_path, api, interactiveMode="Never")))
    assert ctx.exec is not None and ctx.exec.command == str(tmp_path / "kube/bin/fake-get-token")
    credential = exec_credential(ctx)
    assert credential.token == "tok-eks-get-token---cluster-name-demo"
    assert credential.expires is None
    assert exec_credential(ctx) is credential and calls(tmp_path) == 1  # no expiry: cached
    info = json.loads((tmp_path / "info.json").read_text())
    assert info == {"apiVersion": api, "kind": "ExecCredential", "spec": {"interactive": False}}
    assert exec_credential(ctx, refresh=True).token == credential.token
    assert calls(tmp_path) == 2


def test_exec_plugin_expired_token_is_fetched_again(tmp_path: Path) -> None:
    api = "client.authentication.k8s.io/v1beta1"
    plugin(tmp_path, api)
    past = {"expirationTimestamp": "2020-01-01T00:00:00Z"}
    user = exec_user(tmp_path, api, env=[{"name": "PLUGIN_STATUS", "value": json.dumps(past)}])
    ctx = load(tmp_path, config(user=user))
    first = exec_credential(ctx)
    assert first.expires is not None and first.expires.year == 2020
    exec_credential(ctx)
    assert calls(tmp_path) == 2


def test_exec_plugin_future_expiry_is_cached(tmp_path: Path) -> None:
    api = "client.authentication.k8s.io/v1"
    plugin(tmp_path, api)
    future = {"expirationTimestamp": "2999-01-01T00:00:00.123456Z"}
    user = exec_user(tmp_path, api, env=[{"name": "PLUGIN_STATUS", "value": json.dumps(future)}])
    ctx = load(tmp_path, config(user=user))
    exec_credential(ctx)
    exec_credential(ctx)
    assert calls(tmp_path) == 1


def test_exec_plugin_client_certificate_and_cluster_info(tmp_path: Path) -> None:
    api = "client.authentication.k8s.io/v1"
    plugin(tmp_path, api)
    status = {"token": "", "clientCertificateData": CERT, "clientKeyData": KEY}
    user = exec_user(
        tmp_path,
        api,
        provideClusterInfo=True,
        env=[{"name": "PLUGIN_STATUS", "value": json.dumps(status)}],
    )
    credential = exec_credential(load(tmp_path, config(user=user)))
    assert (credential.token, credential.client_cert_pem, credential.client_key_pem) == (
        None,
        CERT,
        KEY,
    )
    cluster = json.loads((tmp_path / "info.json").read_text())["spec"]["cluster"]
    assert cluster == {"server": SERVER, "certificate-authority-data": b64(CERT)}


def test_exec_plugin_failure_shows_its_stderr(tmp_path: Path) -> None:
    api = "client.authentication.k8s.io/v1beta1"
    plugin(tmp_path, api)
    user = exec_user(tmp_path, api, env=[{"name": "PLUGIN_FAIL", "value": "1"}])
    with pytest.raises(ClusterAccessError) as caught:
        exec_credential(load(tmp_path, config(user=user)))
    assert "users[name=u1].user.exec" in caught.value.message
    assert "failed (exit 255): error: the SSO session has expired" in caught.value.message


def test_exec_plugin_not_installed_shows_install_hint(tmp_path: Path) -> None:
    api = "client.authentication.k8s.io/v1beta1"
    user = exec_user(tmp_path, api, command="no-such-aws-cli", installHint="install the AWS CLI")
    with pytest.raises(ClusterAccessError) as caught:
        exec_credential(load(tmp_path, config(user=user)))
    assert "credential plugin 'no-such-aws-cli' was not found" in caught.value.message
    assert caught.value.hint == "install the AWS CLI"


def test_exec_plugin_answering_another_version(tmp_path: Path) -> None:
    api = "client.authentication.k8s.io/v1"
    plugin(tmp_path, "client.authentication.k8s.io/v1beta1")
    with pytest.raises(ClusterAccessError, match="answered with apiVersion"):
        exec_credential(load(tmp_path, config(user=exec_user(tmp_path, api))))


@pytest.mark.parametrize(
    ("exec_config", "field"),
    [
        ({"command": "aws"}, "exec.apiVersion: None is not supported"),
        (
            {"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "aws"},
            "exec.apiVersion: 'client.authentication.k8s.io/v1alpha1' is not supported",
        ),
        ({"apiVersion": "client.authentication.k8s.io/v1"}, "exec.command: is missing"),
        (
            {"apiVersion": "client.authentication.k8s.io/v1", "command": "aws", "args": "eks"},
            "exec.args: must be a list of strings",
        ),
        (
            {"apiVersion": "client.authentication.k8s.io/v1", "command": "aws", "env": ["X=1"]},
            "exec.env[0]: must be a mapping with name and value",
        ),
        (
            {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": "aws",
                "interactiveMode": "Sometimes",
            },
            "exec.interactiveMode: 'Sometimes'",
        ),
    ],
)
def test_invalid_exec_config_names_the_field(tmp_path: Path, exec_config: Obj, field: str) -> None:
    message = error_of(tmp_path, config(user={"exec": exec_config}))
    assert f"users[name=u1].user.{field}" in message


def test_exec_together_with_a_token_is_refused(tmp_path: Path) -> None:
    user = {"token": "x", "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "a"}}
    assert "user.exec: is set together with token/tokenFile" in error_of(
        tmp_path, config(user=user)
    )
