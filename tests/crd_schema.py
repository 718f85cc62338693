"""Test helpers around :mod:`eks_gpu.validate.schema`: the upstream CRD files as oracle.

The conversion itself lives in the product (``eks_gpu.validate.schema``); this module only
reads the upstream Karpenter CRDs from the shared reference folder and caches validators.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from eks_gpu.validate.schema import convert, crd_to_json_schema

CRD_FILES: dict[str, str] = {
    "NodePool": "karpenter.sh_nodepools.yaml",
    "NodeClaim": "karpenter.sh_nodeclaims.yaml",
    "EC2NodeClass": "karpenter.k8s.aws_ec2nodeclasses.yaml",
}
"""Kind -> upstream CRD file under ``<reference>/karpenter``."""


@cache
def _read_crd(path: Path) -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return crd


def crd_version(path: Path, version: str = "v1") -> dict[str, Any]:
    """The ``spec.versions[]`` entry called ``version`` of the CRD file at ``path``."""
    for entry in _read_crd(path)["spec"]["versions"]:
        if entry["name"] == version:
            return dict(entry)
    raise KeyError(f"{path.name} has no version {version!r}")


@cache
def load_crd_schema(path: Path, version: str = "v1") -> dict[str, Any]:
    """The JSON Schema of ``version`` of the CRD at ``path`` (cached: do not mutate it)."""
    schema = crd_to_json_schema(crd_version(path, version)["schema"]["openAPIV3Schema"])
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def validator_for(kind: str, reference: Path, version: str = "v1") -> Draft202012Validator:
    """A validator for ``kind`` (a key of :data:`CRD_FILES`) from the upstream CRD."""
    path = reference / "karpenter" / CRD_FILES[kind]
    declared = _read_crd(path)["spec"]["names"]["kind"]
    if declared != kind:
        raise ValueError(f"{path.name} defines {declared}, not {kind}")
    return Draft202012Validator(load_crd_schema(path, version))


def _where(json_path: str) -> str:
    """``$.spec.template`` -> ``spec.template``; the root is ``<root>``."""
    return json_path.removeprefix("$").removeprefix(".") or "<root>"


def schema_errors(obj: dict[str, Any], reference: Path) -> list[str]:
    """Every schema violation of ``obj`` (chosen by its ``kind``), as ``path: message`` lines."""
    validator = validator_for(obj["kind"], reference)
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_where(e.json_path)}: {e.message}" for e in errors]


__all__ = [
    "CRD_FILES",
    "convert",
    "crd_to_json_schema",
    "crd_version",
    "load_crd_schema",
    "schema_errors",
    "validator_for",
]
