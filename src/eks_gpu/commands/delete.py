"""``delete``: remove the config's objects from the cluster, ours only, dependants first.

Each rendered object's live twin is read first. One that is absent is reported as such; one
without ``app.kubernetes.io/managed-by: eks-gpu`` is someone else's object that happens to
have our name, and is left alone ("not ours"). Before a NodePool goes, the running pods that
request ``nvidia.com/gpu`` on its nodes (label ``karpenter.sh/nodepool``) are listed: Karpenter
drains and terminates those nodes once the pool is gone. Deleting needs ``--yes`` (or a yes
at the prompt on a terminal); without it the plan is printed and nothing is deleted.
Propagation is ``Background`` (see ``cluster/apply.PROPAGATION``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from eks_gpu.commands.config_source import DEFAULT_SOURCE, RenderSource
from eks_gpu.commands.preflight import apply_set, check_dry_run
from eks_gpu.commands.result import Outcome, envelope
from eks_gpu.errors import EXIT_CLUSTER, EXIT_FINDINGS, EXIT_OK, ClusterAccessError, NotFoundError

if TYPE_CHECKING:
    from eks_gpu.cluster.apply import Resolver
    from eks_gpu.cluster.client import Client

KIND = "DeleteReport"
Action = Literal["deleted", "absent", "not-ours", "failed", "not-deleted"]
Obj = dict[str, Any]
Confirm = Callable[[str], bool]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class GpuPod:
    """A running pod that requests GPUs on a node of a NodePool about to be deleted."""

    namespace: str
    name: str
    node: str
    nodepool: str

    def as_json(self) -> dict[str, str]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "node": self.node,
            "nodepool": self.nodepool,
        }


@dataclass(frozen=True)
class Target:
    """One rendered object: its name, path, and what the cluster has (None: absent)."""

    name: str
    obj: Obj
    path: str
    live: Obj | None


@dataclass(frozen=True)
class DeleteResult:
    """What was (or would be) deleted, the GPU pods drained with it, and whether it ran."""

    context: str
    dry_run: str
    outcomes: tuple[Outcome[Action], ...]
    gpu_pods: tuple[GpuPod, ...]
    confirmed: bool
    messages: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        if any(o.action == "failed" for o in self.outcomes):
            return EXIT_CLUSTER
        return EXIT_OK if self.confirmed else EXIT_FINDINGS

    def to_json(self) -> dict[str, Any]:
        return envelope(
            KIND,
            {
                "context": self.context,
                "dryRun": self.dry_run,
                "confirmed": self.confirmed,
                "objects": [o.as_json() for o in self.outcomes],
                "gpuPods": [p.as_json() for p in self.gpu_pods],
            },
        )


def running_gpu_pods(nodepool: str, pods: Iterable[Obj]) -> list[GpuPod]:
    """The pods of ``pods`` that ask for ``nvidia.com/gpu`` (limit or request)."""
    from eks_gpu.validate.rules.workloads import requests_gpus

    found = []
    for pod in pods:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        if requests_gpus(spec):
            namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            found.append(GpuPod(namespace, name, str(spec.get("nodeName") or ""), nodepool))
    return found


def is_ours(target: Target) -> bool:
    from eks_gpu.render.apply_order import is_managed

    return target.live is not None and is_managed(target.live)


def _targets(client: Client, resolver: Resolver, objects: Sequence[Obj]) -> list[Target]:
    from eks_gpu.cluster.apply import fetch
    from eks_gpu.render.apply_order import delete_order, describe

    targets = []
    for obj in delete_order(objects):
        try:
            path = resolver.path(obj)
        except NotFoundError:  # the kind is not served (a CRD not installed): nothing to delete
            targets.append(Target(describe(obj), obj, "", None))
            continue
        targets.append(Target(describe(obj), obj, path, fetch(client, path)))
    return targets


def _drained(client: Client, targets: Iterable[Target]) -> list[GpuPod]:
    """GPU pods on the nodes of every NodePool we are about to delete."""
    from eks_gpu.cluster.apply import nodepool_nodes, pods_on

    found = []
    for target in targets:
        if target.obj.get("kind") != "NodePool" or not is_ours(target):
            continue
        pool = str((target.obj.get("metadata") or {}).get("name"))
        for node in nodepool_nodes(client, pool):
            node_name = str((node.get("metadata") or {}).get("name"))
            found += running_gpu_pods(pool, pods_on(client, node_name))
    return found


def _question(targets: Sequence[Target], pods: Sequence[GpuPod], context: str) -> str:
    ours = [t.name for t in targets if is_ours(t)]
    drained = f"; {len(pods)} running GPU pods would be drained" if pods else ""
    return f"delete {', '.join(ours)} from context {context}{drained}?"


def _run(
    client: Client, targets: Sequence[Target], dry_run: str, progress: Progress | None
) -> tuple[Outcome[Action], ...]:
    from eks_gpu.cluster.apply import delete as delete_object

    outcomes: list[Outcome[Action]] = []
    for index, target in enumerate(targets):
        if target.live is None:
            outcomes.append(Outcome(target.name, "absent"))
            continue
        if not is_ours(target):
            outcomes.append(Outcome(target.name, "not-ours"))
            continue
        try:
            if dry_run != "client":
                delete_object(client, target.path, dry_run=dry_run == "server")
        except NotFoundError:
            pass  # gone meanwhile (or a retried DELETE whose first try went through)
        except ClusterAccessError as error:
            outcomes.append(Outcome(target.name, "failed", "\n".join(error.lines())))
            outcomes += [_not_deleted(t) for t in targets[index + 1 :]]
            break
        outcomes.append(Outcome(target.name, "deleted"))
        if progress:
            progress(f"{target.name}: deleted{' (dry run)' if dry_run != 'none' else ''}")
    return tuple(outcomes)


def _not_deleted(target: Target) -> Outcome[Action]:
    if target.live is None:
        return Outcome(target.name, "absent")
    return Outcome(target.name, "not-deleted" if is_ours(target) else "not-ours")


def planned(targets: Sequence[Target]) -> tuple[Outcome[Action], ...]:
    """What would happen, when the delete was not confirmed."""
    return tuple(_not_deleted(t) for t in targets)


def delete(
    source: RenderSource = DEFAULT_SOURCE,
    *,
    kubeconfig: str | None = None,
    kube_context: str | None = None,
    dry_run: str = "none",
    confirm: Confirm | None = None,
    progress: Progress | None = None,
) -> DeleteResult:
    """Delete the config's objects that carry our label (``confirm(question)`` is asked
    first; None means yes). Dry runs need no confirmation."""
    from eks_gpu.cluster.apply import Resolver
    from eks_gpu.cluster.client import connect

    mode = check_dry_run(dry_run)
    chosen = apply_set(source)
    client = connect(kubeconfig, kube_context)
    try:
        targets = _targets(client, Resolver(client), chosen.objects)
        pods = tuple(_drained(client, targets))
        question = _question(targets, pods, client.context)
        anything = any(is_ours(t) for t in targets)
        yes = mode != "none" or not anything or confirm is None or confirm(question)
        if not yes:
            refused = "not confirmed: nothing deleted (pass --yes to delete)"
            return DeleteResult(client.context, mode, planned(targets), pods, False, (refused,))
        outcomes = _run(client, targets, mode, progress)
        return DeleteResult(client.context, mode, outcomes, pods, True)
    finally:
        client.close()


__all__ = ["KIND", "DeleteResult", "GpuPod", "delete", "running_gpu_pods"]
