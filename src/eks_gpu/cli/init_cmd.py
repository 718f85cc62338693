"""``eks-gpu init``: write a commented ``eks-gpu.yaml`` from one of the guide's profiles."""

from __future__ import annotations

from pathlib import Path

import click

from eks_gpu.cli.config_source import DEFAULT_FILE
from eks_gpu.cli.params import PROFILE_NAMES
from eks_gpu.errors import UsageError


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
    from eks_gpu.cli.config_source import check_cluster_name
    from eks_gpu.config.commented import commented_yaml
    from eks_gpu.config.profiles import PROFILES, profile_config

    if cluster_name is not None:
        check_cluster_name(cluster_name)
    config = profile_config(profile, cluster_name)
    header = [
        "eks-gpu configuration (render it with: eks-gpu render -c <this file>)",
        f"profile {profile}: {PROFILES[profile].summary}",
        "Every field is optional; unset ones take the guide's defaults.",
        "",
    ]
    text = commented_yaml(config, header)
    if str(path) == "-":
        click.echo(text, nl=False)
        return 0
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it")
    path.write_text(text, encoding="utf-8")
    click.echo(f"wrote {path} (profile {profile})")
    return 0
