"""The tool's typed errors and the one table of exit codes.

Every expected failure is an :class:`EksGpuError` carrying what the user must do next.
The CLI maps each class to an exit code in one place (:func:`exit_code_for`); nothing
else calls ``sys.exit`` or prints a traceback for an expected failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
"""Success."""
EXIT_FINDINGS = 1
"""The command ran, but a check failed or findings were reported."""
EXIT_USAGE = 2
"""Bad flags, bad config, bad input: the user must change what they passed."""
EXIT_CLUSTER = 3
"""The cluster (or cloud API) could not be reached or refused us."""
EXIT_INTERNAL = 70
"""A bug in eks-gpu (EX_SOFTWARE); reported with a traceback under ``--debug``."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C at a prompt), as shells report SIGINT: 128 + 2."""
EXIT_BROKEN_PIPE = 141
"""The reader of stdout went away (``| head -1``), as shells report SIGPIPE: 128 + 13."""

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "success"),
    (EXIT_FINDINGS, "the command ran, but a check failed or it reported findings"),
    (EXIT_USAGE, "bad flags, config or input: change what you passed"),
    (EXIT_CLUSTER, "the cluster or the AWS APIs could not be reached or refused the request"),
    (EXIT_INTERNAL, "a bug in eks-gpu: rerun with --debug and report the traceback"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
    (EXIT_BROKEN_PIPE, "stdout was closed early (| head); nothing is printed"),
)
"""The one table of exit codes, as ``--help`` and docs/exit-codes.md show it."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, what, and what is allowed instead."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class EksGpuError(Exception):
    """Base of every expected failure; ``hint`` says what to do next."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The lines to print on stderr, hint last."""
        out = [self.message]
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


class UsageError(EksGpuError):
    """Flags or arguments that cannot work together."""

    exit_code = EXIT_USAGE


class ConfigError(EksGpuError):
    """An ``eks-gpu.yaml`` that does not validate; one :class:`Problem` per bad field."""

    exit_code = EXIT_USAGE

    def __init__(self, source: str, problems: list[Problem], *, hint: str | None = None) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source}: {count} {noun}", hint=hint)
        self.source = source
        self.problems = problems

    def lines(self) -> list[str]:
        out = [f"error: {self.message}"]
        out += [f"  {problem}" for problem in self.problems]
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


class CatalogError(EksGpuError):
    """The bundled instance catalog is missing or unreadable (a broken install)."""

    exit_code = EXIT_INTERNAL


class ClusterAccessError(EksGpuError):
    """The Kubernetes API could not be reached or refused the request.

    When the API server answered, ``code`` is the HTTP status and ``status`` the server's
    ``Status`` object as it sent it (``reason``, ``message``, ``details``); both are None for a
    kubeconfig problem or a connection that never got an answer.
    """

    exit_code = EXIT_CLUSTER

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        code: int | None = None,
        status: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status

    @property
    def reason(self) -> str | None:
        """The Status ``reason`` (``NotFound``, ``Forbidden``, ...), when the server gave one."""
        reason = (self.status or {}).get("reason")
        return str(reason) if reason else None


class NotFoundError(ClusterAccessError):
    """The API server answered 404: the object (or its resource type) does not exist."""


class CloudAccessError(EksGpuError):
    """The AWS APIs could not be reached, had no credentials, or refused every request."""

    exit_code = EXIT_CLUSTER


def exit_code_for(error: BaseException) -> int:
    """The exit code for ``error``: the table above, in one place."""
    if isinstance(error, EksGpuError):
        return error.exit_code
    return EXIT_INTERNAL


__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_CLUSTER",
    "EXIT_CODES",
    "EXIT_FINDINGS",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CatalogError",
    "CloudAccessError",
    "ClusterAccessError",
    "ConfigError",
    "EksGpuError",
    "NotFoundError",
    "Problem",
    "UsageError",
    "exit_code_for",
]
