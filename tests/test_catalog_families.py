"""GPU families derived from the catalog carry the quirks the config checks rely on."""

from __future__ import annotations

from eks_gpu.catalog.families import gpu_families


def test_known_quirks_are_in_the_data() -> None:
    families = gpu_families()
    assert families["g4ad"].gpu_manufacturer == "amd"
    assert families["g6f"].fractional_gpu and families["gr6f"].fractional_gpu
    assert not families["g6"].fractional_gpu
    assert families["g5g"].architectures == ("arm64",)
    assert families["p3"].local_nvme == "none"
    assert families["g5"].local_nvme == "all"
    assert families["g5"].gpu_name == "a10g"


def test_every_family_of_the_issue_is_known() -> None:
    expected = [
        *("g4ad", "g4dn", "g5", "g5g", "g6", "g6e", "g6f", "gr6", "gr6f", "g7", "g7e"),
        *("p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300"),
    ]
    assert sorted(gpu_families()) == sorted(expected)
