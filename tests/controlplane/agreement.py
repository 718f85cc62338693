"""The same GPU workloads through real Karpenter and through `eks-gpu simulate`.

Both get the rendered guide NodePool (Karpenter's pointed at a KWOKNodeClass) with a label of
the run's own, and the rendered ``gpu-simple-test`` pod varied per workload (GPU count, CPU,
memory, node selectors, toleration). An outcome is what each launches, as a sorted list of
instance types, and which pods it leaves unschedulable. Capacity types are not compared:
Karpenter is fed on-demand offerings only (karpenter.py), simulate prefers spot where a pool
allows it.

Used by tests/controlplane/test_karpenter.py (a few workloads) and
benchmarks/karpenter_agreement.py (all of them, with the agreement rate).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from eks_gpu.cli.main import main

from .kube import Kube, Obj, condition

POOL_LABEL = "eks-gpu.test/pool"
GPU_NAME = "karpenter.k8s.aws/instance-gpu-name"


@dataclass(frozen=True)
class Pod:
    """One variation of the rendered smoke-test pod."""

    gpus: int = 1
    cpu: str = "100m"
    memory: str = "128Mi"
    selector: tuple[tuple[str, str], ...] = ()
    tolerates: bool = True


@dataclass(frozen=True)
class Workload:
    name: str
    pods: tuple[Pod, ...]


@dataclass(frozen=True)
class Outcome:
    instance_types: tuple[str, ...]  # sorted, one per NodeClaim
    unschedulable: tuple[str, ...]  # pod names, sorted

    def __str__(self) -> str:
        launched = ", ".join(self.instance_types) or "nothing"
        pending = f"; unschedulable: {', '.join(self.unschedulable)}" if self.unschedulable else ""
        return launched + pending


WORKLOADS = (
    Workload("1 GPU", (Pod(),)),
    Workload("2 GPUs", (Pod(gpus=2),)),
    Workload("4 GPUs", (Pod(gpus=4),)),
    Workload("8 GPUs", (Pod(gpus=8),)),
    Workload("1 GPU + 30 CPU", (Pod(cpu="30"),)),
    Workload("1 GPU + 120Gi", (Pod(memory="120Gi"),)),
    Workload("1 GPU, A10G", (Pod(selector=((GPU_NAME, "a10g"),)),)),
    Workload("1 GPU, g6e", (Pod(selector=(("karpenter.k8s.aws/instance-family", "g6e"),)),)),
    Workload("3 pods x 1 GPU", (Pod(), Pod(), Pod())),
    Workload("2 pods x 4 GPUs", (Pod(gpus=4), Pod(gpus=4))),
    Workload("1 GPU, H100 (not in the pool)", (Pod(selector=((GPU_NAME, "h100"),)),)),
    Workload("16 GPUs (no such type)", (Pod(gpus=16),)),
    Workload("1 GPU, no toleration", (Pod(tolerates=False),)),
)


def rendered() -> list[Obj]:
    """`eks-gpu render --cluster-name demo -o json`, in-process."""
    items: list[Obj] = json.loads(_cli("render", "--cluster-name", "demo", "-o", "json"))["items"]
    return items


def _cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    assert code in (0, 1), f"eks-gpu {' '.join(args)} exited {code}"
    return out.getvalue()


def nodepool(objects: list[Obj], name: str, *, kwok: bool) -> Obj:
    """The rendered NodePool, renamed, with a node label of its own (and on kwok if asked)."""
    pool = copy.deepcopy(next(o for o in objects if o["kind"] == "NodePool"))
    pool["metadata"]["name"] = name
    pool["spec"]["template"]["metadata"]["labels"][POOL_LABEL] = name
    if kwok:
        pool["spec"]["template"]["spec"]["nodeClassRef"] = {
            "group": "karpenter.kwok.sh",
            "kind": "KWOKNodeClass",
            "name": "default",
        }
    return pool


def pods(objects: list[Obj], pool: str, workload: Workload) -> list[Obj]:
    base = next(o for o in objects if o["metadata"].get("name") == "gpu-simple-test")
    out = []
    for i, spec in enumerate(workload.pods):
        pod = copy.deepcopy(base)
        pod["metadata"]["name"] = f"{pool}-{i}"
        pod["metadata"].setdefault("labels", {})[POOL_LABEL] = pool
        pod["spec"]["nodeSelector"] = {
            **pod["spec"].get("nodeSelector", {}),
            POOL_LABEL: pool,
            **dict(spec.selector),
        }
        if not spec.tolerates:
            pod["spec"]["tolerations"] = [
                t for t in pod["spec"].get("tolerations", []) if t.get("key") != "nvidia.com/gpu"
            ]
        resources = pod["spec"]["containers"][0]["resources"]
        resources["requests"] = {"cpu": spec.cpu, "memory": spec.memory}
        resources["limits"] = {"memory": spec.memory, "nvidia.com/gpu": str(spec.gpus)}
        out.append(pod)
    return out


def simulate(objects: list[Obj], workload: Workload, folder: Path) -> Outcome:
    """What `eks-gpu simulate` says for ``workload`` on the rendered pool."""
    name = "sim-" + uuid.uuid4().hex[:6]
    ec2nodeclass = next(o for o in objects if o["kind"] == "EC2NodeClass")
    manifests = folder / f"{name}-pool.yaml"
    manifests.write_text(yaml.safe_dump_all([ec2nodeclass, nodepool(objects, name, kwok=False)]))
    work = folder / f"{name}-pods.json"
    listing = {"apiVersion": "v1", "kind": "List", "items": pods(objects, name, workload)}
    work.write_text(json.dumps(listing))
    args = ("simulate", "--manifests", str(manifests), "--workload", str(work), "-o", "json")
    result = json.loads(_cli(*args))
    types = [c["instance_type"] for c in result["nodeclaims"]]
    pending = [u["pod"].split("/")[1].removeprefix(f"{name}-") for u in result["unschedulable"]]
    return Outcome(tuple(sorted(types)), tuple(sorted(pending)))


@contextlib.contextmanager
def karpenter_pool(kube: Kube, objects: list[Obj]) -> Iterator[str]:
    """A fresh kwok NodePool for one run; on exit its NodeClaims and nodes are gone."""
    name = "krp-" + uuid.uuid4().hex[:6]
    pool = nodepool(objects, name, kwok=True)
    kube.apply(next(o for o in objects if o["kind"] == "Namespace"), "eks-gpu-test")
    kube.apply(pool, "eks-gpu-test")
    # Karpenter skips a pool until it is Ready, and then looks again only 10 s later.
    kube.wait_for(kube.object_path(pool), lambda p: condition(p, "Ready").get("status") == "True")
    try:
        yield name
    finally:
        _cleanup(kube, pool)


def _cleanup(kube: Kube, pool: Obj) -> None:
    # No controller-manager means no garbage collector to cascade from the NodePool: delete
    # the pods and NodeClaims; Karpenter drains and deletes the nodes, then its finalizer.
    name = pool["metadata"]["name"]
    for pod in kube.get("/api/v1/pods", labelSelector=f"{POOL_LABEL}={name}")["items"]:
        kube.delete({"apiVersion": "v1", "kind": "Pod", "metadata": pod["metadata"]})
    claims, selector = "/apis/karpenter.sh/v1/nodeclaims", f"karpenter.sh/nodepool={name}"
    for claim in kube.get(claims, labelSelector=selector)["items"]:
        kube.request("DELETE", f"{claims}/{claim['metadata']['name']}")
    kube.wait_for(claims, lambda found: not found["items"], timeout=90, labelSelector=selector)
    kube.delete(pool)


def _settled(kube: Kube, pod: Obj) -> bool:
    """Running, or refused by Karpenter (its own FailedScheduling event)."""
    if kube.get(kube.object_path(pod)).get("status", {}).get("phase") == "Running":
        return True
    events = kube.get(
        f"/api/v1/namespaces/{pod['metadata']['namespace']}/events",
        fieldSelector=f"involvedObject.name={pod['metadata']['name']},reason=FailedScheduling",
    )
    return any(e.get("reportingComponent") == "karpenter" for e in events["items"])


def karpenter(kube: Kube, objects: list[Obj], workload: Workload, timeout: float = 90) -> Outcome:
    """What real Karpenter launches for ``workload`` (and which pods it cannot place)."""
    with karpenter_pool(kube, objects) as name:
        created = pods(objects, name, workload)
        for pod in created:
            kube.apply(pod, "eks-gpu-test")
        deadline = time.monotonic() + timeout
        while not all(_settled(kube, pod) for pod in created):
            assert time.monotonic() < deadline, f"{workload.name}: pods not settled in {timeout}s"
            time.sleep(0.5)
        selector = f"karpenter.sh/nodepool={name}"
        claims = kube.get("/apis/karpenter.sh/v1/nodeclaims", labelSelector=selector)["items"]
        pending = [
            p["metadata"]["name"].removeprefix(f"{name}-")
            for p in kube.get("/api/v1/pods", labelSelector=f"{POOL_LABEL}={name}")["items"]
            if p.get("status", {}).get("phase") != "Running"
        ]
        types = [c["metadata"]["labels"]["node.kubernetes.io/instance-type"] for c in claims]
        return Outcome(tuple(sorted(types)), tuple(sorted(pending)))


Comparison = tuple[Workload, Outcome, Outcome]  # (workload, Karpenter's, simulate's)


def compare(
    kube: Kube, objects: list[Obj], workloads: tuple[Workload, ...], folder: Path
) -> list[Comparison]:
    """Each workload through both."""
    return [(w, karpenter(kube, objects, w), simulate(objects, w, folder)) for w in workloads]
