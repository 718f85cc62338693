"""Tier 3: real Karpenter provisions for the NodePool `eks-gpu render` writes.

Karpenter v1.14.1 with its kwok cloud provider, fed our catalog's GPU instance types, their
on-demand prices and made-up spot prices (karpenter.py). The rendered NodePool is used as
is, except that its ``nodeClassRef`` points at a KWOKNodeClass (Karpenter ignores NodePools
of other providers), and each test adds a label of its own so that tests never share nodes.
The workload is the rendered ``gpu-simple-test`` pod. Karpenter must launch the cheapest
offering our catalog says fits (the kwok provider launches the cheapest offering of the
NodeClaim's types, spot where cheaper: kwok/cloudprovider/cloudprovider.go ``toNode``),
register it (kwok makes it Ready), and kube-scheduler must run the pod on it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from eks_gpu.cli.main import main
from eks_gpu.scheduling.resources import parse_quantity

from . import agreement, workloads
from .agreement import FAMILY, WORKLOADS, Overlay, Pod, Pool, Workload
from .karpenter import (
    KWOK_OVERHEAD,
    ZONES,
    gpu_instance_types,
    on_kwok,
    price_book,
    remove_nodeclaims,
)
from .kube import Kube, Obj, condition

pytestmark = pytest.mark.controlplane

POOL_LABEL = "eks-gpu.test/pool"
# A few of the benchmark's workloads, run at once as the benchmark does: packing, a
# selector no allowed type meets, a pod without the GPU toleration (ExtendedResourceToleration
# adds it), equal-weight pools (Karpenter tries the later name first), an on-demand-only pool,
# a tight GPU limit.
# A pod asking for an extended resource only a NodeOverlay adds, to the g6e types only.
WIDGETS = Workload(
    "capacity overlay",
    (Pod(widgets=1),),
    (Pool(),),
    (Overlay(requirements=(workloads.instance_types(FAMILY, "g6e"),), widgets=2),),
)
AGREEMENT_SAMPLE = (
    *(w for w in WORKLOADS if w.name in ("3 pods x 1 GPU", "1 GPU, H100 (not in the pool)")),
    Workload(
        "no toleration, spot only", (Pod(tolerates=False),), (Pool(capacity_types=("spot",)),)
    ),
    Workload(
        "equal weights: later name first",
        (Pod(),),
        (Pool("a", weight=10, families=("g5",)), Pool("b", weight=10, families=("g6",))),
    ),
    Workload(
        "on-demand only: priced on demand",
        (Pod(cpu="10", gpus=1),),
        (Pool(capacity_types=("on-demand",)),),
    ),
    Workload("3 x 2 GPUs, GPU limit 4", (Pod(gpus=2, count=3),), (Pool(gpu_limit=4),)),
)


@pytest.fixture(scope="module")
def rendered() -> list[Obj]:
    """`eks-gpu render --cluster-name demo -o json`, run in-process once for the module."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["render", "--cluster-name", "demo", "-o", "json"]) == 0
    items: list[Obj] = json.loads(out.getvalue())["items"]
    return items


@pytest.fixture
def pool(kube: Kube, karpenter: None, rendered: list[Obj]) -> Iterator[Obj]:
    """The rendered NodePool, on kwok, with a name and a node label of this test's own."""
    name = "gpu-" + uuid.uuid4().hex[:6]
    nodepool = on_kwok(next(o for o in rendered if o["kind"] == "NodePool"), name, POOL_LABEL)
    kube.apply(next(o for o in rendered if o["kind"] == "Namespace"), "eks-gpu-test")
    kube.apply(nodepool, "eks-gpu-test")
    # Karpenter skips a pool until it is Ready, and then looks again only 10 s later.
    kube.wait_for(
        kube.object_path(nodepool), lambda p: condition(p, "Ready").get("status") == "True"
    )
    yield nodepool
    # Leave no nodes for later tests: delete the pods, then the NodeClaims.
    for pod in kube.get("/api/v1/pods", labelSelector=f"{POOL_LABEL}={name}")["items"]:
        kube.delete({"apiVersion": "v1", "kind": "Pod", "metadata": pod["metadata"]})
    remove_nodeclaims(kube, name, timeout=60)
    kube.delete(nodepool)


