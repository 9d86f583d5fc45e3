"""Constraints every route declares, from the core's own rules, so the OpenAPI document tells the truth."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import StringConstraints

from xai_gov.registry.models import ALIAS_PATTERN, NAME_PATTERN, REF_PATTERN
from xai_gov.validation import TEXT_PATTERN

#: Text without control characters (the core refuses them: PostgreSQL cannot store NUL, logs must not break).
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]

ModelName = Annotated[str, Path(pattern=NAME_PATTERN, max_length=200, examples=["credit-risk"])]
AliasName = Annotated[str, Path(pattern=ALIAS_PATTERN, max_length=100, examples=["production"])]
ModelRefPath = Annotated[str, Path(pattern=REF_PATTERN, max_length=301, examples=["credit-risk@production"],
                                   description="name@version, name@alias or name (the latest version)")]
ExplanationId = Annotated[str, Path(pattern=TEXT_PATTERN, min_length=1, max_length=200,
                                    examples=["3f2a9c0d4b8e4f3a9d1c2b7e6a5f4d3c"])]


def text_query(max_length: int, **extra: object) -> object:
    """A query parameter of text (no control characters)."""
    return Query(max_length=max_length, pattern=TEXT_PATTERN, **extra)  # type: ignore[arg-type]
