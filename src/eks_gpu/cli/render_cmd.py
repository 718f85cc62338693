"""``eks-gpu render``: flags -> :func:`eks_gpu.commands.render.render` -> YAML/JSON or files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from eks_gpu.cli.params import PROFILE_NAMES
from eks_gpu.errors import UsageError

if TYPE_CHECKING:
    from eks_gpu.commands.render import RenderResult


def parse_only(value: str | None) -> tuple[str, ...]:
    """``--only nodepool,tests`` -> ``('nodepool', 'tests')``; the command checks the names."""
    if not value:
        return ()
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        from eks_gpu.commands.render import GROUP_NAMES

        raise UsageError(
            f"--only: unknown group {value!r}", hint=f"choose from {','.join(GROUP_NAMES)}"
        )
    return names


def stdout_text(result: RenderResult) -> str:
    """The objects as multi-document YAML, or the files written under ``--out-dir``."""
    if result.written:
        return "".join(f"wrote {path}\n" for path in result.written)
    from eks_gpu.render.serialize import to_yaml_stream

    return to_yaml_stream(result.objects)


@click.command()
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: $EKS_GPU_CONFIG, ./eks-gpu.yaml, else the guide).",
)
@click.option("--cluster-name", help="EKS cluster name (overrides clusterName in the config).")
@click.option(
    "--profile",
    type=click.Choice(PROFILE_NAMES),
    help="Render a built-in profile instead of a config file.",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Choice(("yaml", "json")),
    default="yaml",
    show_default=True,
    help="Output format on stdout.",
)
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write the guide's file layout and a kustomization.yaml here instead.",
)
@click.option(
    "--only",
    metavar="GROUPS",
    help="Comma list of nodeclass,nodepool,device-plugin,tests (default: all).",
)
def render(
    config_path: Path | None,
    cluster_name: str | None,
    profile: str | None,
    output: str,
    out_dir: Path | None,
    only: str | None,
) -> int:
    """Render the GPU NodePool, EC2NodeClass, device plugin and test pods.

    Output is deterministic multi-document YAML in apply order, so it can be piped to
    `kubectl apply -f -`, committed, and diffed.

    \b
    Examples:
      eks-gpu render --cluster-name demo
      eks-gpu render -c eks-gpu.yaml --out-dir manifests/
      eks-gpu render --profile dev --cluster-name demo --only nodepool -o json
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.config_source import RenderSource
    from eks_gpu.commands.render import render as run

    groups = parse_only(only)
    if out_dir is not None and output != "yaml":
        raise UsageError("--out-dir writes YAML files; -o json only applies to stdout")
    result = run(RenderSource(config_path, profile, cluster_name), only=groups, out_dir=out_dir)
    return emit(result, output, {"yaml": stdout_text})
