"""The same GPU workloads through real Karpenter and through `eks-gpu simulate`.

A :class:`Workload` is pods (variations of the rendered ``gpu-simple-test`` pod), NodePools
(variations of the rendered guide pool: weights, families, capacity types, GPU limits, a
taint of their own) and NodeOverlays. Every object of a workload carries one tag of its own:
pool names, the pools' template label :data:`POOL_LABEL` that every pod selects, pod names,
overlay names (and overlay requirements on ``karpenter.sh/nodepool``). So workloads never
share nodes or overlays and many run through one Karpenter at once (:func:`karpenter_batch`);
both sides see the same names, which decide Karpenter's order between equal-weight pools.

An :class:`Outcome` is what each launches, as sorted ``pool/instance-type/capacity-type``
strings, one per NodeClaim, and which pods it leaves unschedulable. Zones are not compared:
the kwok provider picks a random offering among equal prices (kwok/cloudprovider
``toNode``: ``lo.Sample(offeringsByPrice[minOfferingPrice])``) and on-demand prices are equal
across zones.

Used by tests/controlplane/test_karpenter.py (a few workloads) and
benchmarks/karpenter_agreement.py (200 generated ones, with the agreement rate).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

from eks_gpu.catalog.prices import PriceBook
from eks_gpu.cli.main import main
from eks_gpu.commands.simulate import build_inputs
from eks_gpu.scheduling.resources import parse_quantity
from eks_gpu.scheduling.simulate import simulate as run_simulation

from .kube import ApiError, Kube, Obj, condition

POOL_LABEL = "eks-gpu.test/pool"  # one value per workload: on its pools' nodes, in its pods
BATCH_LABEL = "eks-gpu.test/batch"  # on the pods of one concurrent batch
TAINT_KEY = "eks-gpu.test/dedicated"  # a pool's own taint (custom taints)
WIDGET = "eks-gpu.test/widget"  # an extended resource only a capacity NodeOverlay adds
GPU_NAME = "karpenter.k8s.aws/instance-gpu-name"
GPU = "nvidia.com/gpu"
NODEPOOL = "karpenter.sh/nodepool"
CAPACITY_TYPE = "karpenter.sh/capacity-type"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
FAMILY = "karpenter.k8s.aws/instance-family"
NODECLAIMS = "/apis/karpenter.sh/v1/nodeclaims"
NODEPOOLS = "/apis/karpenter.sh/v1/nodepools"
NODEOVERLAYS = "/apis/karpenter.sh/v1alpha1/nodeoverlays"
COMPARED = ("cpu", "memory", GPU)  # what a NodeClaim's planned requests are checked on

Requirement = tuple[str, str, tuple[str, ...]]  # key, operator, values


@dataclass(frozen=True)
class Pod:
    """One shape of the rendered smoke-test pod, ``count`` times."""

    gpus: int = 1
    cpu: str = "100m"
    memory: str = "128Mi"
    ephemeral: str | None = None
    selector: tuple[tuple[str, str], ...] = ()
    affinity: tuple[Requirement, ...] = ()
    tolerates: bool = True  # the rendered nvidia.com/gpu toleration kept
    tolerates_taint: bool = False  # tolerates the pools' own TAINT_KEY taint
    widgets: int = 0
    count: int = 1


@dataclass(frozen=True)
class Pool:
    """One variation of the rendered guide NodePool."""

    suffix: str = "a"
    weight: int | None = None
    families: tuple[str, ...] = ()  # replaces the rendered family requirement when set
    capacity_types: tuple[str, ...] = ()  # replaces the rendered capacity types when set
    gpu_limit: int | None = None  # replaces the rendered limits when set
    tainted: bool = False


@dataclass(frozen=True)
class Overlay:
    """A NodeOverlay on some of the workload's pools (all of them when ``pools`` is empty)."""

    suffix: str = "o"
    requirements: tuple[Requirement, ...] = ()
    price_adjustment: str | None = None
    price: str | None = None
    widgets: int = 0
    weight: int | None = None
    pools: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workload:
    name: str
    pods: tuple[Pod, ...]
    pools: tuple[Pool, ...] = (Pool(),)
    overlays: tuple[Overlay, ...] = ()

    def shapes(self) -> list[str]:
        """The shape of the n-th pod, as ``s<index in pods>``: which of identical pods stays
        Pending is Karpenter's UID order (queue.go), so outcomes name shapes, not pods."""
        return [f"s{i}" for i, spec in enumerate(self.pods) for _ in range(spec.count)]

    def pending(self, pod_names: Iterable[str], tag: str) -> tuple[str, ...]:
        """The sorted shapes of the pods named ``<tag>-<n>``."""
        shapes = self.shapes()
        return tuple(sorted(shapes[int(_suffix(name, tag))] for name in pod_names))


