"""The fault-injecting proxy: real API answers through it, and each fault as a client sees it."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from .faultproxy import FaultProxy, Rates
from .kube import ApiError, Kube
from .plane import Plane

pytestmark = pytest.mark.controlplane


@pytest.fixture
def proxy(plane: Plane) -> Iterator[FaultProxy]:
    with FaultProxy(plane.server, plane.dir / "certs", Rates(retry_after=3)) as running:
        yield running


@pytest.fixture
def via_proxy(proxy: FaultProxy, plane: Plane) -> Kube:
    """The admin user, talking to the proxy (same CA and token, another port)."""
    return Kube.from_kubeconfig(plane.kubeconfig, "admin", server=proxy.url)


def test_forwards_real_answers(via_proxy: Kube, proxy: FaultProxy) -> None:
    assert via_proxy.get("/version")["major"] == "1"
    assert via_proxy.get("/api/v1/namespaces/default")["metadata"]["name"] == "default"
    assert proxy.outcomes == {"forward": 2}


def test_forwards_real_errors(via_proxy: Kube) -> None:
    with pytest.raises(ApiError) as caught:
        via_proxy.get("/api/v1/namespaces/no-such-namespace")
    assert (caught.value.status, caught.value.reason) == (404, "NotFound")


def test_injects_429_with_retry_after(via_proxy: Kube, proxy: FaultProxy) -> None:
    proxy.inject("429")
    with pytest.raises(ApiError) as caught:
        via_proxy.get("/version")
    err = caught.value
    assert (err.status, err.reason) == (429, "TooManyRequests")
    assert err.headers["Retry-After"] == "3"
    assert err.body["details"]["retryAfterSeconds"] == 3
    assert via_proxy.get("/version")["major"] == "1"  # the queue is spent: forwarded again


def test_injects_500(via_proxy: Kube, proxy: FaultProxy) -> None:
    proxy.inject("500")
    with pytest.raises(ApiError) as caught:
        via_proxy.get("/version")
    assert (caught.value.status, caught.value.reason) == (500, "InternalError")


def test_drops_the_connection(via_proxy: Kube, proxy: FaultProxy) -> None:
    proxy.inject("drop")
    with pytest.raises(OSError):  # RemoteDisconnected / SSLEOFError / URLError, per Python
        via_proxy.get("/version")
    assert proxy.outcomes["drop"] == 1


def test_writes_pass_through(via_proxy: Kube, kube: Kube, proxy: FaultProxy) -> None:
    proxy.inject("500", "forward")
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "through-proxy", "namespace": "default"},
        "data": {"k": "v"},
    }
    with pytest.raises(ApiError):
        via_proxy.apply(cm, "eks-gpu")  # discovery (GET /api/v1) takes the 500
    via_proxy.apply(cm, "eks-gpu")
    assert kube.get(kube.object_path(cm))["data"] == {"k": "v"}
    kube.delete(cm)


def test_random_faults_are_reproducible() -> None:
    rates = Rates(too_many_requests=0.2, server_error=0.1, drop=0.1, seed=7)
    first = [rates.pick(d) for d in _draws(7)]
    assert first == [rates.pick(d) for d in _draws(7)]
    share = {f: first.count(f) / len(first) for f in ("429", "500", "drop", "forward")}
    assert share["429"] == pytest.approx(0.2, abs=0.05)
    assert share["500"] == pytest.approx(0.1, abs=0.05)
    assert share["drop"] == pytest.approx(0.1, abs=0.05)


def _draws(seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.random() for _ in range(2000)]


def test_random_rates_through_the_proxy(plane: Plane) -> None:
    rates = Rates(too_many_requests=0.3, server_error=0.2, drop=0.1, seed=1)
    with FaultProxy(plane.server, plane.dir / "certs", rates) as proxy:
        client = Kube.from_kubeconfig(plane.kubeconfig, "admin", server=proxy.url)
        seen = {"ok": 0, "429": 0, "500": 0, "drop": 0}
        for _ in range(60):
            try:
                client.get("/version")
                seen["ok"] += 1
            except ApiError as err:
                seen[str(err.status)] += 1
            except OSError:
                seen["drop"] += 1
    assert seen == {
        "ok": proxy.outcomes["forward"],
        "429": proxy.outcomes["429"],
        "500": proxy.outcomes["500"],
        "drop": proxy.outcomes["drop"],
    }
    assert all(seen.values()), seen
