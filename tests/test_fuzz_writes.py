"""Never a partial write: every file eks-gpu writes is whole or absent after a failure.

The failure is a real one, not a mock: the process's file-size limit (``RLIMIT_FSIZE``, as a
full disk or a quota would) makes the kernel refuse a write part-way with EFBIG, which is what
leaves a half file behind when a writer opens the target itself. Also the damaged files the
writers' readers meet (a price cache of binary junk) are typed errors with exit 2.

Budget: ~5 s of the fuzz suite's ~60 s (a few renders and one CRD copy; no hypothesis).
"""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from eks_gpu.catalog.prices import BUNDLED_REGION, PriceBook
from eks_gpu.commands.dump import write_atomic as dump_write_atomic
from eks_gpu.errors import EXIT_USAGE, EksGpuError
from eks_gpu.loaders.crd_release import _download
from eks_gpu.loaders.price_cache import cache_path, load_price_book, save_price_book
from eks_gpu.validate.crds import CrdUnavailable
from test_fuzz_common import NASTY_FILES

LIMIT = 700
"""Bytes a file may grow to while the limit holds: less than any file the writers write."""


@contextlib.contextmanager
def file_size_limit(limit: int = LIMIT) -> Iterator[None]:
    """Writes past ``limit`` bytes fail with EFBIG (SIGXFSZ ignored) inside the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_the_limit_does_cut_a_plain_write_short(tmp_path: Path) -> None:
    """The premise: a plain write under the limit leaves a half file (what atomic writes avoid)."""
    target = tmp_path / "plain.txt"
    with file_size_limit(), pytest.raises(OSError):
        target.write_text("x" * (LIMIT * 3))
    assert target.stat().st_size == LIMIT


def test_dump_writes_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "dump.json"
    target.write_text("the previous dump")
    with file_size_limit(), pytest.raises(EksGpuError, match="cannot write"):
        dump_write_atomic(target, "{}" * LIMIT)
    assert target.read_text() == "the previous dump" and not leftovers(tmp_path)


def test_price_cache_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found by this test: ``save_price_book`` wrote the cache in place, so a full disk left a
    half JSON file that every later command refused (and the OSError escaped as exit 70)."""
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path))
    prices = {f"g{i}.xlarge": float(i + 1) for i in range(100)}
    book = PriceBook(BUNDLED_REGION, "aws", "2026-12-01T00:00:00Z", on_demand=prices)
    save_price_book(PriceBook(BUNDLED_REGION, "aws", "2026-11-01T00:00:00Z", on_demand={}))
    with file_size_limit(), pytest.raises(EksGpuError, match="cannot write the price cache"):
        save_price_book(book)
    assert load_price_book().date == "2026-11-01T00:00:00Z" and not leftovers(tmp_path)


def test_crd_download_is_cached_whole_or_not_at_all(tmp_path: Path, reference: Path) -> None:
    """Found by this test: a CRD cut short in the cache would fail every later validate."""
    source = next((reference / "karpenter").rglob("*.yaml"))
    assert source.stat().st_size > LIMIT
    target = tmp_path / source.name
    with file_size_limit(), pytest.raises(CrdUnavailable, match="cannot cache"):
        _download(source.as_uri(), target)
    assert not target.exists() and not leftovers(tmp_path)
    _download(source.as_uri(), target)
    assert target.read_bytes() == source.read_bytes()


def test_crd_download_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    """Found by fuzzing: a release file of binary junk raised UnicodeDecodeError."""
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(NASTY_FILES["binary.yaml"])
    with pytest.raises(CrdUnavailable, match="not UTF-8"):
        _download(junk.as_uri(), tmp_path / "cached.yaml")
    assert not (tmp_path / "cached.yaml").exists()


@pytest.mark.parametrize("name", ["binary.yaml", "deep-array.json", "json-list-scalars.json"])
def test_damaged_price_cache_is_a_usage_error(name: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found by fuzzing: a cache of non-UTF-8 bytes raised UnicodeDecodeError, one nested past
    the stack RecursionError, and any damaged cache exited 70 ("a bug in eks-gpu", report the
    traceback) although the fix is the user's: delete the file or refresh it."""
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path))
    cache_path(BUNDLED_REGION).write_bytes(NASTY_FILES[name])
    with pytest.raises(EksGpuError) as caught:
        load_price_book()
    assert caught.value.exit_code == EXIT_USAGE
    assert str(cache_path(BUNDLED_REGION)) in caught.value.message


def test_render_out_dir_writes_whole_files_or_none(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert run_cli("render", "--cluster-name", "demo", "--out-dir", str(whole)).code == 0
    with file_size_limit():
        result = run_cli("render", "--cluster-name", "demo", "--out-dir", str(cut))
    assert result.code == EXIT_USAGE, result.err
    for path in cut.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (whole / path.relative_to(cut)).read_bytes(), path


def test_init_writes_whole_or_keeps_the_old_file(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "eks-gpu.yaml"
    target.write_text("clusterName: old\n")
    with file_size_limit():
        result = run_cli("init", "-f", str(target), "--force", "--cluster-name", "demo")
    assert result.code == EXIT_USAGE, result.err
    assert target.read_text() == "clusterName: old\n"
