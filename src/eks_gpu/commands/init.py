"""``init``: a commented ``eks-gpu.yaml`` from one of the guide's profiles, written to a file
(never over an existing one unless forced) or returned for stdout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eks_gpu.commands.config_source import check_cluster_name
from eks_gpu.commands.result import envelope
from eks_gpu.errors import EXIT_OK, UsageError

KIND = "ConfigInit"


@dataclass(frozen=True)
class InitResult:
    """The config text, its profile, and the file it went to (None: stdout)."""

    text: str
    profile: str
    path: Path | None
    messages: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """What was written where (``init`` has no ``-o json``; for library callers)."""
        return envelope(
            KIND,
            {
                "profile": self.profile,
                "path": None if self.path is None else str(self.path),
                "config": self.text,
            },
        )


def config_text(profile: str, cluster_name: str | None) -> str:
    """The commented YAML of ``profile``, with a header saying how to use it."""
    from eks_gpu.config.commented import commented_yaml
    from eks_gpu.config.profiles import PROFILES, profile_config

    if cluster_name is not None:
        check_cluster_name(cluster_name)
    header = [
        "eks-gpu configuration (render it with: eks-gpu render -c <this file>)",
        f"profile {profile}: {PROFILES[profile].summary}",
        "Every field is optional; unset ones take the guide's defaults.",
        "",
    ]
    return commented_yaml(profile_config(profile, cluster_name), header)


def init(
    profile: str = "guide",
    *,
    cluster_name: str | None = None,
    path: Path | None = None,
    force: bool = False,
) -> InitResult:
    """Write ``profile``'s config to ``path`` (None: only return the text)."""
    text = config_text(profile, cluster_name)
    if path is None:
        return InitResult(text, profile, None)
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it")
    from eks_gpu.loaders.atomic_file import write_text_file

    write_text_file(path, text)  # a failing disk keeps the old config, not half a new one
    return InitResult(text, profile, path)


__all__ = ["KIND", "InitResult", "config_text", "init"]
