"""What rules need besides the cluster: prices, the clock, thresholds."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from eks_gpu.catalog.prices import PriceBook, bundled_price_book

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


def parse_time(text: object) -> datetime.datetime | None:
    """An RFC 3339 timestamp as the API writes it (``2026-12-01T10:00:00Z``), else None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def age_text(delta: datetime.timedelta) -> str:
    """kubectl's short age: ``45s``, ``12m``, ``5h``, ``3d``."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


__all__ = ["DEFAULT_IDLE_AFTER", "LOG_EVIDENCE_LINES", "Context", "age_text", "parse_time"]
