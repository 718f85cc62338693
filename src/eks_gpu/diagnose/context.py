"""What rules need besides the cluster: prices, the clock, thresholds."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from eks_gpu.catalog.prices import PriceBook, bundled_price_book
from eks_gpu.manifests.cluster_state import parse_time, short_age

DEFAULT_IDLE_AFTER = datetime.timedelta(minutes=30)
LOG_EVIDENCE_LINES = 3


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass(frozen=True)
class Context:
    """``now`` is the dump's capture time for ``--from`` (ages are as of the dump)."""

    prices: PriceBook = field(default_factory=bundled_price_book)
    now: datetime.datetime = field(default_factory=_now)
    idle_after: datetime.timedelta = DEFAULT_IDLE_AFTER


def age_text(delta: datetime.timedelta) -> str:
    """kubectl's short age, as ``status`` prints it."""
    return short_age(delta.total_seconds())


__all__ = ["DEFAULT_IDLE_AFTER", "LOG_EVIDENCE_LINES", "Context", "age_text", "parse_time"]
