"""GET and paginated LIST against one kubeconfig context, on lightkube's HTTP client.

lightkube (httpx) does the kubeconfig, TLS and exec credential plugins (``aws eks get-token``,
re-run on a 401); lightkube is imported here only, so ``eks-gpu --help`` never loads it.
What is ours: objects stay plain dicts as the server sent them (no typed model per object, for
speed on 100,000 pods), every failure goes through one point, :func:`translate`, into a
:class:`ClusterAccessError` that keeps the server's ``Status`` and says what to do, and the
retry policy, bounded (``attempts``, 4 by default): 429 (waiting for ``Retry-After`` or the
Status' ``retryAfterSeconds``), 500/502/503/504 and dropped connections, with exponential
backoff and jitter in between. A refused connection, a timeout or a bad certificate is not
retried: it will not get better in a second.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eks_gpu.cluster.config import load_config
from eks_gpu.errors import ClusterAccessError, NotFoundError
from eks_gpu.names import (
    API_VERSION_EXEC_CREDENTIAL,
    API_VERSION_EXEC_CREDENTIAL_V1BETA1,
    KARPENTER_GROUPS,
)

if TYPE_CHECKING:
    import httpx2 as httpx
    from lightkube.config.kubeconfig import SingleConfig

Obj = dict[str, Any]
Objects = list[Obj]

ATTEMPTS = 4
TIMEOUT_S = 30.0
WATCH_SLACK_S = 30.0  # a watch stream may be silent this much longer than its timeoutSeconds
BACKOFF_S = 0.5
MAX_WAIT_S = 30.0
PAGE_SIZE = 500
RETRY_CODES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "eks-gpu"
FORBIDDEN = re.compile(
    r'cannot (?P<verb>[a-z]+) resource "(?P<resource>[^"]+)" in API group "(?P<group>[^"]*)"'
)
"""The API server's 403 message (k8s.io/apiserver endpoints/handlers/responsewriters/errors.go,
forbiddenMessage); a subresource reads ``pods/log``."""
VERBS = {"GET": "get/list", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True)
class Failure:
    """One failed attempt, before translation: an HTTP answer, or an answer that never came.

    ``dropped``: the server closed the connection without an answer (worth a retry).
    """

    path: str
    code: int | None = None
    status: Obj | None = None
    retry_after: float | None = None
    cause: BaseException | None = None
    dropped: bool = False
    method: str = "GET"

    @property
    def retryable(self) -> bool:
        return self.code in RETRY_CODES or self.dropped


@dataclass(frozen=True)
class Target:
    """Who is asked, for the messages: the context, its user, its server, its kubeconfig."""

    context: str
    user: str
    server: str
    source: str = "kubeconfig"


def _status_body(raw: bytes) -> Obj:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"message": raw.decode("utf-8", "replace").strip()[:300]}


def _retry_after(header: str | None, status: Obj) -> float | None:
    try:
        if header is not None:
            return float(header)
    except ValueError:
        pass  # an HTTP date: fall back to the Status
    seconds = (status.get("details") or {}).get("retryAfterSeconds")
    return float(seconds) if isinstance(seconds, (int, float)) else None


def _group_plural(path: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(path).path.strip("/").split("/")
    group = "" if parts[:1] == ["api"] else (parts[1] if len(parts) > 1 else "")
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]
    return group, (rest[0] if rest else path)


def resource_of(path: str, status: Obj | None = None) -> str:
    """``customresourcedefinitions.apiextensions.k8s.io``, ``nodepools.karpenter.sh``, ``pods``:
    the resource a request was about, from the Status details or else from the path."""
    details = (status or {}).get("details") or {}
    if details.get("kind"):
        group = details.get("group")
        return f"{details['kind']}.{group}" if group else str(details["kind"])
    group, plural = _group_plural(path)
    return f"{plural}.{group}" if group else plural


def rbac_rule(resource: str, verbs: str) -> str:
    """The ClusterRole rule that grants ``verbs`` on ``resource``, as YAML flow style."""
    plural, _, group = resource.partition(".")
    listed = ", ".join(f'"{v}"' for v in verbs.split("/"))
    return f'{{apiGroups: ["{group}"], resources: ["{plural}"], verbs: [{listed}]}}'


def _conflict_managers(status: Obj) -> list[str]:
    """The other field managers of a 409 apply conflict (``conflict with "kubectl" ...``)."""
    causes = (status.get("details") or {}).get("causes") or []
    texts = [str(c.get("message") or "") for c in causes] + [str(status.get("message") or "")]
    found = []
    for text in texts:
        for chunk in text.split('conflict with "')[1:]:
            manager = chunk.split('"', 1)[0]
            if manager and manager not in found:
                found.append(manager)
    return found


def translate(failure: Failure, target: Target, attempts: int = 1) -> ClusterAccessError:
    """The one place an API failure becomes a user-facing error (Status kept on it)."""
    server, code, status = target.server, failure.code, failure.status or {}
    message = str(status.get("message") or "").strip()
    after = f" after {attempts} attempts" if attempts > 1 else ""
    if code is None:
        return _unreachable(failure, target, after)
    if code == 401:
        return ClusterAccessError(
            f"credentials rejected by {server} (401 Unauthorized) for context {target.context!r}",
            hint=f"the token, client certificate or exec plugin of kubeconfig user "
            f"{target.user!r} is wrong or expired; for EKS, check `aws sts get-caller-identity` "
            "and `aws eks update-kubeconfig --name CLUSTER`",
            code=code,
            status=status,
        )
    resource = resource_of(failure.path, status)
    if code == 403:
        return _forbidden(failure, target, status, message)
    if code == 404:
        return _not_found(failure, status, message)
    if code == 409:
        managers = _conflict_managers(status)
        owners = ", ".join(f'"{m}"' for m in managers) or "another field manager"
        return ClusterAccessError(
            f"conflict on {resource}: fields are owned by {owners}: {message}",
            hint=f"change them with the tool that owns them ({owners}), or take them over "
            "with --force-conflicts",
            code=code,
            status=status,
        )
    reason = status.get("reason") or http.client.responses.get(code, "")
    hint = "the API server is overloaded or failing; try again in a minute"
    text = f"{server} answered {code} {reason}{after}: {message or failure.path}"
    hint_if = hint if failure.retryable else None
    return ClusterAccessError(text, hint=hint_if, code=code, status=status)


def missing_permission(failure: Failure, status: Obj | None = None) -> tuple[str, str]:
    """``(resource, verbs)`` a 403 says is missing: the API server's own words when its
    message has them (``cannot create resource "nodepools" in API group "karpenter.sh"``:
    exact, subresources such as ``pods/log`` included), else guessed from the method."""
    found = FORBIDDEN.search(str((status or {}).get("message") or ""))
    if found is not None:
        plural, group = found["resource"], found["group"]
        return (f"{plural}.{group}" if group else plural), found["verb"]
    verbs = VERBS.get(failure.method, failure.method.lower())
    return resource_of(failure.path, status), verbs


def _forbidden(failure: Failure, target: Target, status: Obj, message: str) -> ClusterAccessError:
    """A 403: the one rule to add, and where the full role comes from."""
    resource, verbs = missing_permission(failure, status)
    return ClusterAccessError(
        f"forbidden: {message or 'access denied'}; your user needs {verbs} on {resource}",
        hint=f"ask a cluster admin for a (Cluster)Role with the rule "
        f"{rbac_rule(resource, verbs)} bound to user {target.user!r} (check: `kubectl auth "
        f"can-i {verbs.split('/')[-1]} {resource}`), or pass --context with a user that has it; "
        "`eks-gpu rbac` prints the roles each command needs",
        code=403,
        status=status,
    )


def _not_found(failure: Failure, status: Obj, message: str) -> NotFoundError:
    """A missing object, or a resource type the server does not serve (a Karpenter CRD)."""
    group, plural = _group_plural(failure.path)
    named = bool((status.get("details") or {}).get("name"))
    if group in KARPENTER_GROUPS and not named:
        return NotFoundError(
            f"the cluster does not serve {plural}.{group}: the Karpenter v1 CRDs are not installed",
            hint="install Karpenter v1 (its Helm chart, or the karpenter-crd chart) first",
            code=404,
            status=status,
        )
    return NotFoundError(
        f"not found: {message or failure.path}",
        hint="check the name, namespace and apiVersion",
        code=404,
        status=status,
    )


def _unreachable(failure: Failure, target: Target, after: str) -> ClusterAccessError:
    cause, server = failure.cause, target.server
    verify = _cert_error(cause)
    if verify is not None:
        return ClusterAccessError(
            f"cannot verify the TLS certificate of {server}: {verify.verify_message or verify}",
            hint=f"check certificate-authority(-data) of context {target.context!r} in "
            f"{target.source}",
        )
    if failure.dropped:
        what = f"{server} closed the connection without an answer{after}"
    elif type(cause).__name__.endswith("Timeout"):
        what = f"cannot reach {server}: timed out"
    else:
        what = f"cannot reach {server}: {cause}"
    return ClusterAccessError(
        what,
        hint=f"check that the cluster of context {target.context!r} is up and reachable "
        "from here (VPN, endpoint access, proxy), or pick another with --context",
    )


def _cert_error(cause: BaseException | None) -> ssl.SSLCertVerificationError | None:
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


class Client:
    """One kubeconfig context's API server: :meth:`get` one object, :meth:`list` a collection."""

    def __init__(
        self,
        config: SingleConfig,
        *,
        attempts: int = ATTEMPTS,
        timeout: float = TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.server = config.cluster.server.rstrip("/")
        self.namespace = config.namespace
        self.target = Target(
            config.context_name,
            str(config.context.user or ""),
            self.server,
            str(config.fname or "in-cluster config"),
        )
        self.attempts = max(1, attempts)
        self.timeout = timeout
        self._sleep = sleep
        self._http = _http_client(config, self.target, timeout)

    @property
    def context(self) -> str:
        return self.target.context

    def get(self, path: str, **query: str) -> Obj:
        """GET ``path`` (``/api/v1/namespaces/default``); raises :class:`NotFoundError` on 404."""
        return self.request("GET", path, query)

    def list(
        self, path: str, query: dict[str, str] | None = None, *, page_size: int = PAGE_SIZE
    ) -> Objects:
        """Every item of the collection at ``path``, following ``continue`` across pages.

        Items get the ``apiVersion`` and ``kind`` a LIST leaves out, so they read as objects.
        """
        return self.collection(path, query, page_size=page_size).items

    def collection(
        self, path: str, query: dict[str, str] | None = None, *, page_size: int = PAGE_SIZE
    ) -> Collection:
        """:meth:`list`, with the collection's ``resourceVersion`` to watch from."""
        items: Objects = []
        token = ""
        while True:
            page_query = {**(query or {}), "limit": str(page_size)}
            if token:
                page_query["continue"] = token
            page = self.request("GET", path, page_query)
            kind = str(page.get("kind") or "").removesuffix("List")
            api_version = page.get("apiVersion")
            for item in page.get("items") or []:
                items.append({"apiVersion": api_version, "kind": kind, **item})
            metadata = page.get("metadata") or {}
            token = str(metadata.get("continue") or "")
            if not token:
                return Collection(items, str(metadata.get("resourceVersion") or ""))

    def request(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> Obj:
        """One API call (``PATCH`` with an apply body, ``DELETE``, ...), retried as the policy
        says, its JSON answer returned; every failure a :class:`ClusterAccessError`."""
        raw = self._send(method, path, query or {}, body, content_type)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise ClusterAccessError(
                f"{self.server}{path} did not answer with JSON; is this a Kubernetes API server?",
                hint=f"check the server URL of context {self.target.context!r}",
            ) from None
        return answer if isinstance(answer, dict) else {"value": answer}

    def text(self, path: str, **query: str) -> str:
        """GET a plain-text answer (a pod's log), retried as :meth:`request` is."""
        return self._send("GET", path, query, None, None).decode("utf-8", "replace")

    def watch(
        self,
        path: str,
        resource_version: str,
        *,
        timeout_s: int = 300,
        query: dict[str, str] | None = None,
    ) -> Iterator[tuple[str, Obj]]:
        """``(type, object)`` events of the collection at ``path`` after ``resource_version``
        (``ADDED``, ``MODIFIED``, ``DELETED``, ``BOOKMARK``, ``ERROR``), until the server ends
        the watch (after ``timeout_s``); opening it is retried as :meth:`request` is.
        ``query`` narrows it as it did the LIST (``fieldSelector``)."""
        import httpx2 as httpx

        query = {
            **(query or {}),
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_s),
        }
        attempt = 0
        while True:
            attempt += 1
            # A quiet collection sends nothing for minutes (bookmarks come about once a
            # minute), so the stream may wait for the server's own end of the watch; the
            # client-wide read timeout would end it after TIMEOUT_S of silence.
            timeout = httpx.Timeout(self.timeout, read=timeout_s + WATCH_SLACK_S)
            request = self._http.build_request("GET", path, params=query, timeout=timeout)
            try:
                response = self._http.send(request, stream=True)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
                failure: Failure | None = Failure(path, cause=error, dropped=True)
            except httpx.TransportError as error:
                failure = Failure(path, cause=error)
            else:
                failure = (
                    None if response.status_code < 400 else self._failure(path, "GET", response)
                )
            if failure is None:
                break
            if not failure.retryable or attempt >= self.attempts:
                raise translate(failure, self.target, attempt)
            self._sleep(wait_s(failure, attempt))
        try:
            for line in response.iter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                yield str(event.get("type") or ""), event.get("object") or {}
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout) as error:
            raise translate(Failure(path, cause=error, dropped=True), self.target) from None
        finally:
            response.close()

    def close(self) -> None:
        self._http.close()

    def _send(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes | None,
        content_type: str | None,
    ) -> bytes:
        attempt = 0
        while True:
            attempt += 1
            outcome = self._once(method, path, query, body, content_type)
            if not isinstance(outcome, Failure):
                return outcome
            if not outcome.retryable or attempt >= self.attempts:
                raise translate(outcome, self.target, attempt)
            self._sleep(wait_s(outcome, attempt))

    def _once(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes | None,
        content_type: str | None,
    ) -> bytes | Failure:
        import httpx2 as httpx
        from lightkube.core.exceptions import ConfigError

        headers = {"Content-Type": content_type} if body is not None and content_type else {}
        if content_type is None:
            headers["Accept"] = "*/*"
        try:
            response = self._http.request(method, path, params=query, content=body, headers=headers)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
            return Failure(path, cause=error, dropped=True, method=method)
        except httpx.TransportError as error:
            return Failure(path, cause=error, method=method)
        except (ConfigError, OSError) as error:  # the exec plugin failed or is not installed
            raise _credential_error(error, self.config, self.target) from None
        if response.status_code >= 400:
            return self._failure(path, method, response)
        return response.content

    @staticmethod
    def _failure(path: str, method: str, response: httpx.Response) -> Failure:
        response.read()
        status = _status_body(response.content)
        after = _retry_after(response.headers.get("Retry-After"), status)
        return Failure(path, response.status_code, status, after, method=method)