@dataclass(frozen=True)
class Outcome:
    launched: tuple[str, ...]  # sorted "pool/instance-type/capacity-type", one per NodeClaim
    unschedulable: tuple[str, ...]  # the shape of each, "s<n>" (Workload.pods[n]), sorted

    def __str__(self) -> str:
        launched = ", ".join(self.launched) or "nothing"
        pending = f"; unschedulable: {', '.join(self.unschedulable)}" if self.unschedulable else ""
        return launched + pending


@dataclass(frozen=True)
class Observed:
    """What Karpenter did for one workload, once settled."""

    outcome: Outcome
    races: tuple[str, ...] = ()  # NodeClaims whose node runs other pods than it was planned for
    claims: tuple[Obj, ...] = field(default=(), compare=False, repr=False)


WORKLOADS = (
    Workload("1 GPU", (Pod(),)),
    Workload("2 GPUs", (Pod(gpus=2),)),
    Workload("4 GPUs", (Pod(gpus=4),)),
    Workload("8 GPUs", (Pod(gpus=8),)),
    Workload("1 GPU + 30 CPU", (Pod(cpu="30"),)),
    Workload("1 GPU + 120Gi", (Pod(memory="120Gi"),)),
    Workload("1 GPU, A10G", (Pod(selector=((GPU_NAME, "a10g"),)),)),
    Workload("1 GPU, g6e", (Pod(selector=((FAMILY, "g6e"),)),)),
    Workload("3 pods x 1 GPU", (Pod(count=3),)),
    Workload("2 pods x 4 GPUs", (Pod(gpus=4, count=2),)),
    Workload("1 GPU, H100 (not in the pool)", (Pod(selector=((GPU_NAME, "h100"),)),)),
    Workload("16 GPUs (no such type)", (Pod(gpus=16),)),
    Workload("1 GPU, no toleration", (Pod(tolerates=False),)),
)


def rendered() -> list[Obj]:
    """`eks-gpu render --cluster-name demo -o json`, in-process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["render", "--cluster-name", "demo", "-o", "json"])
    assert code == 0, f"eks-gpu render exited {code}"
    items: list[Obj] = json.loads(out.getvalue())["items"]
    return items


def _kind(objects: list[Obj], kind: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind)


def _requirement(key: str, operator: str, values: Iterable[str]) -> Obj:
    values = list(values)
    return {"key": key, "operator": operator, **({"values": values} if values else {})}


def nodepools(objects: list[Obj], tag: str, workload: Workload, *, kwok: bool) -> list[Obj]:
    """The workload's pools: the rendered NodePool varied, named ``<tag>-<suffix>``."""
    base = _kind(objects, "NodePool")
    out = []
    for spec in workload.pools:
        pool = copy.deepcopy(base)
        pool["metadata"] = {"name": f"{tag}-{spec.suffix}"}
        template = pool["spec"]["template"]
        template["metadata"]["labels"][POOL_LABEL] = tag
        if kwok:
            template["spec"]["nodeClassRef"] = {
                "group": "karpenter.kwok.sh",
                "kind": "KWOKNodeClass",
                "name": "default",
            }
        replaced = {FAMILY: spec.families, CAPACITY_TYPE: spec.capacity_types}
        template["spec"]["requirements"] = [
            _requirement(r["key"], "In", replaced[r["key"]]) if replaced.get(r["key"]) else r
            for r in template["spec"]["requirements"]
        ]
        if spec.tainted:
            template["spec"]["taints"].append(
                {"key": TAINT_KEY, "value": tag, "effect": "NoSchedule"}
            )
        if spec.weight is not None:
            pool["spec"]["weight"] = spec.weight
        if spec.gpu_limit is not None:
            pool["spec"]["limits"] = {GPU: str(spec.gpu_limit)}
        out.append(pool)
    return out


