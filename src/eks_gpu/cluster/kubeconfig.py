"""Read a kubeconfig the way kubectl does, and resolve one context to what a client needs.

Files: ``--kubeconfig PATH``, else every file in ``$KUBECONFIG`` (merged: the first file to
define a name wins, as does the first ``current-context``), else ``~/.kube/config``. Relative
paths inside a file are relative to that file's folder.

Supported: ``server``, ``certificate-authority``/``-data``, ``insecure-skip-tls-verify``,
``proxy-url``, ``client-certificate``/``-data`` with ``client-key``/``-data``, ``token``,
``tokenFile`` and ``exec`` credential plugins (run by :mod:`.exec_plugin`). Everything is checked
here, once: an error names the file and the field, e.g.
``users[name=admin].user.client-key-data: not valid base64``, and says what to do.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eks_gpu.errors import ClusterAccessError
from eks_gpu.names import API_VERSION_EXEC_CREDENTIAL, API_VERSION_EXEC_CREDENTIAL_V1BETA1

ENV = "KUBECONFIG"
DEFAULT_PATH = Path("~/.kube/config")
EXEC_API_VERSIONS = (API_VERSION_EXEC_CREDENTIAL, API_VERSION_EXEC_CREDENTIAL_V1BETA1)
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")
UPDATE_HINT = "for EKS, `aws eks update-kubeconfig --name CLUSTER` writes a working entry"


@dataclass(frozen=True)
class ExecConfig:
    """A ``users[].user.exec`` credential plugin, as configured (not yet run)."""

    api_version: str
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    install_hint: str = ""
    provide_cluster_info: bool = False
    interactive_mode: str = "IfAvailable"
    field: str = "exec"  # where it was configured, for error messages


@dataclass(frozen=True)
class KubeContext:
    """One kubeconfig context resolved: where the API server is, how to trust and log in to it.

    PEM material is decoded text; ``token_file`` is read at each use (it may be rotated).
    """

    source: str
    context: str
    user: str
    server: str
    namespace: str = "default"
    ca_pem: str | None = None
    insecure: bool = False
    proxy_url: str | None = None
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    token: str | None = None
    token_file: Path | None = None
    exec: ExecConfig | None = None

    def field(self, key: str) -> str:
        """The kubeconfig field ``key`` of this context's user, for messages."""
        return f"{self.source}: users[name={self.user}].user.{key}"


@dataclass(frozen=True)
class _Entry:
    """A named cluster, user or context, and the file (folder) it came from."""

    body: Mapping[str, Any]
    folder: Path
    where: str  # "FILE: users[name=x].user"

    def get(self, key: str) -> Any:
        return self.body.get(key)

    def fail(self, key: str, problem: str, hint: str | None = None) -> ClusterAccessError:
        return ClusterAccessError(f"{self.where}.{key}: {problem}", hint=hint or UPDATE_HINT)


