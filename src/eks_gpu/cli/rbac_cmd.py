"""``eks-gpu rbac``: flags -> :func:`eks_gpu.commands.rbac.rbac` -> ClusterRoles as YAML
(each with comments saying why each rule is there) or as a JSON ``kind: List``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from eks_gpu.commands.rbac import RbacResult

MODE_NAMES = ("read", "apply", "verify")


def yaml_text(result: RbacResult) -> str:
    """One YAML document per ClusterRole, its reasons as comments above it."""
    from eks_gpu.commands.rbac import explanation
    from eks_gpu.render.serialize import to_yaml

    parts = []
    for mode, role in zip(result.modes, result.roles, strict=True):
        comments = "".join(f"# {line}\n" for line in explanation(mode))
        parts.append(f"{comments}---\n{to_yaml(role)}")
    return "".join(parts)


@click.command()
@click.option(
    "--for",
    "modes",
    type=click.Choice(MODE_NAMES),
    multiple=True,
    help="Only the role of this mode (repeatable; default: all three). read: status, doctor, "
    "dump, diff, validate --from-cluster; apply: apply and delete; verify: verify.",
)
@click.option(
    "-o", "--output", type=click.Choice(("yaml", "json")), default="yaml", show_default=True
)
def rbac(modes: tuple[str, ...], output: str) -> int:
    """Print the least-privilege ClusterRoles eks-gpu needs, one per mode.

    Bind the one you need to the user or ServiceAccount that runs eks-gpu. The rules
    come from one list in the code, which a test holds every command to on a real API
    server. Secrets are never asked for. A 403 names the one rule that is missing.

    \b
    Examples:
      eks-gpu rbac --for read | kubectl apply -f -
      kubectl create clusterrolebinding eks-gpu-read --clusterrole eks-gpu-read \\
        --serviceaccount ops:eks-gpu
      eks-gpu rbac -o json | jq '.items[].metadata.name'
    """
    from eks_gpu.cli.output import emit
    from eks_gpu.commands.rbac import rbac as run

    return emit(run(modes), output, {"yaml": yaml_text})
