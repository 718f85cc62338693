"""The one pydantic configuration every ``eks-gpu.yaml`` model shares.

Keys are camelCase, like the Kubernetes objects they become; unknown keys are errors
(``extra="forbid"``) so a typo never silently falls back to a default; values are strict
(no ``"1"`` for ``1``) and models are frozen, so past the loader the config is a value.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ConfigModel(BaseModel):
    """Base of every config model: strict, frozen, camelCase, unknown keys refused."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )


__all__ = ["ConfigModel"]
