"""A deliberately small Kubernetes REST client for the control-plane tests (stdlib only).

Objects are plain dicts; API errors raise :class:`ApiError` carrying the HTTP status and the
server's ``Status`` object, so tests assert on what the real API server said.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify against ``ca_file``; without one (the scheduler's in-memory cert) don't verify."""
    if ca_file is None:
        return ssl._create_unverified_context()
    context = ssl.create_default_context(cafile=str(ca_file))
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)  # client-go's CA lacks an AKI
    return context


class ApiError(Exception):
    """A non-2xx answer: ``status`` (HTTP code), ``reason`` and ``message`` from the Status."""

    def __init__(self, status: int, body: Obj, headers: dict[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.reason: str = body.get("reason", "")
        self.message: str = body.get("message", "")
        super().__init__(f"{status} {self.reason}: {self.message}")


class Kube:
    """One user on one API server, as described by a kubeconfig context."""

    def __init__(self, server: str, token: str, ca_file: Path) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.context = tls_context(ca_file)
        self._resources: dict[str, list[Obj]] = {}

    @classmethod
    def from_kubeconfig(cls, path: Path, context: str | None = None, server: str = "") -> Kube:
        config = yaml.safe_load(path.read_text())
        name = context or config["current-context"]
        ctx = next(c["context"] for c in config["contexts"] if c["name"] == name)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == ctx["user"])
        ca = Path(cluster["certificate-authority"])
        return cls(server or cluster["server"], user["token"], ca)

    def request(
        self,
        method: str,
        path: str,
        body: Obj | None = None,
        *,
        content_type: str = "application/json",
        **query: str,
    ) -> Obj:
        url = self.server + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as resp:
                result: Obj = json.loads(resp.read() or b"{}")
                return result
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                status = json.loads(raw)
            except ValueError:
                status = {"message": raw.decode(errors="replace")}
            raise ApiError(err.code, status, dict(err.headers)) from None

    def get(self, path: str, **query: str) -> Obj:
        return self.request("GET", path, **query)

    def path(
        self, api_version: str, kind: str, namespace: str | None = None, name: str = ""
    ) -> str:
        """The REST path of ``kind`` (found by discovery), of one object when ``name`` is given."""
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if api_version not in self._resources:
            self._resources[api_version] = self.get(base)["resources"]
        resource = next(
            r for r in self._resources[api_version] if r["kind"] == kind and "/" not in r["name"]
        )
        ns = f"/namespaces/{namespace}" if resource["namespaced"] else ""
        return f"{base}{ns}/{resource['name']}" + (f"/{name}" if name else "")

    def object_path(self, obj: Obj) -> str:
        meta = obj["metadata"]
        return self.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])

    def apply(self, obj: Obj, manager: str, *, force: bool = False, dry_run: bool = False) -> Obj:
        """Server-side apply ``obj`` as field manager ``manager``."""
        query = {"fieldManager": manager}
        if force:
            query["force"] = "true"
        if dry_run:
            query["dryRun"] = "All"
        return self.request(
            "PATCH",
            self.object_path(obj),
            obj,
            content_type="application/apply-patch+yaml",
            **query,
        )

    def create(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return self.request(
            "POST", self.path(obj["apiVersion"], obj["kind"], meta.get("namespace")), obj
        )

    def delete(self, obj: Obj) -> None:
        try:
            self.request("DELETE", self.object_path(obj))
        except ApiError as err:
            if err.status != 404:
                raise

    def wait_for(
        self, path: str, check: Callable[[Obj], bool], timeout: float = 30, **query: str
    ) -> Obj:
        """GET ``path`` until ``check(obj)`` holds; fails with the last object seen."""
        deadline = time.monotonic() + timeout
        while True:
            obj = self.get(path, **query)
            if check(obj):
                return obj
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: condition not met in {timeout}s; last: {obj}")
            time.sleep(0.2)


def condition(obj: Obj, kind: str) -> Obj:
    """The ``status.conditions`` entry of type ``kind`` (empty dict when absent)."""
    conditions = obj.get("status", {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), {})
