"""``apply``: preflight, then server-side apply of the rendered objects in dependency order.

Each object is read before it is applied, so the report says what happened to it: created
(not there before), unchanged (the server answered with the same ``resourceVersion``: server-
side apply of identical fields writes nothing), or configured. ``--dry-run=server`` sends
``dryRun=All`` (the server runs admission and defaulting, persists nothing, and keeps the
``resourceVersion``), so there the object it answers is compared with the live one instead.
``--dry-run=client`` writes nothing and sends no PATCH: the live objects are diffed against
the render (``manifests/live_diff``).

A failure part-way stops the run (later objects depend on earlier ones); the report lists
what was applied, what failed and why (the client's typed error: a 403 with the RBAC rule, a
409 with the other field manager), and what was not attempted. Applying is idempotent, so
re-running converges. Like ``plan``, this command composes ``validate`` (the preflight's last
check).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from eks_gpu.commands.config_source import DEFAULT_SOURCE, RenderSource
from eks_gpu.commands.preflight import (
    DryRun,
    Preflight,
    apply_set,
    check_dry_run,
    run_preflight,
    validation_check,
)
from eks_gpu.commands.result import Outcome, envelope
from eks_gpu.errors import EXIT_CLUSTER, EXIT_FINDINGS, EXIT_OK, ClusterAccessError, UsageError

if TYPE_CHECKING:
    from eks_gpu.cluster.apply import Resolver
    from eks_gpu.cluster.client import Client
    from eks_gpu.commands.validate import ValidationResult

KIND = "ApplyReport"
Action = Literal["created", "configured", "unchanged", "failed", "not-applied"]
Progress = Callable[[str], None]
Confirm = Callable[[str], bool]
Obj = dict[str, Any]


@dataclass(frozen=True)
class ApplyResult:
    """The preflight, each object's outcome, and where it was applied."""

    context: str
    cluster_name: str
    dry_run: DryRun
    preflight: Preflight
    outcomes: tuple[Outcome[Action], ...]
    messages: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        """The preflight failed, so nothing was written."""
        return not self.preflight.ok

    @property
    def failed(self) -> bool:
        return any(o.action == "failed" for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        if self.refused:
            return EXIT_FINDINGS
        return EXIT_CLUSTER if self.failed else EXIT_OK

    def count(self, action: Action) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    @property
    def summary(self) -> str:
        """``no changes``, or the counts of what changed (or would, in a dry run)."""
        if self.refused:
            return "preflight failed: nothing applied"
        if self.outcomes and all(o.action == "unchanged" for o in self.outcomes):
            return "no changes"
        actions: tuple[Action, ...] = (
            "created", "configured", "unchanged", "failed", "not-applied",
        )  # fmt: skip
        counts = ", ".join(f"{self.count(a)} {a}" for a in actions if self.count(a))
        return counts + (" (dry run)" if self.dry_run != "none" else "")

    def to_json(self) -> dict[str, Any]:
        return envelope(
            KIND,
            {
                "context": self.context,
                "clusterName": self.cluster_name,
                "dryRun": self.dry_run,
                "karpenterVersion": self.preflight.karpenter_version,
                "preflight": [check.as_json() for check in self.preflight.checks],
                "objects": [outcome.as_json() for outcome in self.outcomes],
                "summary": self.summary,
            },
        )


def _content(obj: Obj) -> Obj:
    """``obj`` without what changes when nobody applied anything: ``status``, the
    ``resourceVersion``, managedFields' timestamps and status-subresource entries (a
    controller such as the DaemonSet controller writes status on its own schedule)."""
    meta = dict(obj.get("metadata") or {})
    meta["managedFields"] = [
        {k: v for k, v in entry.items() if k != "time"}
        for entry in meta.get("managedFields") or []
        if entry.get("subresource") != "status"
    ]
    meta.pop("resourceVersion", None)
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def _action(live: Obj | None, answer: Obj, dry_run: DryRun) -> Action:
    """Unchanged when the server kept the ``resourceVersion`` (a real apply of identical
    fields writes nothing); a dry run keeps it anyway, and a controller may have written
    status in between, so then the content decides."""
    if live is None:
        return "created"
    before = (live.get("metadata") or {}).get("resourceVersion")
    after = (answer.get("metadata") or {}).get("resourceVersion")
    if before == after and dry_run == "none":
        return "unchanged"
    return "unchanged" if _content(live) == _content(answer) else "configured"


def _client_action(name: str, live: Obj | None, obj: Obj) -> Action:
    from eks_gpu.manifests.live_diff import diff_object

    state = diff_object(name, live, obj).state
    return "created" if state == "create" else "configured" if state == "change" else "unchanged"


def _apply_one(
    client: Client, resolver: Resolver, obj: Obj, dry_run: DryRun, force: bool
) -> Action:
    from eks_gpu.cluster.apply import fetch, server_side_apply
    from eks_gpu.render.apply_order import describe

    path = resolver.path(obj)
    live = fetch(client, path)
    if dry_run == "client":
        return _client_action(describe(obj), live, obj)
    answer = server_side_apply(client, path, obj, force=force, dry_run=dry_run == "server")
    return _action(live, answer, dry_run)


def apply_objects(
    client: Client,
    objects: Sequence[Obj],
    *,
    dry_run: DryRun = "none",
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[Outcome[Action], ...]:
    """Apply ``objects`` in order, stopping at the first failure (the rest: not applied)."""
    from eks_gpu.cluster.apply import Resolver
    from eks_gpu.render.apply_order import describe

    resolver = Resolver(client)
    outcomes: list[Outcome[Action]] = []
    for index, obj in enumerate(objects):
        name = describe(obj)
        try:
            action = _apply_one(client, resolver, obj, dry_run, force)
        except ClusterAccessError as error:
            outcomes.append(Outcome(name, "failed", "\n".join(error.lines())))
            outcomes += [Outcome(describe(o), "not-applied") for o in objects[index + 1 :]]
            if progress:
                progress(f"{name}: failed")
            break
        outcomes.append(Outcome(name, action))
        if progress:
            progress(f"{name}: {action}{' (dry run)' if dry_run != 'none' else ''}")
    return tuple(outcomes)


def _validate(
    objects: Sequence[Obj], source: str, kubeconfig: str | None, context: str | None
) -> ValidationResult:
    """The preflight's ``validate``: the objects against the cluster's own CRDs."""
    from eks_gpu.commands.config_source import as_manifests
    from eks_gpu.commands.validate import validate
    from eks_gpu.render.bundle import Rendered

    items = [Rendered("nodepool", "", obj) for obj in objects]
    return validate(
        manifests=as_manifests(items, source),
        from_cluster=True,
        kubeconfig=kubeconfig,
        kube_context=context,
    )


def _notes(preflight: Preflight, outcomes: Sequence[Outcome[Action]]) -> tuple[str, ...]:
    """stderr lines: the Karpenter version, and why nothing (or not everything) was applied."""
    notes = [f"Karpenter version: {preflight.karpenter_version or 'unknown'}"]
    notes += [
        f"error: preflight {c.name}: {c.detail}"
        for c in preflight.checks
        if c.status not in ("pass", "skipped")
    ]
    notes += [
        f"error: {o.object}: {(o.error or '').splitlines()[0]}"
        for o in outcomes
        if o.action == "failed" and o.error
    ]
    return tuple(notes)


def apply(
    source: RenderSource = DEFAULT_SOURCE,
    *,
    kubeconfig: str | None = None,
    kube_context: str | None = None,
    dry_run: str = "none",
    force_conflicts: bool = False,
    skip_cluster_name_check: bool = False,
    confirm: Confirm | None = None,
    progress: Progress | None = None,
) -> ApplyResult:
    """Preflight, then apply the render of ``source`` (``confirm(question)`` asked before
    the first write; None: go ahead)."""
    from eks_gpu.cluster.client import connect
    from eks_gpu.render.apply_order import describe

    mode = check_dry_run(dry_run)
    chosen = apply_set(source)
    client = connect(kubeconfig, kube_context)
    try:
        checked = _validate(chosen.objects, chosen.source, kubeconfig, kube_context)
        preflight = run_preflight(
            client,
            chosen.objects,
            chosen.cluster_name,
            validation=validation_check(checked.findings, checked.skipped),
            skip_name_check=skip_cluster_name_check,
        )
        outcomes: tuple[Outcome[Action], ...]
        if not preflight.ok:
            outcomes = tuple(Outcome(describe(o), "not-applied") for o in chosen.objects)
        else:
            question = (
                f"apply {len(chosen.objects)} objects for cluster {chosen.cluster_name} "
                f"to context {client.context}?"
            )
            if mode == "none" and confirm is not None and not confirm(question):
                raise UsageError("apply cancelled: nothing written")
            outcomes = apply_objects(
                client, chosen.objects, dry_run=mode, force=force_conflicts, progress=progress
            )
        notes = _notes(preflight, outcomes)
        return ApplyResult(client.context, chosen.cluster_name, mode, preflight, outcomes, notes)
    finally:
        client.close()


__all__ = ["KIND", "ApplyResult", "apply", "apply_objects"]
