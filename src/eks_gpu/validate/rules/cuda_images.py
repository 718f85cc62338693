"""What a container's image and command say about the GPU architectures its CUDA code runs on.

Facts (shared/research/aws-gpu.md section 4): CUDA 13 dropped Volta (sm_70) but kept Turing
(sm_75); PyTorch's cu128 wheels lack sm_70 in 2.7 and again from 2.11 on, and its cu13x
wheels never had it. So each of these needs compute capability 7.5 or newer. Versions are
read from image tags (``nvidia/cuda:13.0.1-...``, ``pytorch/pytorch:2.11.0-cuda12.8-...``,
``...-cu130``) and from wheel pins and index URLs in the command (``torch==2.11.0+cu128``,
``download.pytorch.org/whl/cu130``). What cannot be read is assumed fine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Version = tuple[int, int]
TURING: Version = (7, 5)
_CUDA_TAG = re.compile(r"cuda[-_]?([0-9]{2})(?:\.([0-9]+))?")
_CU_TOKEN = re.compile(r"(?<![a-z0-9])cu(1[0-9])([0-9])(?![0-9])")
_TORCH_PIN = re.compile(r"torch(?:==|-)([0-9]+)\.([0-9]+)")
_LEADING_VERSION = re.compile(r"^v?([0-9]+)\.([0-9]+)")


@dataclass(frozen=True)
class CudaBuild:
    """The CUDA toolkit and PyTorch versions a container was built with (None: unknown)."""

    cuda: Version | None = None
    torch: Version | None = None


def _repository_and_tag(image: str) -> tuple[str, str]:
    reference = image.split("@", 1)[0]
    head, _, last = reference.rpartition("/")
    name, _, tag = last.partition(":")
    return (f"{head}/{name}" if head else name), tag


def _cuda_in(text: str) -> Version | None:
    match = _CUDA_TAG.search(text) or _CU_TOKEN.search(text)
    return (int(match[1]), int(match[2] or 0)) if match else None


def image_build(image: str) -> CudaBuild:
    """What an image reference says: CUDA from ``cuda`` repos or tags, PyTorch from its tag."""
    repository, tag = _repository_and_tag(image.lower())
    leading = _LEADING_VERSION.match(tag)
    cuda = _cuda_in(tag)
    if cuda is None and repository.endswith("/cuda") and leading:
        cuda = (int(leading[1]), int(leading[2]))
    torch = None
    if repository.endswith("pytorch/pytorch") and leading:
        torch = (int(leading[1]), int(leading[2]))
    return CudaBuild(cuda, torch)


def command_build(words: list[str]) -> CudaBuild:
    """What a command line says: a ``torch==X.Y+cuNNN`` pin, a ``/whl/cuNNN`` index."""
    text = " ".join(words).lower()
    cu = _CU_TOKEN.search(text)
    pin = _TORCH_PIN.search(text)
    return CudaBuild(
        (int(cu[1]), int(cu[2])) if cu else None,
        (int(pin[1]), int(pin[2])) if pin else None,
    )


def drops_volta(build: CudaBuild) -> str | None:
    """Why code built this way has no sm_70 kernels (needs compute capability >= 7.5)."""
    cuda, torch = build.cuda, build.torch
    if cuda is not None and cuda >= (13, 0):
        return f"CUDA {cuda[0]}.{cuda[1]} has no Volta (sm_70) support"
    dropped = torch is not None and (torch >= (2, 11) or torch == (2, 7))
    if cuda is not None and torch is not None and cuda >= (12, 8) and dropped:
        shown = f"PyTorch {torch[0]}.{torch[1]} CUDA {cuda[0]}.{cuda[1]}"
        return f"{shown} builds ship no sm_70 kernels"
    return None


def compute_capability(text: str | None) -> Version | None:
    """``"7.0"`` → (7, 0); None when unknown."""
    match = _LEADING_VERSION.match(text or "")
    return (int(match[1]), int(match[2])) if match else None


__all__ = [
    "TURING",
    "CudaBuild",
    "Version",
    "command_build",
    "compute_capability",
    "drops_volta",
    "image_build",
]
