"""Which config a command renders: ``-c FILE``, ``$EKS_GPU_CONFIG``, ``./eks-gpu.yaml``, a
``--profile``, or the guide's defaults, in that order of precedence; and the cluster name
it renders with.

``render``, ``validate``, ``simulate`` and ``plan`` all start from "what would render
produce"; this module is the one answer, so the four agree on the source and its name in
messages. It is also the one caller of the config file loader.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eks_gpu.errors import UsageError

if TYPE_CHECKING:
    from eks_gpu.config.gpu_config import GpuConfig
    from eks_gpu.manifests import Manifest
    from eks_gpu.render.bundle import Rendered

DEFAULT_FILE = Path("eks-gpu.yaml")
ENV_VAR = "EKS_GPU_CONFIG"
CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
EXAMPLE_CLUSTER = "example-cluster"
"""The name checks render with when none is given: validation and simulation do not
depend on it, so asking for one would only be in the way."""


@dataclass(frozen=True)
class RenderSource:
    """``-c``, ``--profile`` and ``--cluster-name`` as given (unresolved)."""

    config_path: Path | None = None
    profile: str | None = None
    cluster_name: str | None = None

    @property
    def given(self) -> bool:
        """Whether any of the three was passed (they conflict with explicit files)."""
        return any(v is not None for v in (self.config_path, self.profile, self.cluster_name))


DEFAULT_SOURCE = RenderSource()
"""No flags: ``$EKS_GPU_CONFIG``, ``./eks-gpu.yaml`` or the guide (frozen, so a safe default)."""


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


def cluster_name_or_example(config: GpuConfig, flag: str | None) -> str:
    """``--cluster-name``, else the config's, else :data:`EXAMPLE_CLUSTER` (for checks)."""
    return flag or config.cluster_name or EXAMPLE_CLUSTER


def as_manifests(items: Iterable[Rendered], source: str) -> list[Manifest]:
    """Rendered objects as manifests, each naming the render it came from in findings."""
    from eks_gpu.manifests import Manifest

    return [Manifest(item.obj, f"render ({source})", index) for index, item in enumerate(items)]


def rendered_manifests(source: RenderSource) -> list[Manifest]:
    """What ``render`` would produce for ``source``, as manifests (the default input)."""
    from eks_gpu.render.bundle import render_all

    loaded = resolve_config(source.config_path, source.profile)
    name = cluster_name_or_example(loaded.config, source.cluster_name)
    return as_manifests(render_all(loaded.config, name), loaded.source)


__all__ = [
    "DEFAULT_FILE",
    "DEFAULT_SOURCE",
    "ENV_VAR",
    "EXAMPLE_CLUSTER",
    "LoadedConfig",
    "RenderSource",
    "as_manifests",
    "check_cluster_name",
    "cluster_name_or_example",
    "rendered_manifests",
    "require_cluster_name",
    "resolve_config",
]