def gpu_pod(rendered: list[Obj], pool: Obj, gpus: int, **node_selector: str) -> Obj:
    """The rendered gpu-simple-test pod, asking for ``gpus`` GPUs, placed on ``pool``."""
    pod = copy.deepcopy(next(o for o in rendered if o["metadata"]["name"] == "gpu-simple-test"))
    name = pool["metadata"]["name"]
    pod["metadata"]["name"] = f"{name}-{gpus}gpu"
    pod["metadata"].setdefault("labels", {})[POOL_LABEL] = name
    pod["spec"]["nodeSelector"] = {**pod["spec"].get("nodeSelector", {}), POOL_LABEL: name}
    pod["spec"]["nodeSelector"].update(node_selector)
    pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = str(gpus)
    return pod


def _labels(instance_type: dict[str, Any]) -> dict[str, str]:
    offering = instance_type["offerings"][0]
    labels = {r["key"]: r["values"][0] for r in offering["Requirements"]}
    labels["kubernetes.io/arch"] = instance_type["architecture"]
    labels["kubernetes.io/os"] = "linux"
    return labels


def _allows(requirement: dict[str, Any], labels: dict[str, str]) -> bool:
    value, operator = labels.get(requirement["key"]), requirement["operator"]
    assert operator in ("In", "NotIn", "Exists"), operator
    if operator == "Exists":
        return value is not None
    return (value in requirement["values"]) == (operator == "In")


def cheapest_fit(pool: Obj, pod: Obj) -> tuple[str, str]:
    """What our catalog says Karpenter should launch: the cheapest offering (type, capacity
    type) the pool allows whose type fits the pod (Karpenter's allocatable = the kwok file's
    resources minus kwok's overhead)."""
    requests = {**pod["spec"]["containers"][0]["resources"].get("requests", {})}
    requests.update(pod["spec"]["containers"][0]["resources"]["limits"])
    pool_labels = pool["spec"]["template"]["metadata"]["labels"]
    selector = {k: v for k, v in pod["spec"]["nodeSelector"].items() if k not in pool_labels}
    fits = []
    for it in gpu_instance_types(price_book(), _nodeclass()):
        labels = _labels(it)
        if not all(_allows(r, labels) for r in pool["spec"]["template"]["spec"]["requirements"]):
            continue
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        free = {
            k: parse_quantity(v) - KWOK_OVERHEAD.get(k, Decimal(0))
            for k, v in it["resources"].items()
        }
        if all(free.get(k, Decimal(0)) >= parse_quantity(v) for k, v in requests.items()):
            for offering in it["offerings"]:
                capacity = next(
                    r["values"][0]
                    for r in offering["Requirements"]
                    if r["key"] == "karpenter.sh/capacity-type"
                )
                fits.append((offering["Price"], it["name"], capacity))
    _, name, capacity = min(fits)
    return name, capacity


def _nodeclass() -> Obj:
    return next(o for o in agreement.rendered() if o["kind"] == "EC2NodeClass")


