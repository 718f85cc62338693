"""What every command returns: a frozen result with a JSON document and an exit code.

The CLI prints results through one renderer (``cli/output.py``); library callers use the
same objects. ``to_json()`` is the ``-o json`` document: our own documents carry the
versioned envelope of :func:`envelope` (docs/json-output.md), so scripts can check
``apiVersion`` and ``kind`` before they read anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from eks_gpu.names import API_VERSION_EKS_GPU


class CommandResult(Protocol):
    """The shape the renderer relies on; each command's frozen dataclass provides it."""

    @property
    def messages(self) -> tuple[str, ...]:
        """Lines for stderr (warnings, the price source), never part of the document."""
        ...

    @property
    def exit_code(self) -> int:
        """The process exit code, one of the ``EXIT_*`` constants of :mod:`eks_gpu.errors`."""
        ...

    def to_json(self) -> dict[str, Any]:
        """The ``-o json`` document (a plain, JSON-serialisable dict)."""
        ...


def envelope(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` behind ``apiVersion`` and ``kind``, the two keys every document starts with."""
    return {"apiVersion": API_VERSION_EKS_GPU, "kind": kind, **body}


A = TypeVar("A", bound=str)


@dataclass(frozen=True)
class Outcome(Generic[A]):
    """What a command that writes did to one object (``apply``: created, configured, ...;
    ``delete``: deleted, not-ours, ...); ``error`` (with its hint) when it failed."""

    object: str
    action: A
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"object": self.object, "action": self.action, "error": self.error}


__all__ = ["CommandResult", "Outcome", "envelope"]
