"""How much GPU memory a workload needs: a stated formula with tunable assumptions.

- inference and dev: ``params x bytes(precision) x (1 + headroom)``; the headroom (default
  20%) covers the KV cache, activations and the CUDA context for moderate batch and context
  sizes. Long contexts or big batches need more: raise ``headroom`` or pass the memory.
- training (full fine-tuning with Adam, mixed precision): ``params x 16 bytes x (1 +
  headroom)``; 16 bytes/param = 2 (half-precision weights) + 4 (fp32 master weights) + 2
  (gradients) + 8 (Adam's two fp32 moments). Activations come on top (the headroom);
  activation checkpointing lowers them, LoRA/QLoRA lowers the 16 bytes a lot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from eks_gpu.errors import UsageError

Precision = Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4"]
BYTES_PER_PARAM: dict[Precision, float] = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}
TRAINING_BYTES_PER_PARAM = 16.0
DEFAULT_HEADROOM = 0.2
GIB = 1024**3
_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


BARE_BILLIONS_BELOW = 10_000
"""A bare number below this is a count of billions (see :func:`read_params`)."""


def read_params(text: str) -> tuple[float, str | None]:
    """The parameter count ``text`` names, and a note when it had to be interpreted.

    Suffixes: ``K``, ``M``, ``B`` (billions), ``T``, any case: ``'7B'`` -> 7e9, ``'350M'``
    -> 3.5e8. A bare number below :data:`BARE_BILLIONS_BELOW` is read as **billions**, with
    a note: model sizes are quoted as "a 70B model", nobody sizes a GPU for 70 parameters,
    and taking ``70`` literally recommended a T4 for a 70B model. A bare number from 10,000
    up is a literal count (``'13000000000'`` -> 1.3e10). Zero, negative numbers and words
    are a :class:`UsageError` with the accepted forms.
    """
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMbBtT]?)\s*", text)
    if match is None or float(match.group(1)) <= 0:
        raise UsageError(
            f"--model-params {text!r} is not a parameter count",
            hint="use e.g. 7B, 13B, 70B, 350M (a bare number below 10,000 means billions)",
        )
    number, suffix = float(match.group(1)), match.group(2).lower()
    if not suffix and number < BARE_BILLIONS_BELOW:
        note = (
            f"--model-params {match.group(1)} read as {match.group(1)}B parameters (a bare "
            f"number below {BARE_BILLIONS_BELOW:,} means billions; write {match.group(1)}M "
            "for millions)"
        )
        return number * 1e9, note
    return number * _SUFFIX[suffix], None


def parse_params(text: str) -> float:
    """The parameter count of ``text`` (:func:`read_params` without the note)."""
    return read_params(text)[0]


def _count(params: float) -> str:
    if params >= 1e9:
        return f"{params / 1e9:g}B"
    return f"{params / 1e6:g}M"


@dataclass(frozen=True)
class MemoryEstimate:
    """The GPU memory a workload needs, and the assumptions behind the number."""

    required_gib: float
    assumptions: tuple[str, ...]


def estimate_memory(
    workload: str,
    params: float | None,
    precision: Precision,
    headroom: float = DEFAULT_HEADROOM,
    training_bytes_per_param: float = TRAINING_BYTES_PER_PARAM,
) -> MemoryEstimate:
    """Estimate for ``workload`` with ``params`` parameters (see the module docstring)."""
    if params is None:
        raise UsageError(
            "recommend needs the model size or the memory",
            hint="pass --model-params 13B (with --precision), or --gpu-memory GIB",
        )
    if workload == "training":
        per_param, what = training_bytes_per_param, "full fine-tuning with Adam, mixed precision"
        states = (
            f"{training_bytes_per_param:g} bytes/param = 2 weights + 4 fp32 master weights "
            "+ 2 gradients + 8 Adam moments (tunable: --bytes-per-param)"
        )
    else:
        per_param, what = BYTES_PER_PARAM[precision], f"{workload}, {precision} weights"
        states = f"{per_param:g} bytes/param for {precision} weights"
    base_gib = params * per_param / GIB
    required = base_gib * (1 + headroom)
    extra = "activations" if workload == "training" else "KV cache, activations and CUDA context"
    return MemoryEstimate(
        required_gib=round(required, 1),
        assumptions=(
            f"{what}: {_count(params)} params x {per_param:g} bytes = {base_gib:.1f} GiB",
            states,
            f"+{headroom:.0%} headroom for {extra} (tunable: --headroom)",
            "GPU memory is EC2's figure (GiB = MiB/1024): an A10G or L4 has 22.4 GiB, not 24",
        ),
    )


def given_memory(gib: float) -> MemoryEstimate:
    """The user's own figure, taken as is."""
    return MemoryEstimate(round(gib, 1), (f"GPU memory given: {gib:g} GiB (--gpu-memory)",))


__all__ = [
    "BARE_BILLIONS_BELOW",
    "BYTES_PER_PARAM",
    "DEFAULT_HEADROOM",
    "TRAINING_BYTES_PER_PARAM",
    "MemoryEstimate",
    "Precision",
    "estimate_memory",
    "given_memory",
    "parse_params",
    "read_params",
]
