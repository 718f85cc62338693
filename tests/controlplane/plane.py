"""Run a local control plane as plain processes: etcd, kube-apiserver, kube-scheduler,
kube-controller-manager, kwok.

Everything binds to 127.0.0.1 on free ports and lives in one state folder: certificates and
keys, static tokens, the audit policy and log, a kubeconfig with two users (``admin`` in
``system:masters``; ``restricted``, bound to nothing), one log file per process, and
``state.json`` (the PIDs, so ``down`` from another process can stop exactly what ``up`` started).
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from eks_gpu.names import LABEL_VERIFY_RUN

from .build import REPO
from .kube import ApiError, Kube, condition, tls_context

AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata"}],
}
# kube-controller-manager runs, so the ServiceAccount plugin stays on (its serviceaccount
# controller makes each namespace's "default" ServiceAccount, pods get a projected token as on
# EKS) and so does TaintNodesByCondition (its node-lifecycle controller lifts the not-ready taint
# once kwok reports a node Ready). Nothing is disabled.
DISABLED_ADMISSION = ""
# EKS runs ExtendedResourceToleration: a pod asking for nvidia.com/gpu gets a toleration for a
# taint of that key, so Karpenter sees it tolerating a GPU pool's taint without writing one.
ENABLED_ADMISSION = "ExtendedResourceToleration"
REFERENCE = Path(os.environ.get("EKS_GPU_REFERENCE", REPO.parent / "shared" / "reference"))
KARPENTER_CRDS = (
    "karpenter.sh_nodepools.yaml",
    "karpenter.sh_nodeclaims.yaml",
    "karpenter.k8s.aws_ec2nodeclasses.yaml",
)


def karpenter_crds() -> list[Path]:
    """Karpenter's upstream CRDs from ../shared/reference (read in place, never copied)."""
    files = [REFERENCE / "karpenter" / name for name in KARPENTER_CRDS]
    return files if all(f.exists() for f in files) else []


KWOK_NODE_SELECTOR = "kwok.x-k8s.io/node=fake"  # the annotation Karpenter's kwok nodes carry
NODE_LEASE_SECONDS = 40  # kubelet's default; kwok renews the Lease at a quarter of it


