"""The local control plane as a session fixture: up once, a kubeconfig path out, down at the end.

Where it cannot run (no Go, not built yet, no openssl) every ``controlplane`` test is skipped
with a loud reason, unless ``EKS_GPU_REQUIRE_CONTROLPLANE=1`` (set by ``.ci/run``), which turns
the skip into an error so CI never passes without having exercised the real API server.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import accounts
from .build import BuildError, binaries
from .kube import Kube
from .plane import Plane, down, karpenter_crds, up

HOW_TO_ENABLE = (
    "to enable: install Go >= 1.26 and openssl, then run `scripts/controlplane.sh build` "
    "(about 8 min on 2 cores the first time, cached afterwards; README: Local control plane)"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("EKS_GPU_REQUIRE_CONTROLPLANE") == "1":
        pytest.fail(f"EKS_GPU_REQUIRE_CONTROLPLANE=1 but {reason}", pytrace=False)
    pytest.skip(
        f"LOCAL CONTROL PLANE UNAVAILABLE, cluster tests skipped: {reason}; {HOW_TO_ENABLE}"
    )


@pytest.fixture(scope="session")
def bins() -> dict[str, Path]:
    """The built binaries (and kwok stages, Karpenter's kwok CRDs), or a loud skip."""
    try:
        found = binaries()
    except BuildError as err:
        _unavailable(str(err))
    if found is None:
        _unavailable("the binaries are not built for the pinned versions")
    if shutil.which("openssl") is None:
        _unavailable("openssl is not installed (it makes the service-account key)")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def plane(bins: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    """etcd + kube-apiserver + kube-scheduler + kube-controller-manager + kwok, Karpenter's
    CRDs installed."""
    start = time.monotonic()
    running = up(
        tmp_path_factory.mktemp("controlplane"), bins, karpenter_crds(), tie_to_parent=True
    )
    print(f"\ncontrol plane up in {time.monotonic() - start:.1f}s: {running.dir}")
    try:
        yield running
    finally:
        down(running.dir)


@pytest.fixture(scope="session")
def kubeconfig(plane: Plane) -> Path:
    return plane.kubeconfig


@pytest.fixture(scope="session")
def kube(kubeconfig: Path) -> Kube:
    """The admin user (system:masters)."""
    return Kube.from_kubeconfig(kubeconfig, "admin")


@pytest.fixture(scope="session")
def restricted(kubeconfig: Path) -> Kube:
    """A user with no RBAC bindings at all."""
    return Kube.from_kubeconfig(kubeconfig, "restricted")


@pytest.fixture
def service_account_kubeconfig(
    kube: Kube, plane: Plane, tmp_path: Path
) -> Iterator[accounts.ServiceAccountKubeconfig]:
    """``(namespace, name, rules) -> kubeconfig``: run eks-gpu as a real ServiceAccount held
    to ``rules`` (a ClusterRole), with a TokenRequest token (accounts.py). Calling it again
    for the same account rewrites its rules. Accounts, roles, and the namespaces it had to
    create go away after the test."""
    made: list[tuple[str, str]] = []
    namespaces: list[str] = []

    def make(namespace: str, name: str, rules: list[dict[str, Any]]) -> Path:
        if accounts.ensure_namespace(kube, namespace):
            namespaces.append(namespace)
        if (namespace, name) not in made:
            made.append((namespace, name))
        path = tmp_path / f"{namespace}-{name}.kubeconfig"
        return accounts.service_account_kubeconfig(kube, plane, namespace, name, rules, path)

    yield make
    for namespace, name in made:
        accounts.remove_service_account(kube, namespace, name)
    for namespace in namespaces:
        kube.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


@pytest.fixture(scope="module")
def karpenter(plane: Plane, bins: dict[str, Path], kube: Kube) -> Iterator[None]:
    """Real Karpenter (kwok provider) on the plane for one test module, with the rendered
    EC2NodeClass's instance model and the default KWOKNodeClass; stopped after the module."""
    from . import agreement
    from .karpenter import kwok_nodeclass, price_book, start_karpenter
    from .plane import stop

    if "karpenter-kwok" not in bins:
        pytest.skip("Karpenter (karpenter-kwok) is not part of this build")
    if os.geteuid() != 0:
        pytest.skip("KARPENTER SKIPPED: it runs in a network namespace of its own: needs root")
    nodeclass = next(o for o in agreement.rendered() if o["kind"] == "EC2NodeClass")
    start_karpenter(plane, bins, nodeclass, price_book(), tie_to_parent=True)
    kwok_nodeclass(kube)
    yield
    stop(plane, "karpenter")
