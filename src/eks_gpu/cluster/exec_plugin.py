"""Run a kubeconfig ``exec`` credential plugin (``aws eks get-token``, ``kubelogin``, ...).

The plugin is run as configured (command, args, env), non-interactively, with
``KUBERNETES_EXEC_INFO`` describing the request, and must print an ``ExecCredential`` of the
same ``client.authentication.k8s.io`` version: a bearer ``status.token``, or a client
certificate (``status.clientCertificateData`` + ``clientKeyData``, PEM). The credential is
kept for the process until its ``expirationTimestamp`` (forever without one), so one
``eks-gpu`` run calls the plugin once, or again after the API server rejects the credential.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from eks_gpu.cluster.kubeconfig import ExecConfig, KubeContext
from eks_gpu.errors import ClusterAccessError

TIMEOUT_S = 120
EXPIRY_SKEW = timedelta(seconds=10)  # refresh a little early: the request takes time too


@dataclass(frozen=True)
class ExecCredential:
    """What a plugin returned: a token or a client certificate, and until when it is good."""

    token: str | None = None
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    expires: datetime | None = None

    def fresh(self, now: datetime) -> bool:
        """Still usable at ``now``."""
        return self.expires is None or now + EXPIRY_SKEW < self.expires


_CACHE: dict[tuple[ExecConfig, str], ExecCredential] = {}


def _exec_info(config: ExecConfig, context: KubeContext) -> str:
    spec: dict[str, Any] = {"interactive": False}
    if config.provide_cluster_info:
        cluster: dict[str, Any] = {"server": context.server}
        if context.ca_pem:
            cluster["certificate-authority-data"] = base64.b64encode(
                context.ca_pem.encode()
            ).decode()
        if context.insecure:
            cluster["insecure-skip-tls-verify"] = True
        spec["cluster"] = cluster
    info = {"apiVersion": config.api_version, "kind": "ExecCredential", "spec": spec}
    return json.dumps(info)


def _fail(config: ExecConfig, problem: str, hint: str | None = None) -> ClusterAccessError:
    return ClusterAccessError(
        f"{config.field}: credential plugin {config.command!r} {problem}",
        hint=hint or "run the command by hand to see what it needs (e.g. `aws sso login`)",
    )


def _run(config: ExecConfig, context: KubeContext) -> str:
    if config.interactive_mode == "Always":
        raise _fail(
            config,
            "needs a terminal (interactiveMode: Always); eks-gpu runs plugins non-interactively",
            "log in first so the plugin can answer without a prompt, or use IfAvailable",
        )
    env = {**os.environ, **dict(config.env), "KUBERNETES_EXEC_INFO": _exec_info(config, context)}
    try:
        done = subprocess.run(
            [config.command, *config.args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise _fail(
            config, "was not found", config.install_hint or "install it, or fix exec.command"
        ) from None
    except PermissionError:
        raise _fail(config, "is not executable", "fix exec.command or chmod +x it") from None
    except subprocess.TimeoutExpired:
        raise _fail(config, f"did not finish in {TIMEOUT_S}s") from None
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:]) or "no output on stderr"
        raise _fail(config, f"failed (exit {done.returncode}): {tail}")
    return done.stdout


def _timestamp(config: ExecConfig, raw: Any) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        stamp = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise _fail(config, f"printed expirationTimestamp {raw!r}, not an RFC 3339 time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def parse_exec_credential(config: ExecConfig, output: str) -> ExecCredential:
    """Check and read a plugin's stdout (an ``ExecCredential`` JSON object)."""
    try:
        data = json.loads(output)
    except ValueError:
        raise _fail(config, "did not print an ExecCredential JSON object") from None
    if not isinstance(data, dict) or data.get("kind") != "ExecCredential":
        raise _fail(config, "did not print an ExecCredential (kind: ExecCredential)")
    if data.get("apiVersion") != config.api_version:
        raise _fail(
            config,
            f"answered with apiVersion {data.get('apiVersion')!r}, not {config.api_version!r}",
            "set exec.apiVersion to the version the plugin prints",
        )
    status = data.get("status")
    if not isinstance(status, dict):
        raise _fail(config, "printed an ExecCredential without status")
    token = status.get("token") or None
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if bool(cert) != bool(key):
        raise _fail(config, "printed only one of clientCertificateData and clientKeyData")
    if not token and not cert:
        raise _fail(config, "printed neither status.token nor a client certificate")
    return ExecCredential(
        token=str(token) if token else None,
        client_cert_pem=str(cert) if cert else None,
        client_key_pem=str(key) if key else None,
        expires=_timestamp(config, status.get("expirationTimestamp")),
    )


def exec_credential(context: KubeContext, *, refresh: bool = False) -> ExecCredential:
    """The credential of ``context``'s exec plugin: cached until it expires, else run it.

    ``refresh`` runs the plugin even when a cached credential looks fresh (after a 401).
    """
    config = context.exec
    if config is None:
        raise ClusterAccessError(f"{context.field('exec')}: no exec plugin configured")
    key = (config, context.server)
    cached = _CACHE.get(key)
    if cached is not None and not refresh and cached.fresh(datetime.now(timezone.utc)):
        return cached
    credential = parse_exec_credential(config, _run(config, context))
    _CACHE[key] = credential
    return credential


def clear_cache() -> None:
    """Forget every cached credential (tests; a long-lived process switching users)."""
    _CACHE.clear()


__all__ = ["ExecCredential", "clear_cache", "exec_credential", "parse_exec_credential"]
