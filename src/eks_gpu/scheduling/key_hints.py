"""Typo hints for label keys: `` (did you mean "k"?)`` when a key looks like a known one.

A pod that selects ``instance-gpu-count`` (prefix forgotten) or ``Kubernetes.io/Arch``
(case) gets a label that no node defines; saying which key it probably meant turns a
puzzling "does not have known values" into a one-line fix (STYLE.md lesson 4; Karpenter's
``labelHint`` in ``pkg/scheduling/requirements.go`` does the same with a cruder match).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def key_hint(key: str, defined: Iterable[str], allow_undefined: Iterable[str]) -> str:
    """`` (did you mean "k"?)`` for a key that looks like a defined or well-known one, else ``""``.

    A candidate that ends with ``/key`` or differs only in case wins; otherwise the closest
    spelling (difflib ratio ≥ 0.75).
    """
    candidates = sorted(set(allow_undefined) | set(defined))
    for candidate in candidates:
        if candidate.endswith("/" + key) or candidate.lower() == key.lower():
            return f' (did you mean "{candidate}"?)'
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.75)
    return f' (did you mean "{close[0]}"?)' if close else ""


__all__ = ["key_hint"]
