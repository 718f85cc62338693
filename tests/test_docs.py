"""Generated docs are current, and the README's commands are the ones CI runs."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_config_reference_is_current() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_config_docs
    finally:
        sys.path.pop(0)
    current = (ROOT / "docs" / "config.md").read_text()
    assert gen_config_docs.render() == current, "run: python scripts/gen_config_docs.py"


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ("pip install -e '.[dev]'", "python -m pytest"):
        assert command in readme, command
        assert command in ci, command