KWOK_LOG_CRDS = ("kwok.x-k8s.io_logs.yaml", "kwok.x-k8s.io_clusterlogs.yaml")
# A kubelet's container exits when its command does; kwok's pods run forever unless a Stage
# ends them. This one ends the pods `eks-gpu verify` starts (its run label), as a probe that
# printed its result and exited 0 would: Running for two seconds, then Succeeded.
VERIFY_POD_COMPLETE = {
    "apiVersion": "kwok.x-k8s.io/v1alpha1",
    "kind": "Stage",
    "metadata": {"name": "eks-gpu-verify-pod-complete"},
    "spec": {
        "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
        "selector": {
            "matchExpressions": [
                {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                {"key": ".status.phase", "operator": "In", "values": ["Running"]},
                {
                    "key": f'.metadata.labels["{LABEL_VERIFY_RUN}"]',
                    "operator": "Exists",
                },
            ]
        },
        "delay": {"durationMilliseconds": 2000},
        "next": {
            "statusTemplate": """\
{{ $now := Now }}
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  started: false
  state:
    terminated:
      exitCode: 0
      finishedAt: {{ $now | Quote }}
      reason: Completed
      startedAt: {{ $now | Quote }}
{{ end }}
phase: Succeeded
"""
        },
    },
}


class PlaneError(RuntimeError):
    """A process did not start or become ready; the message names its log file."""


@dataclass
class Plane:
    """A running (or stopped) control plane and the files that describe it."""

    dir: Path
    server: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.dir / "certs" / "apiserver.crt"

    @property
    def audit_log(self) -> Path:
        return self.dir / "audit.log"

    def save(self) -> None:
        state = {"server": self.server, "tokens": self.tokens, "pids": self.pids}
        (self.dir / "state.json").write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, folder: Path) -> Plane:
        state = json.loads((folder / "state.json").read_text())
        return cls(folder, state["server"], state["tokens"], state["pids"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_process(
    plane: Plane, name: str, argv: list[str], tie_to_parent: bool, **env: str
) -> None:
    """Start ``argv`` as ``name``, logging to ``<name>.log``; its PID goes to state.json."""
    with (plane.dir / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=plane.dir,
            env={**os.environ, **env},
            start_new_session=True,
            preexec_fn=_die_with_parent if tie_to_parent else None,
        )
    plane.pids[name] = proc.pid
    plane.save()


def wait_ready(plane: Plane, name: str, url: str, ca: Path | None, timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail early, with its log, if ``name`` exits."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not _alive(plane.pids[name]):
            raise PlaneError(f"{name} exited during start-up{_log_tail(plane, name)}")
        if ca is None or ca.exists():
            try:
                with urllib.request.urlopen(url, timeout=2, context=tls_context(ca)) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.URLError) as err:
                last = str(err)
        time.sleep(0.1)
    raise PlaneError(f"{name} not ready after {timeout:.0f}s ({last}){_log_tail(plane, name)}")


def _log_tail(plane: Plane, name: str, lines: int = 15) -> str:
    log = plane.dir / f"{name}.log"
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; last lines of {log}:\n" + "\n".join(tail)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap our own exited children
    except ChildProcessError:  # started by another process (`up` then `down` from a shell)
        waited = 0
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _write_files(plane: Plane) -> None:
    (plane.dir / "certs").mkdir()
    plane.tokens = {
        user: secrets.token_hex(16)
        for user in (
            "admin",
            "restricted",
            "system:kube-scheduler",
            "system:kube-controller-manager",
            "kwok",
            "karpenter",
        )
    }
    groups = {user: "system:masters" for user in ("admin", "kwok", "karpenter")}
    lines = [
        f"{token},{user},{i},{groups[user]}" if user in groups else f"{token},{user},{i}"
        for i, (user, token) in enumerate(plane.tokens.items(), start=1)
    ]
    (plane.dir / "tokens.csv").write_text("\n".join(lines) + "\n")
    (plane.dir / "audit-policy.yaml").write_text(yaml.safe_dump(AUDIT_POLICY))
    subprocess.run(
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key"],
        cwd=plane.dir,
        check=True,
        capture_output=True,
    )


def write_kubeconfig(plane: Plane, path: Path, users: list[str], server: str = "") -> None:
    """A kubeconfig for ``users`` (one context each, named after the user; the first is current)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {
                    "server": server or plane.server,
                    "certificate-authority": str(plane.ca_file),
                },
            }
        ],
        "users": [{"name": u, "user": {"token": plane.tokens[u]}} for u in users],
        "contexts": [{"name": u, "context": {"cluster": "local", "user": u}} for u in users],
        "current-context": users[0],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def _start_etcd(plane: Plane, bins: dict[str, Path], tie: bool) -> str:
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    argv = [
        str(bins["etcd"]),
        "--name=default",
        f"--data-dir={plane.dir / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]
    start_process(plane, "etcd", argv, tie)
    wait_ready(plane, "etcd", f"{client}/health", None, 30)
    return client


def _start_apiserver(plane: Plane, bins: dict[str, Path], etcd: str, tie: bool) -> None:
    port = free_port()
    plane.server = f"https://127.0.0.1:{port}"
    d = plane.dir
    argv = [
        str(bins["kube-apiserver"]),
        f"--etcd-servers={etcd}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        # A loopback advertise address is valid only with no endpoint reconciler; it keeps the
        # start-up independent of the host's default route.
        "--advertise-address=127.0.0.1",
        "--endpoint-reconciler-type=none",
        f"--cert-dir={d / 'certs'}",
        "--service-cluster-ip-range=10.0.0.0/24",
        f"--service-account-issuer={plane.server}",
        f"--service-account-key-file={d / 'sa.key'}",
        f"--service-account-signing-key-file={d / 'sa.key'}",
        "--authorization-mode=RBAC",
        f"--token-auth-file={d / 'tokens.csv'}",
        f"--audit-policy-file={d / 'audit-policy.yaml'}",
        f"--audit-log-path={plane.audit_log}",
        *([f"--disable-admission-plugins={DISABLED_ADMISSION}"] if DISABLED_ADMISSION else []),
        f"--enable-admission-plugins={ENABLED_ADMISSION}",
        "--allow-privileged=true",
        "--kubelet-preferred-address-types=InternalIP",
        "--profiling=false",
    ]
    start_process(plane, "kube-apiserver", argv, tie)
    wait_ready(plane, "kube-apiserver", f"{plane.server}/readyz", plane.ca_file, 60)


def _start_scheduler(plane: Plane, bins: dict[str, Path], tie: bool) -> None:
    kubeconfig = plane.dir / "scheduler.kubeconfig"
    write_kubeconfig(plane, kubeconfig, ["system:kube-scheduler"])
    port = free_port()
    argv = [
        str(bins["kube-scheduler"]),
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
    ]
    start_process(plane, "kube-scheduler", argv, tie)
    wait_ready(plane, "kube-scheduler", f"https://127.0.0.1:{port}/healthz", None, 30)


def start_controller_manager(plane: Plane, bins: dict[str, Path], tie: bool) -> None:
    """kube-controller-manager with every default controller, as kubeadm runs it: its own
    identity (bound by the bootstrap RBAC role ``system:kube-controller-manager``) and, with
    ``--use-service-account-credentials``, one ServiceAccount token per controller, so each
    controller is held to its own ``system:controller:*`` role. Ready once /healthz answers and
    the serviceaccount controller has made ``default/default`` (its controllers are running).
    """
    kubeconfig = plane.dir / "controller-manager.kubeconfig"
    write_kubeconfig(plane, kubeconfig, ["system:kube-controller-manager"])
    port = free_port()
    argv = [
        str(bins["kube-controller-manager"]),
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--controllers=*",  # the default set (bootstrapsigner, tokencleaner stay off)
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={plane.dir / 'sa.key'}",
        f"--root-ca-file={plane.ca_file}",
        # its default, /usr/libexec/kubernetes/..., would be created on the host
        f"--flex-volume-plugin-dir={plane.dir / 'flexvolume'}",
        "--profiling=false",
    ]
    start_process(plane, "kube-controller-manager", argv, tie)
    wait_ready(plane, "kube-controller-manager", f"https://127.0.0.1:{port}/healthz", None, 60)
    _wait_default_service_account(plane, 60)


def _wait_default_service_account(plane: Plane, timeout: float) -> None:
    kube = Kube.from_kubeconfig(plane.kubeconfig, "admin")
    deadline = time.monotonic() + timeout
    while True:
        try:
            kube.get("/api/v1/namespaces/default/serviceaccounts/default")
            return
        except ApiError as err:
            if err.status != 404 or time.monotonic() > deadline:
                raise PlaneError(
                    f"kube-controller-manager made no default ServiceAccount in {timeout:.0f}s "
                    f"({err}){_log_tail(plane, 'kube-controller-manager')}"
                ) from None
        if not _alive(plane.pids["kube-controller-manager"]):
            raise PlaneError(
                f"kube-controller-manager exited{_log_tail(plane, 'kube-controller-manager')}"
            )
        time.sleep(0.2)


def _start_kwok(plane: Plane, bins: dict[str, Path], tie: bool) -> None:
    kubeconfig = plane.dir / "kwok.kubeconfig"
    write_kubeconfig(plane, kubeconfig, ["kwok"])
    # The heartbeat stage refreshes node conditions now and then, as kwokctl does next to the
    # Lease kwok renews every --node-lease-duration-seconds / 4: what the controller manager's
    # node-lifecycle controller reads, so it never marks a kwok node unreachable.
    stages = (
        "node-initialize.yaml",
        "node-heartbeat-with-lease.yaml",
        "pod-ready.yaml",
        "pod-delete.yaml",
    )
    # Only Stages: a KwokConfiguration document would switch off kwok's defaults for all options.
    config = [yaml.safe_load(bins[name].read_text()) for name in stages]
    config.append(VERIFY_POD_COMPLETE)
    (plane.dir / "kwok.yaml").write_text(yaml.safe_dump_all(config))
    # Logs and ClusterLogs come from the API (their CRDs), so a test decides per pod what its
    # containers "printed"; the apiserver proxies `pods/log` to kwok's server, as to a kubelet.
    install_crds(plane, [bins[name] for name in KWOK_LOG_CRDS])
    port = free_port()  # kubelet port of every kwok node, and kwok's own server (TLS + HTTP)
    argv = [
        str(bins["kwok"]),
        f"--kubeconfig={kubeconfig}",
        f"--config={plane.dir / 'kwok.yaml'}",
        f"--manage-nodes-with-annotation-selector={KWOK_NODE_SELECTOR}",
        "--node-ip=127.0.0.1",
        f"--node-port={port}",
        f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
        f"--server-address=127.0.0.1:{port}",
        "--enable-crds=Logs,ClusterLogs",
        "--cidr=10.0.1.0/24",
    ]
    start_process(plane, "kwok", argv, tie, HOME=str(plane.dir))
    wait_ready(plane, "kwok", f"http://127.0.0.1:{port}/healthz", None, 30)


def install_crds(plane: Plane, files: list[Path], timeout: float = 30) -> None:
    """Create the CRDs in ``files`` (server-side apply) and wait until each is Established."""
    kube = Kube.from_kubeconfig(plane.kubeconfig, "admin")
    crds = [yaml.safe_load(f.read_text()) for f in files]
    for crd in crds:
        kube.apply(crd, "eks-gpu-controlplane")
    for crd in crds:
        path = kube.object_path(crd)
        kube.wait_for(path, lambda o: condition(o, "Established").get("status") == "True", timeout)


def up(
    folder: Path, bins: dict[str, Path], crds: list[Path] = (), *, tie_to_parent: bool = False
) -> Plane:
    """Start everything in a fresh ``folder`` and install ``crds``; returns once all are ready.

    ``tie_to_parent`` makes the processes die with the calling process (for pytest), so a
    killed test run leaves nothing behind.
    """
    if (folder / "state.json").exists():
        down(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    plane = Plane(folder)
    _write_files(plane)
    try:
        etcd = _start_etcd(plane, bins, tie_to_parent)
        _start_apiserver(plane, bins, etcd, tie_to_parent)
        write_kubeconfig(plane, plane.kubeconfig, ["admin", "restricted"])
        install_crds(plane, list(crds))
        if "kube-scheduler" in bins:
            _start_scheduler(plane, bins, tie_to_parent)
        if "kube-controller-manager" in bins:
            start_controller_manager(plane, bins, tie_to_parent)
        if "kwok" in bins:
            _start_kwok(plane, bins, tie_to_parent)
    except BaseException:
        down(folder)
        raise
    plane.save()
    return plane


def stop(plane: Plane, name: str, timeout: float = 10) -> None:
    """Stop one process ``up`` (or a fixture) started: SIGTERM, then SIGKILL after ``timeout``."""
    pid = plane.pids.pop(name)
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        print(f"{name} (pid {pid}) ignored SIGTERM for {timeout:.0f}s; killed")
    plane.save()


def down(folder: Path) -> None:
    """Stop what ``up`` started in ``folder`` (by PID, newest first); logs and audit stay."""
    if not (folder / "state.json").exists():
        return
    plane = Plane.load(folder)
    for name in reversed(list(plane.pids)):
        stop(plane, name)
    (folder / "state.json").unlink()
    shutil.rmtree(folder / "etcd", ignore_errors=True)
