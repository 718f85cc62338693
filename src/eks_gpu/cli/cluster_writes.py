"""What ``apply`` and ``delete`` share on the command line: the cluster-name help, the
``--dry-run`` flag, the prompt, and the per-object outcome table."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
CLUSTER_HELP = "EKS cluster name (overrides clusterName in the config; one is required)."
DRY_RUN_CHOICES = ("none", "client", "server")


class _Outcome(Protocol):
    @property
    def object(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def error(self) -> str | None: ...


def dry_run_option(server_help: str) -> Callable[[F], F]:
    """``--dry-run=none|client|server``, kubectl's spelling; ``server_help`` says what the
    API server does with it for this command."""
    return click.option(
        "--dry-run",
        type=click.Choice(DRY_RUN_CHOICES),
        default="none",
        show_default=True,
        help=f"client: read only, show what would change; server: {server_help}",
    )


def terminal_prompt() -> Callable[[str], bool] | None:
    """A yes/no question on stderr when stdin is a terminal; None when there is none."""
    if not sys.stdin.isatty():
        return None
    return lambda question: click.confirm(question, default=False, err=True)


def outcome_table(outcomes: Iterable[_Outcome], dry_run: str) -> str:
    """One row per object with what happened to it, then each error under the table."""
    from eks_gpu.cli.table import format_table

    listed = list(outcomes)
    action = "ACTION (DRY RUN)" if dry_run != "none" else "ACTION"
    text = format_table(("OBJECT", action), [[o.object, o.action] for o in listed])
    errors = [f"\n{o.object}: {o.error}\n" for o in listed if o.error]
    return text + "".join(errors)


__all__ = [
    "CLUSTER_HELP",
    "DRY_RUN_CHOICES",
    "dry_run_option",
    "outcome_table",
    "terminal_prompt",
]