@pytest.mark.parametrize("gpus", [1, 4])
def test_karpenter_launches_the_cheapest_type_our_catalog_fits(
    kube: Kube, rendered: list[Obj], pool: Obj, gpus: int
) -> None:
    pod = gpu_pod(rendered, pool, gpus)
    kube.apply(pod, "eks-gpu-test")
    running = kube.wait_for(
        kube.object_path(pod), lambda p: p.get("status", {}).get("phase") == "Running", timeout=60
    )
    node = kube.get(f"/api/v1/nodes/{running['spec']['nodeName']}")
    labels = node["metadata"]["labels"]
    expected = cheapest_fit(pool, pod)
    assert (labels["node.kubernetes.io/instance-type"], labels["karpenter.sh/capacity-type"]) == (
        expected
    )
    assert labels["karpenter.sh/nodepool"] == pool["metadata"]["name"]
    assert labels["karpenter.k8s.aws/instance-gpu-manufacturer"] == "nvidia"
    assert int(labels["karpenter.k8s.aws/instance-gpu-count"]) >= gpus
    assert labels["node-type"] == "gpu"  # the rendered pool's template label
    taints = {(t["key"], t.get("value"), t["effect"]) for t in node["spec"].get("taints", [])}
    assert ("nvidia.com/gpu", "true", "NoSchedule") in taints
    assert condition(node, "Ready").get("status") == "True"
    # The NodeClaim behind it is registered and initialized (Karpenter updates its status
    # a moment after the node is up).
    kube.wait_for(
        "/apis/karpenter.sh/v1/nodeclaims",
        lambda claims: any(
            c.get("status", {}).get("nodeName") == node["metadata"]["name"]
            and condition(c, "Initialized").get("status") == "True"
            for c in claims["items"]
        ),
        labelSelector=f"karpenter.sh/nodepool={pool['metadata']['name']}",
    )


def test_karpenter_explains_a_pod_no_allowed_type_can_hold(
    kube: Kube, rendered: list[Obj], pool: Obj
) -> None:
    """The guide's families have no H100 (p5 is not in the pool): Karpenter says so, and
    launches nothing."""
    pod = gpu_pod(rendered, pool, 1, **{"karpenter.k8s.aws/instance-gpu-name": "h100"})
    kube.apply(pod, "eks-gpu-test")
    events = kube.wait_for(
        f"/api/v1/namespaces/{pod['metadata']['namespace']}/events",
        lambda e: any(x.get("reportingComponent") == "karpenter" for x in e["items"]),
        timeout=60,
        fieldSelector=f"involvedObject.name={pod['metadata']['name']},reason=FailedScheduling",
    )
    message = next(e for e in events["items"] if e.get("reportingComponent") == "karpenter")
    assert "no instance type had enough resources or had a required offering" in message["message"]
    assert "karpenter.k8s.aws/instance-gpu-name In [h100]" in message["message"]
    claims = kube.get(
        "/apis/karpenter.sh/v1/nodeclaims",
        labelSelector=f"karpenter.sh/nodepool={pool['metadata']['name']}",
    )
    assert claims["items"] == []


def test_simulate_agrees_with_karpenter_on_a_sample_run_at_once(
    kube: Kube, karpenter: None
) -> None:
    """A sample of benchmarks/karpenter_agreement.py, which runs 200 and reports the rate;
    these run concurrently, as there, each isolated by its own pool label. With them, a
    NodeOverlay confined to its workload's pool (by ``karpenter.sh/nodepool``) that adds an
    extended resource to the g6e types: Karpenter, with the NodeOverlay gate on, launches a
    g6e for the pod asking for it, and only for that workload."""
    objects, prices = agreement.rendered(), price_book()
    nonce = uuid.uuid4().hex[:4]
    tags = {f"t{nonce}-{i}": w for i, w in enumerate((*AGREEMENT_SAMPLE, WIDGETS))}
    seen = agreement.karpenter_batch(kube, objects, tags, f"t{nonce}")
    overlaid = seen[f"t{nonce}-{len(AGREEMENT_SAMPLE)}"].outcome
    assert overlaid.unschedulable == ()
    assert [launch.split("/")[1].split(".")[0] for launch in overlaid.launched] == ["g6e"]
    for tag, workload in tags.items():
        real = seen[tag]
        if real.races:  # kube-scheduler filled a node with pods planned for another one
            continue
        simulated = agreement.simulate(objects, tag, workload, prices, ZONES)
        assert real.outcome == simulated, f"{workload.name}: Karpenter {real.outcome}"
