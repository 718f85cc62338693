"""``eks-gpu completion``: click's completion script for bash, zsh or fish."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> int:
    """Print the shell completion script for bash, zsh or fish.

    The script calls eks-gpu back with $_EKS_GPU_COMPLETE set, so commands, options and
    choices complete from the installed version (bash needs 4.4 or newer).

    \b
    Examples:
      eval "$(eks-gpu completion bash)"            # in ~/.bashrc
      eks-gpu completion zsh > ~/.zfunc/_eks-gpu   # with fpath+=~/.zfunc before compinit
      eks-gpu completion fish > ~/.config/fish/completions/eks-gpu.fish
    """
    from click.shell_completion import get_completion_class

    from eks_gpu.cli.main import COMPLETE_VAR, cli
    from eks_gpu.cli.output import echo

    complete = get_completion_class(shell)
    if complete is None:  # pragma: no cover - click ships all three
        raise click.BadParameter(f"no completion for {shell}", param_hint="SHELL")
    echo(complete(cli, {}, "eks-gpu", COMPLETE_VAR).source())
    return 0
