"""Pick one kubeconfig context the way kubectl does, on lightkube's kubeconfig model.

Parsing, TLS and exec credential plugins (``aws eks get-token``) are lightkube's; what is ours
is where the files come from (``--kubeconfig``, else every file of ``$KUBECONFIG`` merged, first
definition wins, else ``~/.kube/config``, else the in-cluster service account) and the errors:
every problem is a :class:`ClusterAccessError` naming the file, the context or the field.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from eks_gpu.errors import ClusterAccessError

if TYPE_CHECKING:
    from lightkube.config.kubeconfig import SingleConfig

ENV = "KUBECONFIG"
DEFAULT_PATH = Path("~/.kube/config")
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
UPDATE_HINT = "for EKS, `aws eks update-kubeconfig --name CLUSTER` writes a working entry"
BASE64_FIELDS = {
    "clusters": ("certificate-authority-data",),
    "users": ("client-certificate-data", "client-key-data"),
}


def kubeconfig_paths(kubeconfig: str | Path | None) -> list[Path]:
    """The files to read: the flag, else ``$KUBECONFIG``'s list, else ``~/.kube/config``."""
    if kubeconfig:
        return [Path(kubeconfig).expanduser()]
    listed = [p for p in os.environ.get(ENV, "").split(os.pathsep) if p]
    if listed:
        return [Path(p).expanduser() for p in listed]
    return [DEFAULT_PATH.expanduser()]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ClusterAccessError(
            f"cannot read kubeconfig {path}: {error.strerror or error}",
            hint=f"pass --kubeconfig PATH or set ${ENV}; {UPDATE_HINT}",
        ) from None
    except yaml.YAMLError as error:
        raise ClusterAccessError(
            f"{path}: not valid YAML: {_yaml_problem(error)}",
            hint="fix the file, or pass another --kubeconfig",
        ) from None
    if not isinstance(data, dict):
        raise ClusterAccessError(f"{path}: not a kubeconfig (no mapping at the top)")
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What is wrong and where, without PyYAML's quote of the line: in a kubeconfig that line
    may hold a token or a key."""
    problem = getattr(error, "problem", None) or type(error).__name__
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def _check_base64(path: Path, data: dict[str, Any]) -> None:
    """Inline certificates must be base64: say which field is not (lightkube would not)."""
    for section, fields in BASE64_FIELDS.items():
        key = section.removesuffix("s")
        for entry in data.get(section) or []:
            body = (entry or {}).get(key) or {}
            for name in fields:
                value = body.get(name)
                try:
                    if value is not None:
                        base64.b64decode(str(value), validate=True)
                except (binascii.Error, ValueError):
                    where = f"{section}[name={entry.get('name')}].{key}.{name}"
                    raise ClusterAccessError(
                        f"{path}: {where}: not valid base64", hint=UPDATE_HINT
                    ) from None


def merged(paths: list[Path]) -> tuple[dict[str, Any], Path]:
    """The files merged as kubectl merges ``$KUBECONFIG``: the first to define a name wins."""
    present = [p for p in paths if p.is_file()] if len(paths) > 1 else paths
    if not present:
        raise ClusterAccessError(
            f"no kubeconfig: none of {', '.join(map(str, paths))} exists",
            hint=f"pass --kubeconfig PATH or set ${ENV}; {UPDATE_HINT}",
        )
    result: dict[str, Any] = {"clusters": [], "contexts": [], "users": []}
    for path in present:
        data = _read(path)
        _check_base64(path, data)
        current = result.get("current-context") or data.get("current-context") or None
        result["current-context"] = current
        for section in ("clusters", "contexts", "users"):
            known = {e.get("name") for e in result[section]}
            result[section] += [
                e for e in data.get(section) or [] if isinstance(e, dict) and e["name"] not in known
            ]
    return result, present[0]


def _named(data: dict[str, Any], section: str, name: str) -> bool:
    return any(e.get("name") == name for e in data.get(section) or [])


def load_config(kubeconfig: str | Path | None = None, context: str | None = None) -> SingleConfig:
    """The chosen context (``context``, else the current one) resolved by lightkube."""
    from lightkube.config.kubeconfig import KubeConfig

    paths = kubeconfig_paths(kubeconfig)
    if not kubeconfig and not os.environ.get(ENV) and not paths[0].is_file():
        in_cluster = _in_cluster()
        if in_cluster is not None:
            return in_cluster
        raise ClusterAccessError(
            f"no kubeconfig: ${ENV} is not set and {paths[0]} does not exist",
            hint=f"pass --kubeconfig PATH or set ${ENV}; {UPDATE_HINT}",
        )
    data, first = merged(paths)
    source = ", ".join(map(str, paths))
    name = context or data.get("current-context")
    known = sorted(str(e.get("name")) for e in data["contexts"])
    if not name:
        raise ClusterAccessError(
            f"{source} has no current-context", hint=f"pass --context, one of: {', '.join(known)}"
        )
    if not _named(data, "contexts", name):
        raise ClusterAccessError(
            f"context {name!r} is not in {source}",
            hint=f"pass --context with one of: {', '.join(known) or '(none defined)'}",
        )
    entry = next(e for e in data["contexts"] if e.get("name") == name).get("context") or {}
    for section, key in (("clusters", "cluster"), ("users", "user")):
        if (entry.get(key) or key == "cluster") and not _named(data, section, entry[key]):
            raise ClusterAccessError(
                f"context {name!r} in {source} names {key} {entry[key]!r}, which is not defined",
                hint=f"add it under {section}, or {UPDATE_HINT}",
            )
    cluster = next(e for e in data["clusters"] if e.get("name") == entry.get("cluster"))
    if not (cluster.get("cluster") or {}).get("server"):
        raise ClusterAccessError(
            f"{source}: clusters[name={cluster['name']}].cluster.server: is missing",
            hint=f"set it to the API server's URL; {UPDATE_HINT}",
        )
    try:
        config = KubeConfig.from_dict(data, fname=first).get(name)
    except Exception as error:  # msgspec validation: a wrongly typed field
        raise ClusterAccessError(f"{source}: context {name!r}: {error}", hint=UPDATE_HINT) from None
    assert config is not None
    return config


def _in_cluster() -> SingleConfig | None:
    """The pod's service account, when running inside a cluster and no kubeconfig is there."""
    from lightkube.config.kubeconfig import KubeConfig
    from lightkube.core.exceptions import ConfigError

    if "KUBERNETES_SERVICE_HOST" not in os.environ:
        return None
    try:
        return KubeConfig.from_service_account(SERVICE_ACCOUNT).get()
    except ConfigError:
        return None


__all__ = ["kubeconfig_paths", "load_config", "merged"]
