"""Entry point of ``eks-gpu`` and ``kubectl-gpu``: a lazy command group.

Commands are imported only when run, so ``--help`` and ``--version`` never load pydantic,
YAML or the catalog. Every expected failure is an :class:`EksGpuError`, turned into a short
message on stderr and the exit code from :mod:`eks_gpu.errors`; only ``--debug`` shows
tracebacks. Every command takes ``--debug`` and ``--quiet`` before or after its name and
lists the exit codes in its ``--help`` (docs/cli.md).
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from eks_gpu import __version__
from eks_gpu.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EksGpuError,
    exit_code_for,
)

COMPLETE_VAR = "_EKS_GPU_COMPLETE"
DEBUG_KEY = "eks_gpu.debug"
QUIET_KEY = "eks_gpu.quiet"  # read by eks_gpu.cli.output.quiet
# Words a new user tries that are not commands, and the command that does that job.
INSTEAD = {
    "check": "validate",
    "lint": "validate",
    "install": "apply",
    "diagnose": "doctor",
    "list": "instances",
    "get": "status",
    "test": "verify",
}

# name -> (module, function, one-line help); the help is here so listing needs no imports.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "apply": (
        "eks_gpu.cli.apply_cmd",
        "apply",
        "Apply the rendered objects to the cluster (preflight, server-side apply, in order).",
    ),
    "catalog": (
        "eks_gpu.cli.catalog_cmd",
        "catalog",
        "Refresh prices and zone offerings from AWS; show the price source.",
    ),
    "doctor": (
        "eks_gpu.cli.doctor_cmd",
        "doctor",
        "Diagnose GPU problems (device plugin, nodes, NodeClaims, pending pods), live or --from.",
    ),
    "verify": (
        "eks_gpu.cli.verify_cmd",
        "verify",
        "Run the guide's checks and GPU test pods against the cluster; judge them; clean up.",
    ),
    "dump": (
        "eks_gpu.cli.dump_cmd",
        "dump",
        "Dump the cluster (one LIST per kind) and the GPU logs into one file for --from.",
    ),
    "delete": (
        "eks_gpu.cli.delete_cmd",
        "delete",
        "Delete the config's objects from the cluster (only those labelled as ours).",
    ),
    "completion": (
        "eks_gpu.cli.completion_cmd",
        "completion",
        "Print the shell completion script for bash, zsh or fish.",
    ),
    "diff": (
        "eks_gpu.cli.diff_cmd",
        "diff",
        "Show what apply would change: live against rendered, as a unified diff.",
    ),
    "init": ("eks_gpu.cli.init_cmd", "init", "Write a commented eks-gpu.yaml from a profile."),
    "instances": (
        "eks_gpu.cli.instances_cmd",
        "instances",
        "List GPU instance types with specs and prices.",
    ),
    "plan": (
        "eks_gpu.cli.plan_cmd",
        "plan",
        "Start here: render, validate and simulate the config; what it launches and costs.",
    ),
    "rbac": (
        "eks_gpu.cli.rbac_cmd",
        "rbac",
        "Print the least-privilege ClusterRoles each mode needs (read, apply, verify).",
    ),
    "recommend": (
        "eks_gpu.cli.recommend_cmd",
        "recommend",
        "Recommend GPU instance types for a workload, cheapest first.",
    ),
    "render": (
        "eks_gpu.cli.render_cmd",
        "render",
        "Render the GPU NodePool, EC2NodeClass, device plugin and test pods.",
    ),
    "simulate": (
        "eks_gpu.cli.simulate_cmd",
        "simulate",
        "Simulate what Karpenter would launch for workloads, and why pods stay Pending.",
    ),
    "status": (
        "eks_gpu.cli.status_cmd",
        "status",
        "Show GPU nodes: GPUs used, idle and unhealthy, per NodePool, and what they cost.",
    ),
    "validate": (
        "eks_gpu.cli.validate_cmd",
        "validate",
        "Validate Karpenter and Kubernetes manifests offline, plus GPU lint rules.",
    ),
}


def exit_code_epilog() -> str:
    """The exit code table (:data:`eks_gpu.errors.EXIT_CODES`) as a ``--help`` epilog."""
    rows = "".join(f"\n  {code:<5}{meaning}" for code, meaning in EXIT_CODES)
    return f"\b\nExit codes:{rows}"


def _flag_to_meta(key: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    """A callback that records a flag in ``ctx.meta``, which a group and its subcommands
    share, so the flag means the same before and after the subcommand."""

    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.meta[key] = True

    return callback


def shared_options() -> list[click.Option]:
    """``--debug`` and ``-q/--quiet``, as every command takes them."""
    return [
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_flag_to_meta(QUIET_KEY),
            help="Leave out info and progress lines on stderr (data, warnings and errors stay).",
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            callback=_flag_to_meta(DEBUG_KEY),
            help="Show the traceback of an unexpected error (a bug in eks-gpu).",
        ),
    ]


def adopt(command: click.Command) -> click.Command:
    """Give ``command`` (and a group's subcommands) the shared options and the exit code
    epilog, once."""
    names = {param.name for param in command.params}
    command.params += [option for option in shared_options() if option.name not in names]
    if command.epilog is None:
        command.epilog = exit_code_epilog()
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            adopt(subcommand)
    return command


def _no_such_command(ctx: click.Context, name: str) -> click.UsageError:
    """An unknown command, with the closest commands (or the one that does that job) and
    where the list is."""
    close = difflib.get_close_matches(name, list(COMMANDS), n=2, cutoff=0.6)
    if name in INSTEAD:
        close = [INSTEAD[name], *[c for c in close if c != INSTEAD[name]]]
    guess = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return click.UsageError(
        f"No such command {name!r}.{guess} See '{ctx.command_path} --help' for the commands.",
        ctx,
    )


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attribute, _ = entry
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return adopt(command)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            raise _no_such_command(ctx, name)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=exit_code_epilog(),
)
@click.version_option(__version__, "--version", prog_name="eks-gpu", message="%(prog)s %(version)s")
def cli() -> None:
    """eks-gpu: verified, cost-aware GPU capacity for EKS clusters that run Karpenter.

    The EKS GPU guide as software. `plan` renders the GPU NodePool, EC2NodeClass and device
    plugin from eks-gpu.yaml, validates them and simulates what Karpenter would launch, all
    offline; `diff` and `apply` put them on the cluster; `verify` runs GPU test pods;
    `status` and `doctor` show and diagnose GPU capacity. Every command that prints data
    takes -o json; colour follows NO_COLOR and the terminal.

    \b
    Examples:
      eks-gpu init --profile inference --cluster-name prod
      eks-gpu plan
      eks-gpu apply --context prod && eks-gpu verify --context prod
      eks-gpu doctor --context prod
    """


adopt(cli)


def _prog_name(argv0: str) -> str:
    """``kubectl gpu`` when run as a kubectl plugin, else ``eks-gpu``."""
    return "kubectl gpu" if argv0.rsplit("/", 1)[-1].startswith("kubectl-gpu") else "eks-gpu"


def _debug_requested(args: list[str]) -> bool:
    """``--debug`` anywhere among the options (before ``--``), before or after the command."""
    options = args[: args.index("--")] if "--" in args else args
    return "--debug" in options


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's last flush of a closed pipe is quiet
    (the Python docs' recipe for SIGPIPE); a stream without a descriptor needs nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code: the command result's, or the error's from
    :func:`eks_gpu.errors.exit_code_for` (never raises for expected failures)."""
    from eks_gpu.cli.output import StdoutClosed, error_lines, say

    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        result: Any = cli.main(
            args=args,
            prog_name=_prog_name(sys.argv[0]),
            standalone_mode=False,
            complete_var=COMPLETE_VAR,
        )
    except (StdoutClosed, BrokenPipeError):
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except click.ClickException as error:
        error.show()
        return EXIT_USAGE if error.exit_code == 2 else error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        say("aborted", err=True)
        return EXIT_INTERRUPTED
    except EksGpuError as error:
        error_lines(error.lines())
        return exit_code_for(error)
    except Exception as error:
        if debug:
            raise
        say(f"internal error: {type(error).__name__}: {error}", err=True)
        say("hint: rerun with --debug and report the traceback", err=True)
        return exit_code_for(error)
    return result if isinstance(result, int) else EXIT_OK


__all__ = ["COMMANDS", "cli", "main"]
