"""Read ``eks-gpu.yaml`` from disk and hand its text to the pure parser.

Only the file's absence and unreadable bytes are handled here; everything about its content
is :func:`eks_gpu.config.parse.config_from_text`'s, so a file and a string fail alike.
"""

from __future__ import annotations

from pathlib import Path

from eks_gpu.config.gpu_config import GpuConfig
from eks_gpu.config.parse import config_from_text
from eks_gpu.errors import ConfigError, Problem


def load_config(path: Path) -> GpuConfig:
    """Read and validate the config file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path),
            [Problem("", "file not found")],
            hint="run `eks-gpu init` to write one, or drop -c to use the guide's defaults",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), [Problem("", f"cannot read: {error}")]) from None
    return config_from_text(text, str(path))


__all__ = ["load_config"]
