"""``doctor``: read the cluster (live, or ``--from`` a dump) and diagnose its GPU capacity.

The rules are pure (``diagnose/``); this module picks the input, the prices and the clock
(a dump's capture time, so ages are as of the dump), and turns the report into a result.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.cluster_source import ClusterSource, connect, read_cluster
from eks_gpu.commands.price_source import price_book
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:
    from eks_gpu.diagnose.engine import Report
    from eks_gpu.diagnose.finding import Diagnosis
    from eks_gpu.manifests.cluster_state import ClusterState

KIND = "DoctorReport"
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class DoctorResult:
    """The diagnoses at or above ``severity``, what was checked, and what could not be."""

    report: Report
    severity: str = "info"
    skipped: tuple[str, ...] = ()

    @property
    def diagnoses(self) -> tuple[Diagnosis, ...]:
        cut = SEVERITIES.index(self.severity)
        return tuple(d for d in self.report.diagnoses if SEVERITIES.index(d.severity) <= cut)

    @property
    def not_run(self) -> tuple[tuple[str, str], ...]:
        """Rules that could not run and were not skipped on purpose (``--skip``)."""
        return tuple((r, why) for r, why in self.report.not_run if r not in self.skipped)

    @property
    def messages(self) -> tuple[str, ...]:
        lines = [f"not checked: {rule}: {why}" for rule, why in self.not_run]
        if self.not_run:
            ids = ",".join(rule for rule, _ in self.not_run)
            lines.append(f"hint: give doctor that input, or accept the gap with --skip {ids}")
        return tuple(lines)

    @property
    def exit_code(self) -> int:
        failed = any(d.severity == "error" for d in self.report.diagnoses) or self.not_run
        return EXIT_FINDINGS if failed else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return envelope(
            KIND,
            {
                "findings": [d.as_json() for d in self.diagnoses],
                "checked": dict(self.report.checked),
            },
        )


def read_live(source: ClusterSource, tail_lines: int) -> ClusterState:
    """The live cluster: one LIST per kind, then the log tails of the device plugin pods on
    GPU nodes only (one GET each), the logs the rules read; unreadable ones go to
    ``missing`` and make the log rules "not checked"."""
    import dataclasses

    from eks_gpu.cluster.logs import log_targets, read_logs
    from eks_gpu.cluster.snapshot import read_state
    from eks_gpu.diagnose.view import name_of, view_of

    client = connect(source)
    try:
        state = read_state(client)
        view = view_of(state)
        gpu_nodes = {name_of(node) for node in view.gpu_nodes}
        plugin_pods = {
            (str(pod["metadata"].get("namespace")), name_of(pod))
            for node in gpu_nodes
            for pod in view.plugin_pods_on(node)
        }
        targets = [t for t in log_targets(state) if (t.namespace, t.pod) in plugin_pods]
        logs, unread = read_logs(client, targets, tail_lines)
    finally:
        client.close()
    return dataclasses.replace(state, logs=logs, missing={**state.missing, **unread})


def doctor(
    source: ClusterSource,
    *,
    severity: str = "info",
    skip: Sequence[str] = (),
    region: str | None = None,
    idle_after: datetime.timedelta | None = None,
    tail_lines: int = 200,
) -> DoctorResult:
    """Diagnose the cluster of ``source``; ``skip`` names rules whose absence is accepted."""
    from eks_gpu.diagnose.context import DEFAULT_IDLE_AFTER, Context
    from eks_gpu.diagnose.engine import RULES, diagnose
    from eks_gpu.inventory.units import region_of

    known = {rule_id for rule in RULES for rule_id in (rule.id, *rule.also)}
    unknown = sorted(set(skip) - known)
    if unknown:
        raise UsageError(
            f"--skip: unknown rule {', '.join(unknown)}",
            hint=f"rules are: {', '.join(sorted(known))}",
        )
    if severity not in SEVERITIES:
        raise UsageError(f"--severity must be one of {', '.join(SEVERITIES)}")
    source.check()
    state = read_cluster(source) if source.from_path else read_live(source, tail_lines)
    context = Context(
        prices=price_book(region or region_of(state)),
        now=state.capture_time or datetime.datetime.now(datetime.timezone.utc),
        idle_after=idle_after or DEFAULT_IDLE_AFTER,
    )
    skipped = tuple(skip)
    rules = [rule for rule in RULES if rule.id not in skipped]
    return DoctorResult(diagnose(state, context, rules), severity, skipped)


__all__ = ["KIND", "SEVERITIES", "DoctorResult", "doctor"]
