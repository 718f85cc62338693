"""``eks-gpu render``: config -> manifests, on stdout or in the guide's folder layout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from eks_gpu.cli.config_source import require_cluster_name, resolve_config
from eks_gpu.cli.params import PROFILE_NAMES
from eks_gpu.errors import UsageError

if TYPE_CHECKING:
    from eks_gpu.render.bundle import Group

GROUP_NAMES = ("nodeclass", "nodepool", "device-plugin", "tests")


def parse_only(value: str | None) -> tuple[Group, ...]:
    """``--only nodepool,tests`` -> ``('nodepool', 'tests')``, each name checked."""
    if not value:
        return cast("tuple[Group, ...]", GROUP_NAMES)
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [name for name in names if name not in GROUP_NAMES]
    if unknown or not names:
        raise UsageError(
            f"--only: unknown group {', '.join(unknown) or repr(value)}",
            hint=f"choose from {','.join(GROUP_NAMES)}",
        )
    return cast("tuple[Group, ...]", names)


def write_out_dir(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` (relative path -> text) under ``out_dir``; only our files are touched."""
    written = []
    for relative, text in files.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


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
    from eks_gpu.render.bundle import files_of, kustomization, render_all
    from eks_gpu.render.serialize import to_json_list, to_yaml, to_yaml_stream

    groups = parse_only(only)
    if out_dir is not None and output != "yaml":
        raise UsageError("--out-dir writes YAML files; -o json only applies to stdout")
    loaded = resolve_config(config_path, profile)
    cluster = require_cluster_name(loaded.config, cluster_name)
    items = render_all(loaded.config, cluster, groups)
    if out_dir is None:
        objects = [item.obj for item in items]
        text = to_json_list(objects) if output == "json" else to_yaml_stream(objects)
        click.echo(text, nl=False)
        return 0
    files = {path: to_yaml_stream(objs) for path, objs in files_of(items).items()}
    files["kustomization.yaml"] = to_yaml(kustomization(list(files)))
    for path in write_out_dir(out_dir, files):
        click.echo(f"wrote {path}")
    return 0
