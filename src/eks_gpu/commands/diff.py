"""``diff``: what ``apply`` would change, as a unified diff of live against rendered.

Only the fields we render are compared (``manifests/live_diff``: the live object pruned to
our field paths), so status, server-managed metadata and server defaults never show. Exit
codes follow ``kubectl diff``: 0 no differences, 1 differences, others for errors (3: the
cluster could not be read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.config_source import DEFAULT_SOURCE, RenderSource
from eks_gpu.commands.preflight import apply_set
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_FINDINGS, EXIT_OK, NotFoundError

if TYPE_CHECKING:
    from eks_gpu.manifests.live_diff import ObjectDiff


@dataclass(frozen=True)
class DiffResult:
    """One :class:`ObjectDiff` per rendered object, in apply order."""

    context: str
    diffs: tuple[ObjectDiff, ...]
    messages: tuple[str, ...] = ()

    @property
    def changed(self) -> tuple[ObjectDiff, ...]:
        return tuple(d for d in self.diffs if d.state != "same")

    @property
    def exit_code(self) -> int:
        return EXIT_FINDINGS if self.changed else EXIT_OK

    @property
    def text(self) -> str:
        """The unified diffs, one after the other (nothing when nothing differs)."""
        return "".join(d.text for d in self.changed)

    def to_json(self) -> dict[str, Any]:
        """Each object's state and diff (for library callers; the CLI prints the text)."""
        objects = [{"object": d.name, "state": d.state, "diff": d.text} for d in self.diffs]
        return envelope("Diff", {"context": self.context, "objects": objects})


def diff(
    source: RenderSource = DEFAULT_SOURCE,
    *,
    kubeconfig: str | None = None,
    kube_context: str | None = None,
) -> DiffResult:
    """Diff the render of ``source`` against the objects of the cluster (reads only)."""
    from eks_gpu.cluster.apply import Resolver, fetch
    from eks_gpu.cluster.client import connect
    from eks_gpu.manifests.live_diff import diff_object
    from eks_gpu.render.apply_order import describe

    chosen = apply_set(source)
    client = connect(kubeconfig, kube_context)
    resolver = Resolver(client)
    diffs, notes = [], []
    try:
        for obj in chosen.objects:
            name = describe(obj)
            try:
                live = fetch(client, resolver.path(obj))
            except NotFoundError as error:  # the kind itself is not served: apply would fail
                notes.append(f"{name}: {error.message}")
                live = None
            diffs.append(diff_object(name, live, obj))
    finally:
        client.close()
    result = DiffResult(client.context, tuple(diffs))
    counts = f"{len(result.changed)} of {len(diffs)} objects differ from context {client.context}"
    return DiffResult(result.context, result.diffs, (*notes, counts))


__all__ = ["DiffResult", "diff"]