def nodeoverlays(tag: str, workload: Workload) -> list[Obj]:
    """The workload's NodeOverlays, confined to its own pools by ``karpenter.sh/nodepool``."""
    out = []
    for spec in workload.overlays:
        pools = spec.pools or tuple(p.suffix for p in workload.pools)
        body: Obj = {
            "requirements": [
                _requirement(NODEPOOL, "In", [f"{tag}-{p}" for p in pools]),
                *(_requirement(k, op, v) for k, op, v in spec.requirements),
            ]
        }
        if spec.price_adjustment is not None:
            body["priceAdjustment"] = spec.price_adjustment
        if spec.price is not None:
            body["price"] = spec.price
        if spec.widgets:
            body["capacity"] = {WIDGET: str(spec.widgets)}
        if spec.weight is not None:
            body["weight"] = spec.weight
        out.append(
            {
                "apiVersion": "karpenter.sh/v1alpha1",
                "kind": "NodeOverlay",
                "metadata": {"name": f"{tag}-{spec.suffix}"},
                "spec": body,
            }
        )
    return out


def pods(objects: list[Obj], tag: str, workload: Workload, batch: str = "") -> list[Obj]:
    """The workload's pods, named ``<tag>-<n>``, selecting the workload's pools."""
    base = next(o for o in objects if o["metadata"].get("name") == "gpu-simple-test")
    out = []
    shapes = [spec for spec in workload.pods for _ in range(spec.count)]
    for i, spec in enumerate(shapes):
        pod = copy.deepcopy(base)
        pod["metadata"]["name"] = f"{tag}-{i}"
        labels = pod["metadata"].setdefault("labels", {})
        labels[POOL_LABEL] = tag
        if batch:
            labels[BATCH_LABEL] = batch
        pod["spec"]["nodeSelector"] = {
            **pod["spec"].get("nodeSelector", {}),
            POOL_LABEL: tag,
            **dict(spec.selector),
        }
        if spec.affinity:
            term = {"matchExpressions": [_requirement(k, op, v) for k, op, v in spec.affinity]}
            pod["spec"]["affinity"] = {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}
                }
            }
        tolerations = pod["spec"].get("tolerations", [])
        if not spec.tolerates:
            tolerations = [t for t in tolerations if t.get("key") != GPU]
        if spec.tolerates_taint:
            tolerations.append(
                {"key": TAINT_KEY, "operator": "Equal", "value": tag, "effect": "NoSchedule"}
            )
        pod["spec"]["tolerations"] = tolerations
        requests = {"cpu": spec.cpu, "memory": spec.memory}
        limits = {"memory": spec.memory}
        if spec.gpus:
            limits[GPU] = str(spec.gpus)
        if spec.ephemeral:
            requests["ephemeral-storage"] = limits["ephemeral-storage"] = spec.ephemeral
        if spec.widgets:
            limits[WIDGET] = str(spec.widgets)
        pod["spec"]["containers"][0]["resources"] = {"requests": requests, "limits": limits}
        out.append(pod)
    return out


# --- eks-gpu simulate ------------------------------------------------------------------------


def simulate(
    objects: list[Obj], tag: str, workload: Workload, prices: PriceBook, zones: Sequence[str]
) -> Outcome:
    """What `eks-gpu simulate` says for ``workload``: the library behind the command, given
    the same prices (spot included) and zones as Karpenter's kwok instance-types file."""
    manifests = [
        _kind(objects, "EC2NodeClass"),
        *nodepools(objects, tag, workload, kwok=False),
        *nodeoverlays(tag, workload),
    ]
    inputs = build_inputs(manifests, pods(objects, tag, workload), None, zones, None)
    result = run_simulation(dataclasses.replace(inputs, prices=prices)).document
    launched = [
        f"{_suffix(c['nodepool'], tag)}/{c['instance_type']}/{c['capacity_type']}"
        for c in result["nodeclaims"]
    ]
    pending = workload.pending((u["pod"].split("/")[1] for u in result["unschedulable"]), tag)
    return Outcome(tuple(sorted(launched)), pending)


