"""The layering of DESIGN.md, checked: the pure core never opens files, sockets or the
environment. (``lint-imports`` in CI checks which package may import which.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import eks_gpu

SRC = Path(eks_gpu.__file__).parent
EDGE = ("cli", "commands", "loaders", "cluster", "__main__.py", "probes")
"""The thin shell: the only places allowed to do I/O (probes/ are scripts run in test pods)."""
BUNDLED_DATA = {"catalog/instance_types.py", "render/probe_sources.py"}
"""Reads the package's own data files through importlib.resources (read-only, shipped)."""
IO_MODULES = (
    "socket", "ssl", "http", "urllib", "subprocess", "shutil", "tempfile", "glob",
    "boto3", "botocore", "httpx", "requests", "lightkube", "kr8s",
)  # fmt: skip
IO_METHODS = {
    "read_text", "write_text", "read_bytes", "write_bytes", "mkdir", "unlink", "rmdir",
    "rglob", "glob", "iterdir", "is_file", "is_dir", "exists", "touch", "rename",
    "getenv", "urlopen",
}  # fmt: skip
IO_NAMES = {"open", "environ", "stdin", "stdout", "stderr", "print", "input"}


def io_uses(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for every import of an I/O module and every I/O call or name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            names = []
        found += [
            (node.lineno, f"import {name}")
            for name in names
            if name.split(".")[0] in IO_MODULES or name in ("os.environ", "sys.stdin")
        ]
        if isinstance(node, ast.Attribute) and (node.attr in IO_METHODS or node.attr in IO_NAMES):
            found.append((node.lineno, f".{node.attr}"))
        if isinstance(node, ast.Name) and node.id in IO_NAMES:
            found.append((node.lineno, node.id))
    return found


def pure_core_modules() -> list[Path]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] in EDGE or str(relative) in BUNDLED_DATA:
            continue
        out.append(path)
    return out


def test_the_pure_core_does_no_io() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{line}: {what}"
        for path in pure_core_modules()
        for line, what in io_uses(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "I/O belongs in loaders/, cluster/ or cli/:\n" + "\n".join(offenders)


def test_the_scan_sees_the_usual_ways_of_doing_io() -> None:
    source = (
        "import urllib.request\nfrom os import environ\nimport os\n"
        "x = open('f')\ny = p.read_text()\nz = os.environ['A']\nimport sys\nsys.stdin.read()\n"
    )
    lines = sorted({line for line, _ in io_uses(source)})
    assert lines == [1, 2, 4, 5, 6, 8]
    assert io_uses("import json\nfrom pathlib import PurePath\nx = json.dumps({})\n") == []


def test_every_package_is_placed_in_the_layers() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    placed = {name.strip() for layer in layers for name in layer.split("|")}
    present = {p.stem if p.is_file() else p.name for p in SRC.iterdir()}
    present = {n for n in present if not n.startswith("_") and n != "py"}
    assert present - placed == set(), "add the new package to [tool.importlinter] layers"