@dataclass(frozen=True)
class Collection:
    """The items of one LIST (all pages) and the ``resourceVersion`` to watch from."""

    items: Objects
    resource_version: str


def wait_s(failure: Failure, attempt: int) -> float:
    """How long to wait before the next attempt: ``Retry-After``, else backoff with jitter."""
    if failure.retry_after is not None:
        return min(max(failure.retry_after, 0.0), MAX_WAIT_S)
    backoff: float = BACKOFF_S * 2.0 ** (attempt - 1) * random.uniform(0.8, 1.2)
    return min(backoff, MAX_WAIT_S)


def _http_client(config: SingleConfig, target: Target, timeout: float) -> httpx.Client:
    """lightkube's httpx client for ``config`` (auth, TLS, proxy); its errors made ours."""
    import httpx2 as httpx
    from lightkube.config import client_adapter
    from lightkube.config.models import User
    from lightkube.core.exceptions import ConfigError

    if config.user is None:  # a context without a user: no credentials (lightkube needs one)
        config = config._replace(user=User())
    params = client_adapter.ConnectionParams(timeout=httpx.Timeout(timeout))
    try:
        http = client_adapter.Client(config, params)
    except (ConfigError, ssl.SSLError, OSError, ValueError) as error:
        raise ClusterAccessError(
            f"{target.source}: context {target.context!r}: cannot set up TLS or credentials: "
            f"{error}",
            hint="check certificate-authority, client-certificate and client-key of the "
            "context; for EKS, `aws eks update-kubeconfig --name CLUSTER` writes a working entry",
        ) from None
    http.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
    return http


