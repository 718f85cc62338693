"""A small synchronous Kubernetes API client (stdlib ``urllib`` + ``ssl``): GET and paginated LIST.

Objects are plain dicts as the API server returns them. Every failure goes through one point,
:func:`translate`, and comes out as a :class:`ClusterAccessError` that keeps the server's
``Status`` (HTTP code, ``reason``, ``message``) and says what to do: 401 "credentials
rejected", 403 "forbidden ... your user needs get/list on <resource>", 404
:class:`NotFoundError`, no answer "cannot reach <server>".

Retries, bounded (``attempts``, 4 by default): 429 (waiting for ``Retry-After`` or the Status'
``retryAfterSeconds``), 500/502/503/504 and dropped connections, with exponential backoff in
between. A refused connection, a timeout or a bad certificate is not retried: it will not get
better in a second. A 401 with an exec plugin re-runs the plugin once (the token expired).
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eks_gpu.cluster.exec_plugin import exec_credential
from eks_gpu.cluster.kubeconfig import KubeContext, load_kubeconfig
from eks_gpu.cluster.tls import ssl_context
from eks_gpu.errors import ClusterAccessError, NotFoundError

Obj = dict[str, Any]
Objects = list[Obj]

ATTEMPTS = 4
TIMEOUT_S = 30.0
BACKOFF_S = 0.5
MAX_WAIT_S = 30.0
PAGE_SIZE = 500
RETRY_CODES = frozenset({429, 500, 502, 503, 504})
DROPPED = (
    http.client.RemoteDisconnected,
    http.client.IncompleteRead,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)
USER_AGENT = "eks-gpu"


@dataclass(frozen=True)
class Failure:
    """One failed attempt, before translation: an HTTP answer, or an answer that never came."""

    path: str
    code: int | None = None
    status: Obj | None = None
    retry_after: float | None = None
    cause: BaseException | None = None

    @property
    def dropped(self) -> bool:
        return self.code is None and isinstance(self.cause, DROPPED)

    @property
    def retryable(self) -> bool:
        return self.code in RETRY_CODES or self.dropped


def _status_body(raw: bytes) -> Obj:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"message": raw.decode("utf-8", "replace").strip()[:300]}


def _retry_after(headers: Any, status: Obj) -> float | None:
    header = headers.get("Retry-After") if headers is not None else None
    try:
        if header is not None:
            return float(header)
    except ValueError:
        pass  # an HTTP date: fall back to the Status
    seconds = (status.get("details") or {}).get("retryAfterSeconds")
    return float(seconds) if isinstance(seconds, (int, float)) else None


def resource_of(path: str, status: Obj | None = None) -> str:
    """``customresourcedefinitions.apiextensions.k8s.io``, ``nodepools.karpenter.sh``, ``pods``:
    the resource a request was about, from the Status details or else from the path."""
    details = (status or {}).get("details") or {}
    if details.get("kind"):
        group = details.get("group")
        return f"{details['kind']}.{group}" if group else str(details["kind"])
    parts = urllib.parse.urlsplit(path).path.strip("/").split("/")
    group = "" if parts[:1] == ["api"] else (parts[1] if len(parts) > 1 else "")
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]
    plural = rest[0] if rest else path
    return f"{plural}.{group}" if group else plural


def translate(failure: Failure, context: KubeContext, attempts: int = 1) -> ClusterAccessError:
    """The one place an API failure becomes a user-facing error (Status kept on it)."""
    server, code, status = context.server, failure.code, failure.status or {}
    message = str(status.get("message") or "").strip()
    after = f" after {attempts} attempts" if attempts > 1 else ""
    if code is None:
        return _unreachable(failure, context, after)
    if code == 401:
        return ClusterAccessError(
            f"credentials rejected by {server} (401 Unauthorized) for context {context.context!r}",
            hint=f"the token, client certificate or exec plugin of kubeconfig user "
            f"{context.user!r} is wrong or expired; for EKS, check `aws sts get-caller-identity` "
            "and `aws eks update-kubeconfig --name CLUSTER`",
            code=code,
            status=status,
        )
    resource = resource_of(failure.path, status)
    if code == 403:
        return ClusterAccessError(
            f"forbidden: {message or 'access denied'}; your user needs get/list on {resource}",
            hint=f"ask a cluster admin for a (Cluster)Role with get and list on {resource} bound "
            f"to user {context.user!r} (check: `kubectl auth can-i list {resource}`), "
            "or pass --context with a user that has it",
            code=code,
            status=status,
        )
    if code == 404:
        return NotFoundError(
            f"not found: {message or failure.path}",
            hint="check the name, namespace and apiVersion",
            code=code,
            status=status,
        )
    reason = status.get("reason") or http.client.responses.get(code, "")
    hint = (
        "the API server is overloaded or failing; try again in a minute"
        if failure.retryable
        else None
    )
    text = f"{server} answered {code} {reason}{after}: {message or failure.path}"
    return ClusterAccessError(text, hint=hint, code=code, status=status)


def _unreachable(failure: Failure, context: KubeContext, after: str) -> ClusterAccessError:
    cause, server = failure.cause, context.server
    if isinstance(cause, ssl.SSLCertVerificationError):
        return ClusterAccessError(
            f"cannot verify the TLS certificate of {server}: {cause.verify_message or cause}",
            hint=f"check certificate-authority(-data) of context {context.context!r} in "
            f"{context.source}",
        )
    if failure.dropped:
        what = f"{server} closed the connection without an answer{after}"
    elif isinstance(cause, (TimeoutError, socket.timeout)):
        what = f"cannot reach {server}: timed out"
    else:
        what = f"cannot reach {server}: {cause}"
    return ClusterAccessError(
        what,
        hint=f"check that the cluster of context {context.context!r} is up and reachable "
        "from here (VPN, endpoint access, proxy), or pick another with --context",
    )


class Client:
    """One kubeconfig context's API server: :meth:`get` one object, :meth:`list` a collection."""

    def __init__(
        self,
        context: KubeContext,
        *,
        attempts: int = ATTEMPTS,
        timeout: float = TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.context = context
        self.server = context.server
        self.namespace = context.namespace
        self.attempts = max(1, attempts)
        self.timeout = timeout
        self._sleep = sleep
        self._openers: dict[tuple[str | None, str | None], urllib.request.OpenerDirector] = {}

    def get(self, path: str, **query: str) -> Obj:
        """GET ``path`` (``/api/v1/namespaces/default``); raises :class:`NotFoundError` on 404."""
        return self._request(path, query)

    def list(self, path: str, *, page_size: int = PAGE_SIZE, **query: str) -> Objects:
        """Every item of the collection at ``path``, following ``continue`` across pages.

        Items get the ``apiVersion`` and ``kind`` a LIST leaves out, so they read as objects.
        """
        items: Objects = []
        token = ""
        while True:
            page_query = {**query, "limit": str(page_size)}
            if token:
                page_query["continue"] = token
            page = self._request(path, page_query)
            kind = str(page.get("kind") or "").removesuffix("List")
            for item in page.get("items") or []:
                items.append({"apiVersion": page.get("apiVersion"), "kind": kind, **item})
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return items

    def _request(self, path: str, query: dict[str, str]) -> Obj:
        url = self.server + path + ("?" + urllib.parse.urlencode(query) if query else "")
        refresh = refreshed = False
        attempt = 0
        while True:
            attempt += 1
            outcome = self._once(url, path, refresh=refresh)
            refresh = False
            if not isinstance(outcome, Failure):
                return outcome
            if outcome.code == 401 and self.context.exec is not None and not refreshed:
                refresh = refreshed = True  # the plugin's token may have expired: rerun it once
                continue
            if not outcome.retryable or attempt >= self.attempts:
                raise translate(outcome, self.context, attempt)
            self._sleep(self._wait(outcome, attempt))

    def _wait(self, failure: Failure, attempt: int) -> float:
        if failure.retry_after is not None:
            return min(max(failure.retry_after, 0.0), MAX_WAIT_S)
        backoff: float = BACKOFF_S * 2.0 ** (attempt - 1) * random.uniform(0.8, 1.2)
        return min(backoff, MAX_WAIT_S)

    def _once(self, url: str, path: str, *, refresh: bool) -> Obj | Failure:
        headers, cert = self._credentials(refresh)
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with self._opener(cert).open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            status = _status_body(error.read())
            return Failure(path, error.code, status, _retry_after(error.headers, status))
        except urllib.error.URLError as error:
            reason = error.reason
            return Failure(path, cause=reason if isinstance(reason, BaseException) else error)
        except (OSError, http.client.HTTPException) as error:
            return Failure(path, cause=error)
        try:
            body = json.loads(raw)
        except ValueError:
            raise ClusterAccessError(
                f"{self.server}{path} did not answer with JSON; is this a Kubernetes API server?",
                hint=f"check the server URL of context {self.context.context!r}",
            ) from None
        return body if isinstance(body, dict) else {"value": body}

    def _credentials(self, refresh: bool) -> tuple[dict[str, str], tuple[str | None, str | None]]:
        context = self.context
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        token = context.token
        cert = (context.client_cert_pem, context.client_key_pem)
        if context.exec is not None:
            credential = exec_credential(context, refresh=refresh)
            token = credential.token
            if credential.client_cert_pem:
                cert = (credential.client_cert_pem, credential.client_key_pem)
        elif context.token_file is not None:
            token = _read_token(context, context.token_file)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers, cert

    def _opener(self, cert: tuple[str | None, str | None]) -> urllib.request.OpenerDirector:
        if cert not in self._openers:
            handlers: list[urllib.request.BaseHandler] = [
                urllib.request.HTTPSHandler(context=ssl_context(self.context, *cert))
            ]
            if self.context.proxy_url:
                proxy = self.context.proxy_url
                handlers.append(urllib.request.ProxyHandler({"https": proxy, "http": proxy}))
            self._openers[cert] = urllib.request.build_opener(*handlers)
        return self._openers[cert]


def _read_token(context: KubeContext, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ClusterAccessError(
            f"{context.field('tokenFile')}: cannot read {path}: {error}",
            hint="fix tokenFile, or the file's permissions",
        ) from None


def connect(kubeconfig: str | Path | None = None, context: str | None = None) -> Client:
    """A client for ``context`` of ``kubeconfig`` (kubectl's defaults for both)."""
    return Client(load_kubeconfig(kubeconfig, context))


__all__ = ["ATTEMPTS", "Client", "Failure", "connect", "resource_of", "translate"]
