"""Count the API calls a command made, from the apiserver's audit log (Metadata level).

Take a :class:`Mark` before the command, then :func:`calls_since` lists what it did: one
:class:`Call` per request that reached ``ResponseComplete``, filtered by the user agent
(eks-gpu sends ``eks-gpu``) so the test's own admin calls are not counted.
"""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mark:
    """A position in the audit log."""

    path: Path
    offset: int


@dataclass(frozen=True)
class Call:
    """One request: verb (``list``, ``get``, ``patch``, ``watch``, ...), resource, and URI."""

    verb: str
    resource: str
    uri: str
    user: str
    user_agent: str
    code: int

    @property
    def query(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.uri).query))


def mark(audit_log: Path) -> Mark:
    """The current end of the log."""
    return Mark(audit_log, audit_log.stat().st_size if audit_log.exists() else 0)


def calls_since(start: Mark, user_agent: str = "eks-gpu") -> list[Call]:
    """Every completed request after ``start`` whose user agent starts with ``user_agent``."""
    with start.path.open("rb") as log:
        log.seek(start.offset)
        lines = log.read().decode("utf-8", "replace").splitlines()
    calls = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line still being written
        if event.get("stage") != "ResponseComplete":
            continue
        agent = str(event.get("userAgent") or "")
        if not agent.startswith(user_agent):
            continue
        ref = event.get("objectRef") or {}
        group = ref.get("apiGroup") or ""
        resource = f"{ref.get('resource', '')}.{group}" if group else str(ref.get("resource", ""))
        if ref.get("subresource"):
            resource += f"/{ref['subresource']}"
        calls.append(
            Call(
                str(event.get("verb") or ""),
                resource,
                str(event.get("requestURI") or ""),
                str((event.get("user") or {}).get("username") or ""),
                agent,
                int((event.get("responseStatus") or {}).get("code") or 0),
            )
        )
    return calls


def lists_per_resource(calls: list[Call]) -> Counter[str]:
    """How many LIST requests each resource got, counting a paginated LIST once (its first
    page: the request without ``continue``)."""
    return Counter(c.resource for c in calls if c.verb == "list" and "continue" not in c.query)


__all__ = ["Call", "Mark", "calls_since", "lists_per_resource", "mark"]
