"""Known quirks of GPU families, as data (``data/family_notes.json``), with their sources."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from eks_gpu.catalog.instance_types import read_data_file


@dataclass(frozen=True)
class FamilyNotes:
    """What to know about a family before choosing it."""

    family: str
    notes: tuple[str, ...] = ()
    legacy: bool = False
    fractional: bool = False
    not_nvidia: bool = False
    min_driver: int | None = None
    max_driver_branch: int | None = None


@cache
def family_notes() -> dict[str, FamilyNotes]:
    """Notes by family; families without quirks are absent."""
    raw = read_data_file("family_notes.json")["families"]
    return {
        name: FamilyNotes(family=name, **{**entry, "notes": tuple(entry.get("notes", ()))})
        for name, entry in raw.items()
    }


def notes_for(family: str) -> FamilyNotes:
    """The notes of ``family`` (empty notes when it has no quirks)."""
    return family_notes().get(family, FamilyNotes(family))


__all__ = ["FamilyNotes", "family_notes", "notes_for"]
