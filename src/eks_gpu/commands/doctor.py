"""``doctor``: read the cluster (live, or ``--from`` a dump) and diagnose its GPU capacity.

The rules are pure (``diagnose/``); this module picks the input, the prices and the clock
(a dump's capture time, so ages are as of the dump), and turns the report into a result.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eks_gpu.commands.cluster_source import ClusterSource, read_cluster
from eks_gpu.commands.price_source import price_book
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_FINDINGS, EXIT_OK, UsageError

if TYPE_CHECKING:
    from eks_gpu.diagnose.engine import Report
    from eks_gpu.diagnose.finding import Diagnosis

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


def _clock(captured_at: str) -> datetime.datetime:
    from eks_gpu.diagnose.context import parse_time

    return parse_time(captured_at) or datetime.datetime.now(datetime.timezone.utc)


def doctor(
    source: ClusterSource,
    *,
    severity: str = "info",
    skip: Sequence[str] = (),
    region: str | None = None,
    idle_after: datetime.timedelta | None = None,
) -> DoctorResult:
    """Diagnose the cluster of ``source``; ``skip`` names rules whose absence is accepted."""
    from eks_gpu.diagnose.context import DEFAULT_IDLE_AFTER, Context
    from eks_gpu.diagnose.engine import RULES, diagnose

    known = {rule_id for rule in RULES for rule_id in (rule.id, *rule.also)}
    unknown = sorted(set(skip) - known)
    if unknown:
        raise UsageError(
            f"--skip: unknown rule {', '.join(unknown)}",
            hint=f"rules are: {', '.join(sorted(known))}",
        )
    if severity not in SEVERITIES:
        raise UsageError(f"--severity must be one of {', '.join(SEVERITIES)}")
    state = read_cluster(source)
    context = Context(
        prices=price_book(region),
        now=_clock(state.captured_at),
        idle_after=idle_after or DEFAULT_IDLE_AFTER,
    )
    skipped = tuple(skip)
    rules = [rule for rule in RULES if rule.id not in skipped]
    return DoctorResult(diagnose(state, context, rules), severity, skipped)


__all__ = ["KIND", "SEVERITIES", "DoctorResult", "doctor"]
