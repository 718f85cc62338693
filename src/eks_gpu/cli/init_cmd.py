"""``eks-gpu init``: flags -> :func:`eks_gpu.commands.init.init` -> the config or ``wrote``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import PROFILE_NAMES
from eks_gpu.commands.config_source import DEFAULT_FILE

if TYPE_CHECKING:
    from eks_gpu.commands.init import InitResult


def init_text(result: InitResult) -> str:
    """The config itself when it goes to stdout, else the file it was written to."""
    if result.path is None:
        return result.text
    return f"wrote {result.path} (profile {result.profile})\n"


@click.command()
@click.option(
    "--profile",
    type=click.Choice(PROFILE_NAMES),
    default="guide",
    show_default=True,
    help="Starting point from the guide's priority list.",
)
@click.option("--cluster-name", help="EKS cluster name to write into the config.")
@click.option(
    "-f",
    "--file",
    "path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_FILE,
    show_default=True,
    help="Where to write; '-' for stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(profile: str, cluster_name: str | None, path: Path, force: bool) -> int:
    """Write a commented eks-gpu.yaml from a profile.

    \b
    Profiles (the guide's priority list):
      guide      G4dn/G5/G6/G6e/P3/P4, Spot + On-Demand (the guide as written)
      dev        g4dn on Spot
      inference  g5 On-Demand
      training   P-family, Spot + On-Demand

    \b
    Examples:
      eks-gpu init --profile dev --cluster-name demo
      eks-gpu init --profile training -f - | less
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.init import init as run

    target = None if str(path) == "-" else path
    result = run(profile, cluster_name=cluster_name, path=target, force=force)
    return emit(result, "text", {"text": init_text})