def _credential_error(error: Exception, config: SingleConfig, target: Target) -> ClusterAccessError:
    plugin = config.user.exec if config.user is not None else None
    if plugin is None:
        return ClusterAccessError(f"context {target.context!r}: {error}")
    install = plugin.installHint or f"install {plugin.command!r} and put it on PATH"
    if plugin.apiVersion == API_VERSION_EXEC_CREDENTIAL:
        return ClusterAccessError(
            f"the exec credential plugin of user {target.user!r} asks for {plugin.apiVersion}, "
            "which lightkube does not speak",
            hint=f"set its apiVersion to {API_VERSION_EXEC_CREDENTIAL_V1BETA1} (what `aws eks "
            "update-kubeconfig` writes; aws eks get-token answers in the version asked for)",
        )
    if isinstance(error, FileNotFoundError):
        return ClusterAccessError(
            f"the exec credential plugin {plugin.command!r} of user {target.user!r} is not "
            "installed",
            hint=install,
        )
    return ClusterAccessError(
        f"the exec credential plugin {plugin.command!r} of user {target.user!r} failed: "
        f"{str(error).strip()}",
        hint=f"run it by hand to see why; {install}",
    )


def connect(kubeconfig: str | Path | None = None, context: str | None = None) -> Client:
    """A client for ``context`` of ``kubeconfig`` (kubectl's defaults for both)."""
    return Client(load_config(kubeconfig, context))


__all__ = [
    "ATTEMPTS",
    "Client",
    "Collection",
    "Failure",
    "Target",
    "connect",
    "missing_permission",
    "rbac_rule",
    "resource_of",
    "translate",
    "wait_s",
]
