"""`eks-gpu validate --from-cluster` against the real local API server (and the fault proxy).

The cluster's own CRDs replace the offline ones; transition rules (``oldSelf``) are evaluated
against the live object of the same apiVersion/kind/name; RBAC refusals and unreachable or
flaky servers end in exit 3 with the error and a hint, never a traceback. Retries are driven
through ``faultproxy`` (429 with Retry-After, 503, a dropped connection), within the bound of
4 attempts, and give up after it.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from test_cel_rules import nodepool  # the validate suite's minimal valid NodePool

from .faultproxy import FaultProxy, Rates, _Handler, _status
from .kube import ApiError, Kube, Obj
from .plane import Plane, free_port, write_kubeconfig

pytestmark = pytest.mark.controlplane

RunCli = Any
IMMUTABLE_GROUP = "nodeClassRef.group is immutable"
NODE_CLASS_REF = ".spec.template.spec.nodeClassRef"


def named_nodepool() -> Obj:
    obj = nodepool()
    obj["metadata"]["name"] = "from-cluster-" + uuid.uuid4().hex[:8]
    return obj


def manifest(tmp_path: Path, *objs: Obj) -> str:
    path = tmp_path / f"manifest-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump_all(objs))
    return str(path)


def validate(run_cli: RunCli, kubeconfig: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli("validate", *args, "--from-cluster", "--kubeconfig", str(kubeconfig),
                     "-o", "json")  # fmt: skip
    assert "Traceback" not in result.err
    report = json.loads(result.out) if result.out.strip() else {}
    return result.code, report, result.err


@pytest.fixture
def applied(kube: Kube) -> Iterator[Obj]:
    """A NodePool server-side applied to the plane (deleted afterwards)."""
    obj = named_nodepool()
    kube.apply(obj, "eks-gpu-test")
    yield obj
    kube.delete(obj)


def test_uses_the_cluster_crds(run_cli: RunCli, kubeconfig: Path, tmp_path: Path) -> None:
    good, bad = named_nodepool(), named_nodepool()
    bad["spec"]["template"]["spec"]["requirements"][0]["operator"] = "Near"
    code, report, _ = validate(run_cli, kubeconfig, manifest(tmp_path, good, bad))
    assert code == 1
    assert not [s for s in report["skipped"] if "CRD schema and CEL" in s], report["skipped"]
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert [f["object"] for f in errors] == [f"NodePool/{bad['metadata']['name']}"]
    assert errors[0]["path"] == ".spec.template.spec.requirements[0].operator"
    # Neither exists in the cluster: a create, where the server skips transition rules too.
    notes = [s for s in report["skipped"] if "transition rule" in s]
    assert len(notes) == 2 and all("no live object in the cluster" in s for s in notes)


def test_render_validates_clean_against_the_cluster(run_cli: RunCli, kubeconfig: Path) -> None:
    code, report, err = validate(run_cli, kubeconfig, "--cluster-name", "demo")
    assert code == 0, (report, err)
    assert report["errors"] == 0
    assert not [s for s in report["skipped"] if "CRD schema and CEL" in s]


def test_changed_node_class_group_is_reported(
    run_cli: RunCli, kubeconfig: Path, kube: Kube, applied: Obj, tmp_path: Path
) -> None:
    changed = copy.deepcopy(applied)
    changed["spec"]["template"]["spec"]["nodeClassRef"]["group"] = "example.com"
    code, report, _ = validate(run_cli, kubeconfig, manifest(tmp_path, changed))
    assert code == 1
    ref = f"NodePool/{applied['metadata']['name']}"
    assert [(f["object"], f["path"], f["message"]) for f in report["findings"]
            if f["severity"] == "error"] == [(ref, NODE_CLASS_REF, IMMUTABLE_GROUP)]  # fmt: skip
    assert not [s for s in report["skipped"] if ref in s]  # the live object was found
    # The oracle: the API server refuses the same update with the same message.
    with pytest.raises(ApiError) as caught:
        kube.apply(changed, "eks-gpu-test", dry_run=True, force=True)
    assert IMMUTABLE_GROUP in caught.value.message


def test_unchanged_live_object_passes_its_transition_rules(
    run_cli: RunCli, kubeconfig: Path, applied: Obj, tmp_path: Path
) -> None:
    code, report, _ = validate(run_cli, kubeconfig, manifest(tmp_path, applied))
    assert (code, report["errors"], report["skipped"]) == (0, 0, [])


def test_offline_the_same_change_is_only_skipped(
    run_cli: RunCli, applied: Obj, reference: Path, tmp_path: Path
) -> None:
    changed = copy.deepcopy(applied)
    changed["spec"]["template"]["spec"]["nodeClassRef"]["group"] = "example.com"
    crds = str(reference / "karpenter")
    result = run_cli("validate", manifest(tmp_path, changed), "--crds", crds, "-o", "json")
    report = json.loads(result.out)
    assert (result.code, report["errors"]) == (0, 0)
    assert any("without the live object (--from-cluster)" in s for s in report["skipped"])


def test_restricted_user_is_forbidden(run_cli: RunCli, kubeconfig: Path, tmp_path: Path) -> None:
    path = manifest(tmp_path, named_nodepool())
    code, report, err = validate(run_cli, kubeconfig, path, "--context", "restricted")
    assert (code, report) == (3, {})
    assert "error: forbidden: " in err
    assert 'User "restricted" cannot list resource "customresourcedefinitions"' in err
    assert "your user needs list on customresourcedefinitions.apiextensions.k8s.io" in err
    assert "hint: " in err


def test_unreachable_cluster(run_cli: RunCli, plane: Plane, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    write_kubeconfig(plane, config, ["admin"], server=f"https://127.0.0.1:{free_port()}")
    start = time.monotonic()
    code, _, err = validate(run_cli, config, manifest(tmp_path, named_nodepool()))
    assert code == 3
    assert "error: cannot reach https://127.0.0.1:" in err and "hint: " in err
    assert time.monotonic() - start < 5  # a refused connection is not retried


def test_broken_kubeconfig_names_the_field(run_cli: RunCli, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"client-certificate-data": "!!"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    code, _, err = validate(run_cli, config)
    assert code == 3
    assert "users[name=u].user.client-certificate-data: not valid base64" in err


# --- retries, through the fault proxy ------------------------------------------------------


class _With503(_Handler):
    """The proxy's handler, plus a ``"503"`` fault (Service Unavailable with a Status body)."""

    def _handle(self) -> None:
        state = self.server.state
        with state.lock:
            next_fault = state.queue[0] if state.queue else None
        if next_fault != "503":
            super()._handle()
            return
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state.decide(self.command, self.path)
        message = "the server is currently unable to handle the request (injected)"
        self._reply(503, _status(503, "ServiceUnavailable", message))


