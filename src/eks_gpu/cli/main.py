"""Entry point of ``eks-gpu`` and ``kubectl-gpu``: a lazy command group.

Commands are imported only when run, so ``--help`` and ``--version`` never load pydantic,
YAML or the catalog. Every expected failure is an :class:`EksGpuError`, turned into a short
message on stderr and the exit code from :mod:`eks_gpu.errors`; only ``--debug`` shows
tracebacks.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from eks_gpu import __version__
from eks_gpu.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, EksGpuError, exit_code_for

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
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="eks-gpu", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """eks-gpu: verified, cost-aware GPU capacity for EKS clusters that run Karpenter.

    The EKS GPU guide as software: render the GPU NodePool and device plugin, then
    check, apply and diagnose them.
    """
    ctx.obj = {"debug": debug}


def _prog_name(argv0: str) -> str:
    """``kubectl gpu`` when run as a kubectl plugin, else ``eks-gpu``."""
    return "kubectl gpu" if argv0.rsplit("/", 1)[-1].startswith("kubectl-gpu") else "eks-gpu"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code: the command result's, or the error's from
    :func:`eks_gpu.errors.exit_code_for` (never raises for expected failures)."""
    from eks_gpu.cli.output import error_lines, say

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name=_prog_name(sys.argv[0]), standalone_mode=False)
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
