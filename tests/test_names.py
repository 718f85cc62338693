"""Every Kubernetes/Karpenter/NVIDIA name lives in :mod:`eks_gpu.names`, once.

A label key, resource name or API group spelled out anywhere else in ``src/`` fails here,
so renaming one is a one-line change. Docstrings are prose and may mention them.
"""

from __future__ import annotations

import ast
from pathlib import Path

from eks_gpu import names

SRC = Path(names.__file__).parent
PREFIXES = tuple(getattr(names, attr) for attr in dir(names) if attr.startswith("PREFIX_"))


def _known_values() -> set[str]:
    out: set[str] = set()
    for attr in dir(names):
        value = getattr(names, attr)
        if attr.isupper() and isinstance(value, str):
            out.add(value)
        elif attr.isupper() and isinstance(value, tuple):
            out.update(v for v in value if isinstance(v, str))
    return {value for value in out if "." in value or "/" in value}


def _docstring_nodes(tree: ast.AST) -> set[int]:
    nodes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, nodes) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    # attribute docstrings: a bare string right after an assignment
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            body = getattr(node, field, None)
            if isinstance(body, list):
                for stmt in body:
                    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                        out.add(id(stmt.value))
    return out


def offending_literals(source: str) -> list[tuple[int, str]]:
    """``(line, literal)`` for each string literal that spells a name of :mod:`names`."""
    known = _known_values()
    tree = ast.parse(source)
    docstrings = _docstring_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in docstrings:
            continue
        text = node.value
        if text in known or text.startswith(PREFIXES):
            found.append((node.lineno, text))
    return found


def test_names_live_only_in_names_module() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "names.py" and path.parent == SRC:
            continue
        for line, text in offending_literals(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(SRC)}:{line}: {text!r}")
    assert not offenders, "use eks_gpu.names instead of:\n" + "\n".join(offenders)


def test_the_check_catches_a_literal_and_ignores_docstrings() -> None:
    source = '"""Mentions nvidia.com/gpu in prose."""\nGPU = "nvidia.com/gpu"\n'
    assert offending_literals(source) == [(2, "nvidia.com/gpu")]
    assert offending_literals('KEY = f"karpenter.k8s.aws/{x}"\n') == [(1, "karpenter.k8s.aws/")]
    assert offending_literals('"""Doc."""\nX = "karpenter.sh_nodepools.yaml"\n') == []