@pytest.fixture
def proxy(plane: Plane) -> Iterator[FaultProxy]:
    with FaultProxy(plane.server, plane.dir / "certs", Rates(retry_after=1)) as running:
        running._server.RequestHandlerClass = _With503
        yield running


def inject(proxy: FaultProxy, *faults: str) -> None:
    with proxy.state.lock:  # straight into the queue: "503" is this file's own fault
        proxy.state.queue.extend(faults)


@pytest.fixture
def via_proxy(plane: Plane, proxy: FaultProxy, tmp_path: Path) -> Path:
    """The admin user's kubeconfig, pointed at the proxy (same CA and token)."""
    config = tmp_path / "proxy.kubeconfig"
    write_kubeconfig(plane, config, ["admin"], server=proxy.url)
    return config


def test_retries_429_503_and_a_dropped_connection(
    run_cli: RunCli, via_proxy: Path, proxy: FaultProxy, applied: Obj, tmp_path: Path
) -> None:
    changed = copy.deepcopy(applied)
    changed["spec"]["template"]["spec"]["nodeClassRef"]["group"] = "example.com"
    inject(proxy, "429", "503", "drop")  # the CRD list takes all three, then gets through
    start = time.monotonic()
    code, report, err = validate(run_cli, via_proxy, manifest(tmp_path, changed))
    assert code == 1, err
    assert [f["message"] for f in report["findings"] if f["severity"] == "error"] == [
        IMMUTABLE_GROUP
    ]
    assert time.monotonic() - start >= 1  # Retry-After: 1 was honoured
    log = [(path.split("?")[0], outcome) for _, path, outcome in proxy.state.log]
    crd_list = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert log[:4] == [(crd_list, f) for f in ("429", "503", "drop", "forward")]
    assert all(outcome == "forward" for _, outcome in log[4:])


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("503", "answered 503 ServiceUnavailable after 4 attempts"),
        ("drop", "closed the connection without an answer after 4 attempts"),
    ],
)
def test_gives_up_after_four_attempts(
    run_cli: RunCli, via_proxy: Path, proxy: FaultProxy, tmp_path: Path, fault: str, says: str
) -> None:
    inject(proxy, *[fault] * 5)
    code, report, err = validate(run_cli, via_proxy, manifest(tmp_path, named_nodepool()))
    assert (code, report) == (3, {})
    assert says in err and "hint: " in err
    assert proxy.outcomes[fault] == 4  # the fifth fault is never asked for