def _suffix(name: str, tag: str) -> str:
    return name.removeprefix(f"{tag}-")


# --- real Karpenter --------------------------------------------------------------------------


@dataclass
class _Batch:
    """The objects of one concurrent batch, by workload tag."""

    name: str
    namespace: str
    workloads: dict[str, Workload]
    pools: list[Obj] = field(default_factory=list)
    overlays: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)

    @property
    def pool_names(self) -> set[str]:
        return {p["metadata"]["name"] for p in self.pools}


def karpenter_batch(
    kube: Kube,
    objects: list[Obj],
    workloads: dict[str, Workload],
    batch: str,
    *,
    timeout: float = 180,
    quiet: float = 8,
) -> dict[str, Observed]:
    """Run ``workloads`` (by tag) through Karpenter at once; what it did once settled.

    Settled: every pod Running or refused by Karpenter (its FailedScheduling event), every
    NodeClaim launched with its instance type resolved, and nothing changed for ``quiet``
    seconds (so a later provisioning pass, e.g. after a race, is seen too).
    """
    namespace = _kind(objects, "Namespace")
    state = _Batch(batch, namespace["metadata"]["name"], workloads)
    kube.apply(namespace, "eks-gpu-test")
    try:
        _create(kube, objects, state)
        claims, live = _settle(kube, state, timeout, quiet)
        return {tag: _observe(tag, state, claims, live) for tag in workloads}
    finally:
        _cleanup(kube, state)


def _create(kube: Kube, objects: list[Obj], state: _Batch) -> None:
    for tag, workload in state.workloads.items():
        state.pools += nodepools(objects, tag, workload, kwok=True)
        state.overlays += nodeoverlays(tag, workload)
        state.pods += pods(objects, tag, workload, state.name)
    for obj in (*state.overlays, *state.pools):
        kube.apply(obj, "eks-gpu-test")
    # Karpenter skips a pool until it is Ready (and then looks again only 10 s later), and
    # prices/capacity from an overlay apply once the overlay controller validated it.
    names = state.pool_names
    kube.wait_for(
        NODEPOOLS,
        lambda found: names <= {p["metadata"]["name"] for p in found["items"] if _ready(p)},
        timeout=60,
    )
    overlays = {o["metadata"]["name"] for o in state.overlays}
    if overlays:
        kube.wait_for(
            NODEOVERLAYS,
            lambda found: overlays <= {o["metadata"]["name"] for o in found["items"] if _ready(o)},
            timeout=60,
        )
        time.sleep(2)  # the overlay store is swapped in after the status write
    # All at once, inside one batching window of Karpenter (karpenter.py: BATCH_MAX_DURATION):
    # pods split over two provisioning passes would pack differently than one pass does.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda pod: kube.apply(pod, "eks-gpu-test"), state.pods))


def _ready(obj: Obj) -> bool:
    return condition(obj, "Ready").get("status") == "True"


