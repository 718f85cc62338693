"""``eks_gpu.cluster.client`` and ``.reader`` against a scripted local HTTP server: pagination,
the one error translation (401/403/404/other), bounded retries, credentials per request.

(The same client against the real API server and the fault proxy: tests/controlplane/
test_validate_from_cluster.py.)
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from eks_gpu.cluster.client import Client, Failure, Target, rbac_rule, resource_of, translate
from eks_gpu.cluster.reader import installed_crds, live_lookup, live_object
from eks_gpu.errors import ClusterAccessError, NotFoundError

Obj = dict[str, Any]
Reply = tuple[int, Any, dict[str, str]] | str  # (code, JSON body or raw text, headers) | "drop"


@dataclass
class Script:
    """Replies by path (a queue each; the last one repeats), and every request seen."""

    replies: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str], str]] = field(default_factory=list)  # path, query, auth

    def next(self, path: str) -> Reply:
        queue = self.replies.get(path) or [(404, status(404, "NotFound", f"{path} not found"), {})]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def status(code: int, reason: str, message: str, **details: Any) -> Obj:
    body: Obj = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
    body.update(reason=reason, message=message)
    if details:
        body["details"] = details
    return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.server.script.seen.append((url.path, query, self.headers.get("Authorization", "")))
        reply = self.server.script.next(url.path + (f"?{url.query}" if "continue" in query else ""))
        if reply == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        assert not isinstance(reply, str)
        code, body, headers = reply
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.script = Script()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.script
    httpd.shutdown()
    httpd.server_close()


def client(url: str, sleeps: list[float] | None = None, **user: Any) -> Client:
    """A client through lightkube's kubeconfig model: context "test", user "me" (``user``'s
    fields as kubeconfig spells them: ``token``, ``tokenFile``, ``exec``)."""
    from lightkube.config.kubeconfig import KubeConfig

    config = KubeConfig.from_dict(
        {
            "clusters": [{"name": "c", "cluster": {"server": url}}],
            "users": [{"name": "me", "user": user}],
            "contexts": [{"name": "test", "context": {"cluster": "c", "user": "me"}}],
        }
    ).get("test")
    assert config is not None
    return Client(config, sleep=(sleeps if sleeps is not None else []).append)


def ok(body: Any, **headers: str) -> Reply:
    return (200, body, headers)


def test_get_sends_the_token(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies["/version"] = [ok({"major": "1"})]
    assert client(url, token="s3cret").get("/version") == {"major": "1"}
    assert script.seen == [("/version", {}, "Bearer s3cret")]


def test_token_file_is_read_again_after_a_401(server: tuple[str, Script], tmp_path: Path) -> None:
    """A rotated token file (service-account tokens) is picked up when the old token is refused."""
    url, script = server
    expired: Reply = (401, status(401, "Unauthorized", "expired"), {})
    script.replies["/version"] = [ok({}), expired, ok({})]
    token = tmp_path / "token"
    token.write_text("first\n")
    api = client(url, tokenFile=str(token))
    api.get("/version")
    token.write_text("rotated")
    api.get("/version")
    assert [auth for _, _, auth in script.seen] == [
        "Bearer first",
        "Bearer first",
        "Bearer rotated",
    ]


def test_list_follows_continue_and_fills_in_kind(server: tuple[str, Script]) -> None:
    url, script = server
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    page = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinitionList"}
    script.replies[path] = [ok({**page, "metadata": {"continue": "p2"}, "items": [{"n": 1}]})]
    script.replies[f"{path}?limit=2&continue=p2"] = [ok({**page, "items": [{"n": 2}]})]
    items = client(url).list(path, page_size=2)
    assert items == [
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "n": n}
        for n in (1, 2)
    ]
    assert [query for _, query, _ in script.seen] == [
        {"limit": "2"},
        {"limit": "2", "continue": "p2"},
    ]


def test_429_waits_for_retry_after_then_succeeds(server: tuple[str, Script]) -> None:
    url, script = server
    busy = status(429, "TooManyRequests", "slow down", retryAfterSeconds=7)
    script.replies["/version"] = [(429, busy, {"Retry-After": "2"}), ok({"major": "1"})]
    sleeps: list[float] = []
    assert client(url, sleeps).get("/version") == {"major": "1"}
    assert sleeps == [2.0]  # the header wins over the Status' retryAfterSeconds


def test_429_without_header_uses_the_status_details(server: tuple[str, Script]) -> None:
    url, script = server
    busy = status(429, "TooManyRequests", "slow down", retryAfterSeconds=3)
    script.replies["/version"] = [(429, busy, {}), ok({})]
    sleeps: list[float] = []
    client(url, sleeps).get("/version")
    assert sleeps == [3.0]


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_and_drops_are_retried_with_backoff(
    server: tuple[str, Script], code: int
) -> None:
    url, script = server
    failing: Reply = (code, status(code, "InternalError", "oops"), {})
    script.replies["/version"] = [failing, "drop", ok({"major": "1"})]
    sleeps: list[float] = []
    assert client(url, sleeps).get("/version") == {"major": "1"}
    assert len(sleeps) == 2 and 0.3 < sleeps[0] < sleeps[1] < 1.5


def test_gives_up_after_four_attempts_keeping_the_status(server: tuple[str, Script]) -> None:
    url, script = server
    unavailable = status(503, "ServiceUnavailable", "etcd is sad")
    script.replies["/version"] = [(503, unavailable, {})]
    sleeps: list[float] = []
    with pytest.raises(ClusterAccessError) as caught:
        client(url, sleeps).get("/version")
    error = caught.value
    assert len(script.seen) == 4 and len(sleeps) == 3
    assert error.message == f"{url} answered 503 ServiceUnavailable after 4 attempts: etcd is sad"
    assert (error.code, error.reason, error.status) == (503, "ServiceUnavailable", unavailable)
    assert error.hint and "try again" in error.hint


def test_dropped_every_time(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies["/version"] = ["drop"]
    with pytest.raises(ClusterAccessError, match="closed the connection without an answer after 4"):
        client(url).get("/version")


def test_401_credentials_rejected_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies["/version"] = [(401, status(401, "Unauthorized", "Unauthorized"), {})]
    with pytest.raises(ClusterAccessError) as caught:
        client(url, token="old").get("/version")
    assert caught.value.message.startswith(f"credentials rejected by {url} (401 Unauthorized)")
    assert "kubeconfig user 'me'" in (caught.value.hint or "")
    assert len(script.seen) == 1


def test_403_names_the_resource_and_what_is_needed(server: tuple[str, Script]) -> None:
    url, script = server
    path = "/apis/karpenter.sh/v1/nodepools/gpu"
    denied = status(
        403,
        "Forbidden",
        'nodepools.karpenter.sh "gpu" is forbidden: User "me" cannot get resource "nodepools"',
        group="karpenter.sh",
        kind="nodepools",
        name="gpu",
    )
    script.replies[path] = [(403, denied, {})]
    with pytest.raises(ClusterAccessError) as caught:
        client(url).get(path)
    assert caught.value.message == (
        f"forbidden: {denied['message']}; your user needs get/list on nodepools.karpenter.sh"
    )
    assert caught.value.reason == "Forbidden"
    rule = '{apiGroups: ["karpenter.sh"], resources: ["nodepools"], verbs: ["get", "list"]}'
    assert rule in (caught.value.hint or "")


def test_rbac_rule_of_a_core_resource() -> None:
    assert rbac_rule("pods", "patch") == '{apiGroups: [""], resources: ["pods"], verbs: ["patch"]}'


def test_404_on_an_unserved_karpenter_kind_says_the_crds_are_missing(
    server: tuple[str, Script],
) -> None:
    url, script = server
    path = "/apis/karpenter.sh/v1/nodepools"
    script.replies[path] = [(404, "404 page not found", {"Content-Type": "text/plain"})]
    with pytest.raises(NotFoundError) as caught:
        client(url).list(path)
    assert caught.value.message == (
        "the cluster does not serve nodepools.karpenter.sh: the Karpenter v1 CRDs are not installed"
    )


def test_409_names_the_other_field_manager() -> None:
    conflict = status(
        409,
        "Conflict",
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using karpenter.sh/v1: '
        ".spec.limits.nvidia.com/gpu",
        causes=[{"reason": "FieldManagerConflict", "message": 'conflict with "kubectl-edit"'}],
    )
    failure = Failure("/apis/karpenter.sh/v1/nodepools/gpu", 409, conflict, method="PATCH")
    error = translate(failure, Target("test", "me", "https://k"))
    assert error.message.startswith(
        'conflict on nodepools.karpenter.sh: fields are owned by "kubectl-edit"'
    )
    assert error.code == 409 and '"kubectl-edit"' in (error.hint or "")


def test_403_on_a_write_names_that_verb() -> None:
    denied = status(403, "Forbidden", "no")
    failure = Failure("/apis/karpenter.sh/v1/nodepools/gpu", 403, denied, method="PATCH")
    error = translate(failure, Target("test", "me", "https://k"))
    assert error.message == "forbidden: no; your user needs patch on nodepools.karpenter.sh"


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/api/v1/namespaces/default/pods/x", "pods"),
        ("/api/v1/nodes", "nodes"),
        ("/apis/apps/v1/namespaces/kube-system/daemonsets", "daemonsets.apps"),
        ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions?limit=500",
         "customresourcedefinitions.apiextensions.k8s.io"),
    ],
)  # fmt: skip
def test_resource_from_the_path(path: str, resource: str) -> None:
    assert resource_of(path) == resource


def test_404_is_not_found_and_live_object_is_none(server: tuple[str, Script]) -> None:
    url, _ = server
    with pytest.raises(NotFoundError) as caught:
        client(url).get("/api/v1/namespaces/nope")
    assert caught.value.code == 404 and caught.value.reason == "NotFound"
    api = client(url)
    assert live_object(api, "karpenter.sh/v1", "NodePool", "gpu", resources=[]) is None


def test_connection_refused_is_not_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    with pytest.raises(ClusterAccessError) as caught:
        client(f"http://127.0.0.1:{port}", sleeps).get("/version")
    assert caught.value.message.startswith(f"cannot reach http://127.0.0.1:{port}: ")
    assert "--context" in (caught.value.hint or "")
    assert sleeps == []


def test_not_json_is_a_clear_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies["/version"] = [ok("<html>login page</html>")]
    with pytest.raises(ClusterAccessError, match="did not answer with JSON"):
        client(url).get("/version")


def test_exec_plugin_is_rerun_when_its_token_expires(
    server: tuple[str, Script], tmp_path: Path
) -> None:
    url, script = server
    counter = tmp_path / "n"
    plugin = tmp_path / "plugin"
    plugin.write_text(
        f"#!{sys.executable}\nimport json, pathlib\np = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\np.write_text(str(n))\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', "
        "'kind': 'ExecCredential', 'status': {'token': f'token-{n}'}}))\n"
    )
    plugin.chmod(0o755)
    expired: Reply = (401, status(401, "Unauthorized", "expired"), {})
    script.replies["/version"] = [ok({}), expired, ok({})]
    exec_config = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}
    api = client(url, exec=exec_config)
    api.get("/version")
    api.get("/version")  # the token expired: lightkube re-runs the plugin once
    seen = [auth for _, _, auth in script.seen]
    assert seen == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


def test_installed_crds_and_live_lookup(server: tuple[str, Script]) -> None:
    url, script = server
    crds = [
        {"metadata": {"name": "nodepools.karpenter.sh"}, "spec": {"group": "karpenter.sh"}},
        {"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com"}},
    ]
    list_kind = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinitionList"}
    script.replies["/apis/apiextensions.k8s.io/v1/customresourcedefinitions"] = [
        ok({**list_kind, "items": crds})
    ]
    resources = [
        {"name": "nodepools", "kind": "NodePool", "namespaced": False},
        {"name": "nodepools/status", "kind": "NodePool", "namespaced": False},
    ]
    script.replies["/apis/karpenter.sh/v1"] = [ok({"resources": resources})]
    live = {"kind": "NodePool", "metadata": {"name": "gpu"}}
    script.replies["/apis/karpenter.sh/v1/nodepools/gpu"] = [ok(live)]
    api = client(url)
    assert [c["metadata"]["name"] for c in installed_crds(api)] == ["nodepools.karpenter.sh"]
    assert len(installed_crds(api, groups=None)) == 2
    lookup = live_lookup(api)
    nodepool = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "gpu"}}
    assert lookup(nodepool) == live
    assert lookup({**nodepool, "metadata": {"name": "other"}}) is None
    assert lookup({"apiVersion": "karpenter.sh/v1", "kind": "NodePool"}) is None  # no name
    discovery = [p for p, _, _ in script.seen if p == "/apis/karpenter.sh/v1"]
    assert len(discovery) == 1  # discovery once per apiVersion


def test_exec_plugin_failure_shows_its_stderr(server: tuple[str, Script], tmp_path: Path) -> None:
    url, _ = server
    plugin = tmp_path / "plugin"
    plugin.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('no SSO session')\n")
    plugin.chmod(0o755)
    exec_config = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}
    with pytest.raises(ClusterAccessError) as caught:
        client(url, exec=exec_config).get("/version")
    assert "exec credential plugin" in caught.value.message
    assert "no SSO session" in caught.value.message


def test_exec_plugin_not_installed_shows_the_install_hint(server: tuple[str, Script]) -> None:
    url, _ = server
    exec_config = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "no-such-aws-binary",
        "installHint": "install the AWS CLI v2",
    }
    with pytest.raises(ClusterAccessError) as caught:
        client(url, exec=exec_config).get("/version")
    assert "'no-such-aws-binary' of user 'me' is not installed" in caught.value.message
    assert caught.value.hint == "install the AWS CLI v2"


def test_exec_plugin_v1_says_use_v1beta1(server: tuple[str, Script]) -> None:
    url, _ = server
    exec_config = {"apiVersion": "client.authentication.k8s.io/v1", "command": "aws"}
    with pytest.raises(ClusterAccessError) as caught:
        client(url, exec=exec_config).get("/version")
    assert "asks for client.authentication.k8s.io/v1," in caught.value.message
    assert "client.authentication.k8s.io/v1beta1" in (caught.value.hint or "")


def test_a_context_without_a_user_sends_no_credentials(server: tuple[str, Script]) -> None:
    from lightkube.config.kubeconfig import KubeConfig

    url, script = server
    script.replies["/version"] = [ok({"major": "1"})]
    config = KubeConfig.from_server(url).get()
    assert config is not None and config.user is None
    assert Client(config).get("/version") == {"major": "1"}
    assert script.seen == [("/version", {}, "")]


class _QuietWatch(BaseHTTPRequestHandler):
    """A watch that stays silent for ``delay`` seconds, then sends one event and ends."""

    protocol_version = "HTTP/1.1"
    delay = 1.0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        time.sleep(self.delay)
        line = json.dumps({"type": "ADDED", "object": {"metadata": {"name": "n1"}}}).encode()
        line += b"\n"
        self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n0\r\n\r\n")


def test_a_watch_outlives_the_clients_read_timeout_while_the_collection_is_quiet() -> None:
    """status --watch used to lose a kind after TIMEOUT_S without events (a ReadTimeout in
    its thread): a watch's stream may be silent until the server's timeoutSeconds."""
    from lightkube.config.kubeconfig import KubeConfig

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _QuietWatch)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    try:
        config = KubeConfig.from_dict(
            {
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {"server": f"http://127.0.0.1:{httpd.server_address[1]}"},
                    }
                ],
                "users": [{"name": "me", "user": {"token": "t"}}],
                "contexts": [{"name": "test", "context": {"cluster": "c", "user": "me"}}],
            }
        ).get("test")
        assert config is not None
        api = Client(config, timeout=0.3, sleep=lambda _s: None)
        events = list(api.watch("/api/v1/nodes", "1", timeout_s=5))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert events == [("ADDED", {"metadata": {"name": "n1"}})]
