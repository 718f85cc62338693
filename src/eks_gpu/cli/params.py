"""Shared flag parsing: comma lists, as kubectl and the AWS CLI accept them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
PROFILE_NAMES = ("guide", "dev", "inference", "training")


def comma_list(values: Iterable[str]) -> tuple[str, ...]:
    """``('g5,g6', 'p5')`` -> ``('g5', 'g6', 'p5')``: repeated flags and comma lists both work."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION_S = 365 * 86400.0  # a year: longer is a typo, and timedelta overflows on inf


def duration_seconds(value: str, flag: str) -> float:
    """``30s``, ``20m``, ``1h``, ``2d`` in seconds; anything else is a usage error for ``flag``."""
    try:
        seconds = float(value[:-1]) * DURATION_UNITS[value[-1]]
    except (KeyError, ValueError, IndexError):
        seconds = -1.0
    if not 0 <= seconds < MAX_DURATION_S:  # negative, NaN, inf, or past any timedelta
        raise click.BadParameter(
            f"{value!r}: use a number with s, m, h or d (30m)", param_hint=flag
        )
    return seconds


def render_source_options(what: str, cluster_help: str | None = None) -> Callable[[F], F]:
    """``-c``, ``--profile`` and ``--cluster-name``: which config a command renders first
    (``cluster_help``: the ``--cluster-name`` help where the example default does not apply)."""

    def decorate(func: F) -> F:
        func = click.option(
            "--cluster-name",
            help=cluster_help or "Cluster name to render with (default: example-cluster).",
        )(func)
        func = click.option(
            "--profile", type=click.Choice(PROFILE_NAMES), help=f"{what} of a built-in profile."
        )(func)
        return click.option(
            "-c",
            "--config",
            "config_path",
            type=click.Path(path_type=Path, dir_okay=False),
            help=f"{what} of this config (default: $EKS_GPU_CONFIG, ./eks-gpu.yaml, the guide).",
        )(func)

    return decorate


def eks_admission_option(func: F) -> F:
    """``--eks-admission/--no-eks-admission``: model EKS's ExtendedResourceToleration
    admission plugin on the pods (on by default, as EKS runs it)."""
    return click.option(
        "--eks-admission/--no-eks-admission",
        default=True,
        show_default=True,
        help="Give pods that request an extended resource (nvidia.com/gpu) the toleration "
        "EKS's ExtendedResourceToleration admission adds; turn off for other clusters.",
    )(func)


def cluster_options(*, namespace: str | None = None) -> Callable[[F], F]:
    """kubectl's ``--kubeconfig`` and ``--context`` (passed as ``kubeconfig`` and
    ``kube_context``), and ``-n/--namespace`` when ``namespace`` says what it selects."""

    def decorate(func: F) -> F:
        if namespace is not None:
            func = click.option("-n", "--namespace", "namespace", help=namespace)(func)
        func = click.option(
            "--context", "kube_context", help="kubeconfig context (default: the current one)."
        )(func)
        return click.option(
            "--kubeconfig",
            type=click.Path(dir_okay=False),
            help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else in-cluster).",
        )(func)

    return decorate


def from_option(func: F) -> F:
    """``--from FILE|DIR``: read a dump (or ``kubectl get ... -o yaml|json``) instead of a
    live cluster; passed as ``from_path``."""
    return click.option(
        "--from",
        "from_path",
        metavar="FILE|DIR",
        help="Read `eks-gpu dump` output (or `kubectl get ... -o yaml|json`; - for stdin) "
        "instead of the live cluster.",
    )(func)


__all__ = [
    "PROFILE_NAMES",
    "cluster_options",
    "comma_list",
    "eks_admission_option",
    "from_option",
    "render_source_options",
]
