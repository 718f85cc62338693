"""The bundled family data is what the generator makes from the reference data today."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from eks_gpu.catalog.families import gpu_families

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_data_matches_the_generator(reference: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_gpu_families
    finally:
        sys.path.pop(0)
    with (reference / "aws" / "gpu-instance-types.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    bundled = json.loads((ROOT / "src/eks_gpu/catalog/data/gpu_families.json").read_text())
    assert gen_gpu_families.build(rows) == bundled


def test_known_quirks_are_in_the_data() -> None:
    families = gpu_families()
    assert families["g4ad"].gpu_manufacturer == "amd"
    assert families["g6f"].fractional_gpu and families["gr6f"].fractional_gpu
    assert families["g5g"].architectures == ("arm64",)
    assert families["p3"].local_nvme == "none"
    assert families["g5"].local_nvme == "all"
    assert families["g5"].gpu_name == "a10g"