def _settle(kube: Kube, state: _Batch, timeout: float, quiet: float) -> tuple[list[Obj], list[Obj]]:
    """Poll until settled; the batch's NodeClaims and pods as last seen."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while True:
        claims = [
            c
            for c in kube.get(NODECLAIMS)["items"]
            if c["metadata"].get("labels", {}).get(NODEPOOL) in state.pool_names
        ]
        live = kube.get(
            f"/api/v1/namespaces/{state.namespace}/pods",
            labelSelector=f"{BATCH_LABEL}={state.name}",
        )["items"]
        refused = _refused(kube, state.namespace)
        done = all(_launched(c) for c in claims) and all(
            p.get("status", {}).get("phase") == "Running" or p["metadata"]["name"] in refused
            for p in live
        )
        seen = (
            sorted((c["metadata"]["name"], _launched(c)) for c in claims),
            sorted((p["metadata"]["name"], p["spec"].get("nodeName")) for p in live),
            done,
        )
        now = time.monotonic()
        if seen != last:
            last, since = seen, now
        if done and now - since >= quiet:
            return claims, live
        if now > deadline:
            raise AssertionError(f"batch {state.name}: not settled in {timeout:.0f}s: {seen}")
        time.sleep(1)


def _launched(claim: Obj) -> bool:
    """Launched, with its instance type resolved (a NodeClaim has no type label before)."""
    labels = claim["metadata"].get("labels", {})
    return condition(claim, "Launched").get("status") == "True" and INSTANCE_TYPE in labels


def _refused(kube: Kube, namespace: str) -> set[str]:
    """Pods Karpenter could not place: its own FailedScheduling event (not kube-scheduler's)."""
    events = kube.get(
        f"/api/v1/namespaces/{namespace}/events", fieldSelector="reason=FailedScheduling"
    )["items"]
    return {
        e["involvedObject"]["name"] for e in events if e.get("reportingComponent") == "karpenter"
    }


def _observe(tag: str, state: _Batch, claims: list[Obj], live: list[Obj]) -> Observed:
    mine = [c for c in claims if c["metadata"]["labels"][POOL_LABEL] == tag]
    launched = [
        "/".join(
            (
                _suffix(c["metadata"]["labels"][NODEPOOL], tag),
                c["metadata"]["labels"][INSTANCE_TYPE],
                c["metadata"]["labels"][CAPACITY_TYPE],
            )
        )
        for c in mine
    ]
    my_pods = [p for p in live if p["metadata"]["labels"][POOL_LABEL] == tag]
    pending = state.workloads[tag].pending(
        (p["metadata"]["name"] for p in my_pods if p.get("status", {}).get("phase") != "Running"),
        tag,
    )
    outcome = Outcome(tuple(sorted(launched)), pending)
    return Observed(outcome, races(mine, my_pods), tuple(mine))


def races(claims: list[Obj], pods_seen: list[Obj]) -> tuple[str, ...]:
    """NodeClaims whose node runs other pods than Karpenter planned for it.

    A NodeClaim's ``spec.resources.requests`` is the sum of the requests of the pods its
    scheduling pass put on it (scheduling/nodeclaim.go ``NodeClaim.Add``: ``Merge(
    n.Spec.Resources.Requests, podData.Requests)``; no DaemonSets run here). kube-scheduler
    does not know that plan: when the node's bound pods sum to something else, it bound a pod
    Karpenter meant for another node.
    """
    out = []
    for claim in claims:
        node = claim.get("status", {}).get("nodeName")
        if not node:
            continue
        planned = claim["spec"].get("resources", {}).get("requests", {})
        bound = [p for p in pods_seen if p["spec"].get("nodeName") == node]
        got = _requests(bound)
        if any(parse_quantity(planned.get(k, "0")) != got[k] for k in COMPARED):
            out.append(claim["metadata"]["name"])
    return tuple(sorted(out))


def _requests(bound: list[Obj]) -> dict[str, Decimal]:
    total = dict.fromkeys(COMPARED, Decimal(0))
    for pod in bound:
        for container in pod["spec"]["containers"]:
            resources = container.get("resources", {})
            asked = {**resources.get("limits", {}), **resources.get("requests", {})}
            for key in COMPARED:
                total[key] += parse_quantity(asked.get(key, "0"))
    return total


def _cleanup(kube: Kube, state: _Batch) -> None:
    # Delete the pods and NodeClaims explicitly and wait (not a cascade from the NodePool, so
    # the next batch starts from no nodes); Karpenter drains and deletes the nodes.
    path = f"/api/v1/namespaces/{state.namespace}/pods"
    kube.request("DELETE", path, labelSelector=f"{BATCH_LABEL}={state.name}")
    names = state.pool_names

    def mine(found: Obj) -> list[str]:
        return [
            c["metadata"]["name"]
            for c in found["items"]
            if c["metadata"].get("labels", {}).get(NODEPOOL) in names
        ]

    for claim in mine(kube.get(NODECLAIMS)):
        with contextlib.suppress(ApiError):
            kube.request("DELETE", f"{NODECLAIMS}/{claim}")
    kube.wait_for(NODECLAIMS, lambda found: not mine(found), timeout=120)
    for obj in (*state.pools, *state.overlays):
        kube.delete(obj)