def kubeconfig_paths(explicit: str | Path | None = None) -> list[Path]:
    """The files to read: ``explicit``, else ``$KUBECONFIG``'s existing files, else the default."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ClusterAccessError(
                f"--kubeconfig {explicit}: no such file", hint="pass the path of a kubeconfig file"
            )
        return [path]
    listed = [Path(p).expanduser() for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    if listed:
        found = [p for p in listed if p.is_file()]
        if not found:
            raise ClusterAccessError(
                f"${ENV}={os.environ[ENV]}: none of its files exist",
                hint=f"fix ${ENV}, or pass --kubeconfig PATH; {UPDATE_HINT}",
            )
        return found
    default = DEFAULT_PATH.expanduser()
    if not default.is_file():
        raise ClusterAccessError(
            f"no kubeconfig: ${ENV} is not set and {default} does not exist",
            hint=f"pass --kubeconfig PATH or set ${ENV}; {UPDATE_HINT}",
        )
    return [default]


def _read(path: Path) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ClusterAccessError(f"cannot read kubeconfig {path}: {error}") from None
    except yaml.YAMLError as error:
        raise ClusterAccessError(
            f"kubeconfig {path} is not valid YAML: {error}", hint="fix or regenerate the file"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ClusterAccessError(
            f"kubeconfig {path}: expected a mapping, got {type(data).__name__}"
        )
    return data


def _merge(paths: list[Path]) -> tuple[dict[str, dict[str, _Entry]], str]:
    """Named entries by section (first definition wins) and the first current-context."""
    sections: dict[str, dict[str, _Entry]] = {"clusters": {}, "users": {}, "contexts": {}}
    current = ""
    singular = {"clusters": "cluster", "users": "user", "contexts": "context"}
    for path in paths:
        data = _read(path)
        current = current or str(data.get("current-context") or "")
        for section, key in singular.items():
            for index, item in enumerate(data.get(section) or []):
                name = item.get("name") if isinstance(item, Mapping) else None
                if not name:
                    raise ClusterAccessError(f"{path}: {section}[{index}].name is missing")
                body = item.get(key)
                if not isinstance(body, Mapping):
                    raise ClusterAccessError(f"{path}: {section}[name={name}].{key} is missing")
                where = f"{path}: {section}[name={name}].{key}"
                sections[section].setdefault(str(name), _Entry(body, path.parent, where))
    return sections, current


def _pick(named: dict[str, _Entry], name: str, what: str, source: str) -> _Entry:
    if name in named:
        return named[name]
    known = ", ".join(sorted(named)) or "none"
    raise ClusterAccessError(
        f"{source}: no {what} named {name!r} (defined: {known})",
        hint="pass --context NAME with one of the contexts in the file"
        if what == "context"
        else UPDATE_HINT,
    )


def _path(entry: _Entry, key: str) -> Path:
    raw = entry.get(key)
    if not isinstance(raw, str) or not raw:
        raise entry.fail(key, "must be a file path")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else entry.folder / path


def _text_file(entry: _Entry, key: str) -> str:
    path = _path(entry, key)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise entry.fail(key, f"cannot read {path}: {reason}") from None


def _base64(entry: _Entry, key: str) -> str:
    raw = entry.get(key)
    if not isinstance(raw, str):
        raise entry.fail(key, "must be a base64 string")
    try:
        return base64.b64decode("".join(raw.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise entry.fail(key, "not valid base64 (it holds the PEM file, base64-encoded)") from None


def _pem(entry: _Entry, key: str, marker: str) -> str | None:
    """``key`` (a file) or ``key-data`` (inline base64), decoded to PEM text; None when unset."""
    data_key = f"{key}-data"
    if entry.get(key) and entry.get(data_key):
        raise entry.fail(data_key, f"both {key} and {data_key} are set; keep one")
    if entry.get(data_key):
        pem, used = _base64(entry, data_key), data_key
    elif entry.get(key):
        pem, used = _text_file(entry, key), key
    else:
        return None
    if "-----BEGIN" not in pem or marker not in pem:
        raise entry.fail(used, f"does not hold a PEM {marker.lower()}")
    return pem


def _exec(entry: _Entry) -> ExecConfig:
    raw = entry.get("exec")
    where = f"{entry.where}.exec"
    if not isinstance(raw, Mapping):
        raise entry.fail("exec", "must be a mapping with apiVersion and command")
    plugin = _Entry(raw, entry.folder, where)
    api_version = raw.get("apiVersion")
    if api_version not in EXEC_API_VERSIONS:
        raise plugin.fail(
            "apiVersion",
            f"{api_version!r} is not supported; use one of {', '.join(EXEC_API_VERSIONS)}",
        )
    command = raw.get("command")
    if not isinstance(command, str) or not command:
        raise plugin.fail("command", "is missing (the credential plugin to run)")
    if os.sep in command and not Path(command).expanduser().is_absolute():
        command = str(entry.folder / command)  # relative to the kubeconfig, as client-go does
    args = raw.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise plugin.fail("args", "must be a list of strings")
    env = []
    for index, item in enumerate(raw.get("env") or []):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise plugin.fail(f"env[{index}]", "must be a mapping with name and value")
        env.append((str(item["name"]), str(item.get("value") or "")))
    mode = raw.get("interactiveMode") or "IfAvailable"
    if mode not in INTERACTIVE_MODES:
        raise plugin.fail("interactiveMode", f"{mode!r}: use one of {', '.join(INTERACTIVE_MODES)}")
    return ExecConfig(
        api_version=str(api_version),
        command=command,
        args=tuple(args),
        env=tuple(env),
        install_hint=str(raw.get("installHint") or ""),
        provide_cluster_info=bool(raw.get("provideClusterInfo")),
        interactive_mode=str(mode),
        field=where,
    )


def _user(entry: _Entry) -> dict[str, Any]:
    """The login material of a ``users[].user`` entry, checked."""
    for unsupported, instead in (
        ("auth-provider", "an exec plugin (e.g. `aws eks get-token`)"),
        ("username", "a token, client certificate or exec plugin"),
    ):
        if entry.get(unsupported):
            raise entry.fail(unsupported, f"is not supported; use {instead}")
    cert = _pem(entry, "client-certificate", "CERTIFICATE")
    key = _pem(entry, "client-key", "PRIVATE KEY")
    if (cert is None) != (key is None):
        missing = "client-key" if key is None else "client-certificate"
        raise entry.fail(f"{missing}[-data]", "is missing: a client certificate needs its key")
    token = entry.get("token")
    if token is not None and not isinstance(token, str):
        raise entry.fail("token", "must be a string")
    token_file = _path(entry, "tokenFile") if entry.get("tokenFile") else None
    if token_file is not None and not token and not token_file.is_file():
        raise entry.fail("tokenFile", f"{token_file} does not exist")
    exec_config = _exec(entry) if entry.get("exec") is not None else None
    if exec_config is not None and (token or token_file):
        raise entry.fail("exec", "is set together with token/tokenFile; keep one way to log in")
    return {
        "client_cert_pem": cert,
        "client_key_pem": key,
        "token": token or None,
        "token_file": None if token else token_file,
        "exec": exec_config,
    }


def _cluster(entry: _Entry) -> dict[str, Any]:
    server = entry.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise entry.fail("server", "is missing or not a URL such as https://HOST:PORT")
    if entry.get("tls-server-name"):
        raise entry.fail("tls-server-name", "is not supported yet; use the server's own name")
    ca = _pem(entry, "certificate-authority", "CERTIFICATE")
    insecure = entry.get("insecure-skip-tls-verify") is True
    if insecure and ca is not None:
        raise entry.fail(
            "insecure-skip-tls-verify",
            "is set together with a certificate authority; keep one",
        )
    proxy = entry.get("proxy-url")
    return {
        "server": server.rstrip("/"),
        "ca_pem": ca,
        "insecure": insecure,
        "proxy_url": str(proxy) if proxy else None,
    }


def load_kubeconfig(path: str | Path | None = None, context: str | None = None) -> KubeContext:
    """Resolve ``context`` (default: current-context) of the kubeconfig at ``path`` (default:
    ``$KUBECONFIG``, else ``~/.kube/config``).

    Raises :class:`ClusterAccessError` naming the file and field when anything is missing or wrong.
    """
    paths = kubeconfig_paths(path)
    source = os.pathsep.join(str(p) for p in paths)
    sections, current = _merge(paths)
    name = context or current
    if not name:
        known = ", ".join(sorted(sections["contexts"])) or "none"
        raise ClusterAccessError(
            f"{source}: current-context is not set (contexts: {known})",
            hint="pass --context NAME, or run `kubectl config use-context NAME`",
        )
    chosen = _pick(sections["contexts"], name, "context", source)
    cluster_name, user_name = chosen.get("cluster"), chosen.get("user")
    if not cluster_name:
        raise chosen.fail("cluster", "is missing")
    cluster = _pick(sections["clusters"], str(cluster_name), "cluster", source)
    user = (
        _pick(sections["users"], str(user_name), "user", source)
        if user_name
        else _Entry({}, cluster.folder, f"{source}: users[name=]")
    )
    return KubeContext(
        source=source,
        context=name,
        user=str(user_name or ""),
        namespace=str(chosen.get("namespace") or "default"),
        **_cluster(cluster),
        **_user(user),
    )


__all__ = [
    "EXEC_API_VERSIONS",
    "ExecConfig",
    "KubeContext",
    "kubeconfig_paths",
    "load_kubeconfig",
]
