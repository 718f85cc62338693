"""Where a command's config comes from: ``-c FILE``, ``$EKS_GPU_CONFIG``, ``./eks-gpu.yaml``,
a ``--profile``, or the guide's defaults, in that order of precedence."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.errors import UsageError

DEFAULT_FILE = Path("eks-gpu.yaml")
ENV_VAR = "EKS_GPU_CONFIG"
CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")


@dataclass(frozen=True)
class LoadedConfig:
    """A config and a few words on where it came from (for messages)."""

    config: GpuConfig
    source: str


def resolve_config(path: Path | None, profile: str | None) -> LoadedConfig:
    """The config a command runs with; an explicit ``-c`` and ``--profile`` exclude each other."""
    from eks_gpu.config.profiles import profile_config
    from eks_gpu.loaders.config_file import load_config

    if path is not None and profile is not None:
        raise UsageError(
            "-c/--config and --profile cannot be used together",
            hint="a config file already holds its profile's settings; drop one of them",
        )
    if profile is not None:
        return LoadedConfig(profile_config(profile), f"profile {profile}")
    if path is None and os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR])
    if path is None and DEFAULT_FILE.is_file():
        path = DEFAULT_FILE
    if path is None:
        return LoadedConfig(profile_config("guide"), "the guide's defaults")
    return LoadedConfig(load_config(path), str(path))


def check_cluster_name(name: str) -> str:
    """``name`` if it is a valid EKS cluster name, else a usage error naming the flag."""
    if not CLUSTER_NAME.match(name):
        raise UsageError(
            f"--cluster-name {name!r} is not a valid EKS cluster name",
            hint="use 1-100 letters, digits, '-' and '_', starting with a letter or digit",
        )
    return name


def require_cluster_name(config: GpuConfig, flag: str | None) -> str:
    """``--cluster-name`` if given, else the config's ``clusterName``, else a usage error."""
    if flag is not None:
        return check_cluster_name(flag)
    if not config.cluster_name:
        raise UsageError(
            "no cluster name: it names the subnet/security-group discovery tags and the node role",
            hint="pass --cluster-name NAME, or set clusterName in eks-gpu.yaml",
        )
    return config.cluster_name


__all__ = [
    "DEFAULT_FILE",
    "ENV_VAR",
    "LoadedConfig",
    "check_cluster_name",
    "require_cluster_name",
    "resolve_config",
]
