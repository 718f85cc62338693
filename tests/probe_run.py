"""Run a probe script as a user would (``python3 probes/NAME.py ARGS``) and read its result:
the JSON object on its last line, which every probe prints whatever happens."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def run_probe(
    script: Path,
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    timeout: float = 120,
) -> tuple[int, dict[str, Any], str]:
    """Exit code, the last line's JSON object, and all of stdout."""
    proc = subprocess.run(
        [python, str(script), *args],
        capture_output=True,
        text=True,
        env=None if env is None else dict(env),
        timeout=timeout,
        check=False,
    )
    last = proc.stdout.strip().splitlines()[-1]
    return proc.returncode, json.loads(last), proc.stdout
