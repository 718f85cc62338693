"""Golden files: every rendered object, byte for byte, for the guide and its variants.

Regenerate after an intended change with ``EKS_GPU_UPDATE_GOLDENS=1 pytest tests/test_golden.py``
and review the diff like code: it is exactly what users will apply.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from eks_gpu.config.parse import config_from_data
from eks_gpu.config.profiles import profile_config
from eks_gpu.render.bundle import render_all
from eks_gpu.render.out_dir import out_dir_files

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("EKS_GPU_UPDATE_GOLDENS") == "1"

CASES: dict[str, Any] = {
    "guide": lambda: profile_config("guide"),
    "dev": lambda: profile_config("dev"),
    "inference": lambda: profile_config("inference"),
    "training": lambda: profile_config("training"),
    "device-plugin-v0.16.2": lambda: config_from_data({"devicePlugin": {"version": "v0.16.2"}}),
    "time-slicing": lambda: config_from_data(
        {"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 4}}}}
    ),
    "time-slicing-renamed": lambda: config_from_data(
        {"devicePlugin": {"sharing": {"timeSlicing": {"replicas": 2, "renameByDefault": True}}}}
    ),
    "fractional": lambda: config_from_data({"nodePools": [{"instanceFamilies": ["g6f", "gr6f"]}]}),
    "guide-ami-name": lambda: config_from_data(
        {
            "nodeClasses": [
                {
                    "ami": {"name": "amazon-eks-node-al2023-x86_64-nvidia-*", "owner": "amazon"},
                    "userData": {"script": "#!/bin/bash\necho hello from eks-gpu\n"},
                }
            ]
        }
    ),
}


# The guide case pins every file; a variant pins only the files it changes.
VARIANT_FILES = {
    "dev": ("gpu/",),
    "inference": ("gpu/",),
    "training": ("gpu/",),
    "device-plugin-v0.16.2": ("device-plugin/",),
    "time-slicing": ("device-plugin/", "gpu/"),
    "time-slicing-renamed": ("gpu/",),
    "fractional": ("gpu/",),
    "guide-ami-name": ("gpu/",),
}


def rendered_files(case: str) -> dict[str, str]:
    """The ``--out-dir`` file set for ``case``, as text (what ``render --out-dir`` writes)."""
    files = out_dir_files(render_all(CASES[case](), "demo"))
    prefixes = VARIANT_FILES.get(case)
    if prefixes is None:
        return files
    return {path: text for path, text in files.items() if path.startswith(prefixes)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_files_match_golden(case: str) -> None:
    folder = GOLDEN / case
    files = rendered_files(case)
    if UPDATE:
        for relative, text in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text)
    expected = {
        str(path.relative_to(folder)): path.read_text()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    assert sorted(files) == sorted(expected), "file set changed; regenerate goldens if intended"
    for relative, text in files.items():
        assert text == expected[relative], f"{case}/{relative} differs from its golden file"
