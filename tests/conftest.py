"""Shared fixtures: the upstream reference data, and the CLI run in-process."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from eks_gpu.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("EKS_GPU_REFERENCE", ROOT.parent / "shared" / "reference"))
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def reference() -> Path:
    """``../shared/reference`` (upstream CRDs, manifests, instance data): the test oracle.

    Skips loudly when absent: those tests then prove nothing, and the summary says so.
    """
    if not (REFERENCE / "karpenter").is_dir():
        pytest.skip(
            f"UPSTREAM REFERENCE DATA MISSING at {REFERENCE}: CRD/manifest oracle tests skipped; "
            "set EKS_GPU_REFERENCE to the shared/reference folder"
        )
    return REFERENCE


@pytest.fixture(scope="session")
def karpenter_listing(reference: Path) -> dict[str, Any]:
    """Karpenter v1.14's generated listing: instance type -> {"labels", "resources"}."""
    listing: dict[str, Any] = json.loads(
        (reference / "karpenter" / "instance-types-v1.14.json").read_text()
    )
    return listing


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    """``scripts/gen_catalog.py`` (catalog generation and the EC2 facts), as a module."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module("gen_catalog")
    finally:
        sys.path.remove(str(ROOT / "scripts"))


@pytest.fixture(scope="session", autouse=True)
def _offline_crds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``validate`` fetches the CRDs of the newest supported Karpenter on first use: in tests
    they come from the reference folder (``file://``), into a session cache, never the network
    or the user's own cache. Tests that need another source set the variables themselves."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EKS_GPU_KARPENTER_CRD_URL", (REFERENCE / "karpenter").as_uri())
        if not os.environ.get("EKS_GPU_CACHE_DIR"):
            patch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@dataclass
class CliResult:
    """What one in-process CLI run produced."""

    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``eks-gpu ARGS`` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
