"""What a kwok pod "printed": kwok's ClusterLogs objects, served as ``kubectl logs``.

kwok's server answers ``GET .../pods/POD/log?container=C`` (proxied by the API server as for a
kubelet) from the first ClusterLogs whose selector matches the pod and whose ``logs`` entry names
the container (sigs.k8s.io/kwok@v0.8.0 pkg/kwok/server/debugging_logs.go ``getPodLogs``,
``findLogInLogs``; types in pkg/apis/v1alpha1/cluster_logs_types.go, logs_types.go ``Log``,
object_selector.go ``ObjectSelector``). It reads ``logsFile`` with k8s.io/cri-client
pkg/logs/logs.go ``ReadLogs`` (``readLogs`` in debugging_logs.go), so the file must be in the
CRI log format, one line per output line: ``<RFC 3339 nano timestamp> <stdout|stderr> <tag>
<text>``, tag ``F`` for a full line, ``P`` for a partial one (logs.go ``parseCRILog``). kwok
must run with ``--enable-crds=Logs,ClusterLogs`` (tests/controlplane/plane.py ``_start_kwok``)
and picks objects up by watching them, so a reader should poll until the log is served.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .kube import Kube

API_VERSION = "kwok.x-k8s.io/v1alpha1"
KIND = "ClusterLogs"
MANAGER = "eks-gpu-test"
START = datetime(2026, 12, 1, tzinfo=timezone.utc)  # any fixed instant: kubectl hides it
STEP = timedelta(milliseconds=1)


def _timestamp(moment: datetime) -> str:
    """cri-client's ``RFC3339NanoFixed`` (logs.go ``timeFormatOut``): 9 fraction digits, Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000:09d}Z"


def to_cri(text: str, start: datetime = START) -> str:
    """``text`` as a CRI log file: each line one full (``F``) stdout entry, 1 ms apart.

    Every entry ends with a newline: ``ReadLogs`` reports a last line without one as
    incomplete. What ``kubectl logs`` returns is the lines joined by newlines, with a newline
    after the last one.
    """
    return "".join(
        f"{_timestamp(start + i * STEP)} stdout F {line}\n"
        for i, line in enumerate(text.splitlines())
    )


def logs_name(pod: str, container: str) -> str:
    """The ClusterLogs name for one container of one pod (both DNS labels, so a valid name)."""
    return f"{pod}.{container}"


def cluster_logs(
    name: str, pod: str, container: str, logs_file: Path, namespace: str | None = None
) -> dict[str, Any]:
    """A ClusterLogs selecting pod ``pod`` (in ``namespace`` when given) for ``container``."""
    selector: dict[str, list[str]] = {"matchNames": [pod]}
    if namespace is not None:
        selector["matchNamespaces"] = [namespace]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name},
        "spec": {
            "selector": selector,
            "logs": [{"containers": [container], "logsFile": str(logs_file)}],
        },
    }


def serve_logs(
    kube: Kube, folder: Path, pod: str, container: str, text: str, namespace: str | None = None
) -> dict[str, Any]:
    """Have kwok serve ``text`` as the logs of ``pod``'s ``container``; returns the object.

    Writes ``folder/<name>.log`` (absolute: kwok runs elsewhere) and server-side applies the
    ClusterLogs, so a second call for the same pod and container replaces the text.
    """
    name = logs_name(pod, container)
    folder.mkdir(parents=True, exist_ok=True)
    logs_file = (folder / f"{name}.log").resolve()
    logs_file.write_text(to_cri(text), encoding="utf-8")
    return kube.apply(cluster_logs(name, pod, container, logs_file, namespace), MANAGER)


def remove_logs(kube: Kube, name: str) -> None:
    """Delete the ClusterLogs ``name`` (gone already is fine); its file stays in the folder."""
    kube.delete({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}})
