"""``--help`` and ``--version`` stay instant: the CLI must not import the heavy modules."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "pydantic",
    "yaml",
    "rich",
    "eks_gpu.config.gpu_config",
    "eks_gpu.render.bundle",
    "lightkube",
    "httpx2",
    "httpx",
)


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_importing_the_cli_loads_no_heavy_module() -> None:
    loaded = _modules_after("import eks_gpu.cli.main")
    assert not loaded & set(HEAVY)


def test_help_and_version_load_no_heavy_module() -> None:
    for flag in ("--help", "--version"):
        code = f"from eks_gpu.cli.main import main\nmain([{flag!r}])"
        loaded = _modules_after(code)
        assert not loaded & set(HEAVY), flag
