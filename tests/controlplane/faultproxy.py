"""A small fault-injecting HTTPS proxy in front of the API server, for retry tests.

It serves TLS with the API server's own certificate (so a client keeps the same CA and
token, and changes only the port) and, per request, either forwards it or injects a fault:

- ``"429"``: ``429 Too Many Requests`` with ``Retry-After``, shaped like the API server's own
  priority-and-fairness rejection (a ``Status`` with ``retryAfterSeconds``);
- ``"500"``: ``500 Internal Server Error`` with a ``Status`` body;
- ``"drop"``: the connection is closed after the request is read, with no response.

Faults come first from a queue (``inject("429", "drop")``: the next two requests, in order),
then at random with the configured rates and seed (reproducible). Responses without a length
(watches) are streamed chunk by chunk. Connection upgrades (exec, port-forward) are not
supported.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import ssl
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import SplitResult, urlsplit

from .kube import tls_context

FAULTS = ("429", "500", "drop")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


@dataclass
class Rates:
    """Chance per request of each fault (the rest are forwarded)."""

    too_many_requests: float = 0.0
    server_error: float = 0.0
    drop: float = 0.0
    retry_after: int = 1
    seed: int = 0

    def pick(self, draw: float) -> str:
        """The outcome for a uniform ``draw`` in [0, 1)."""
        for fault, rate in zip(
            FAULTS, (self.too_many_requests, self.server_error, self.drop), strict=False
        ):
            if draw < rate:
                return fault
            draw -= rate
        return "forward"


@dataclass
class _State:
    rates: Rates
    queue: deque[str] = field(default_factory=deque)
    outcomes: Counter[str] = field(default_factory=Counter)
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, outcome)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.rates.seed)

    def decide(self, method: str, path: str) -> str:
        with self.lock:
            outcome = self.queue.popleft() if self.queue else self.rates.pick(self.rng.random())
            self.outcomes[outcome] += 1
            self.log.append((method, path, outcome))
            return outcome


def _status(code: int, reason: str, message: str, retry_after: int | None = None) -> bytes:
    body: dict[str, object] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if retry_after is not None:
        body["details"] = {"retryAfterSeconds": retry_after}
    return json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:  # TLS handshake in the handler thread, not in accept()
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self) -> None:
        super().finish()
        self.request.close()

    def log_message(self, format: str, *args: object) -> None:  # quiet in test output
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        outcome = self.server.state.decide(self.command, self.path)
        if outcome == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif outcome == "429":
            after = self.server.state.rates.retry_after
            message = "too many requests, please try again later (injected by faultproxy)"
            self._reply(429, _status(429, "TooManyRequests", message, after), after)
        elif outcome == "500":
            message = "an error on the server (injected by faultproxy) has prevented the request"
            self._reply(500, _status(500, "InternalError", message))
        else:
            self._forward(body)

    def _reply(self, code: int, body: bytes, retry_after: int | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, body: bytes) -> None:
        upstream = http.client.HTTPSConnection(
            self.server.upstream.hostname or "127.0.0.1",
            self.server.upstream.port,
            context=self.server.client_tls,
            timeout=60,
        )
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream.request(self.command, self.path, body=body or None, headers=headers)
        resp = upstream.getresponse()
        self.send_response(resp.status, resp.reason)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP | {"date", "server"}:
                self.send_header(key, value)
        length = resp.getheader("Content-Length")
        if length is not None:
            self.send_header("Content-Length", length)
            self.end_headers()
            self.wfile.write(resp.read())
        else:  # a watch or other stream: pass chunks through as they come
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while chunk := resp.read1(65536):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        upstream.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State
    tls: ssl.SSLContext
    client_tls: ssl.SSLContext
    upstream: SplitResult


class FaultProxy:
    """``with FaultProxy(plane.server, plane.dir / "certs") as proxy:``, then use ``proxy.url``.

    ``cert_dir`` is the API server's ``--cert-dir``: its self-signed ``apiserver.crt`` (leaf
    and CA) and ``apiserver.key`` serve the proxy's TLS and verify the upstream.
    """

    def __init__(self, upstream: str, cert_dir: Path, rates: Rates | None = None) -> None:
        self.state = _State(rates or Rates())
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._server.tls.load_cert_chain(cert_dir / "apiserver.crt", cert_dir / "apiserver.key")
        self._server.client_tls = tls_context(cert_dir / "apiserver.crt")
        self._server.upstream = urlsplit(upstream)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def outcomes(self) -> Counter[str]:
        return self.state.outcomes

    def inject(self, *faults: str) -> None:
        """Queue ``faults`` for the next requests, in order ("429", "500", "drop", "forward")."""
        unknown = set(faults) - {*FAULTS, "forward"}
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; expected {FAULTS} or 'forward'")
        with self.state.lock:
            self.state.queue.extend(faults)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
