"""Test environments shared by the CLI suites: an empty working directory with no config
and an empty cache, and fake AWS credentials that can never reach real AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

AWS_SELECTORS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION")


def empty_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path/cwd`` as the working directory, no ``$EKS_GPU_CONFIG``, the cache in
    ``tmp_path/cache``; returns the working directory."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("EKS_GPU_CONFIG", raising=False)
    monkeypatch.setenv("EKS_GPU_CACHE_DIR", str(tmp_path / "cache"))
    return workdir


def fake_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, no profile, region or AWS config files, no instance metadata."""
    for name in AWS_SELECTORS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


__all__ = ["AWS_SELECTORS", "empty_workdir", "fake_aws"]
