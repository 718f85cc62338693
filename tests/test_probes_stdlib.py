"""Every probe is one file that runs with a stock image's ``python3``: it imports only the
standard library (and nothing of eks_gpu), whatever else the test files check."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PROBES = Path(__file__).resolve().parents[1] / "src" / "eks_gpu" / "probes"
SCRIPTS = sorted(p for p in PROBES.glob("*.py") if p.name != "__init__.py")


def _imported(script: Path) -> set[str]:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    direct = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
              for a in n.names}  # fmt: skip
    relative = {n.module.split(".")[0] for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and n.module}  # fmt: skip
    return direct | relative


def test_there_are_three_probes() -> None:
    assert [p.name for p in SCRIPTS] == ["gpu.py", "pytorch.py", "storage.py"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_imports_only_the_standard_library(script: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"__future__", "torch"}  # torch: imported lazily
    assert _imported(script) <= allowed, _imported(script) - allowed
