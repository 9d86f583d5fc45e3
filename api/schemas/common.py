"""Constraints every route declares, from the core's own rules, so the OpenAPI document tells the truth."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator, StringConstraints

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
MonitoringRunId = Annotated[str, Path(pattern=TEXT_PATTERN, min_length=1, max_length=200,
                                      examples=["9b1e4c2a7d3f4e5a8c6b0d1e2f3a4b5c"])]


def text_query(max_length: int, **extra: object) -> object:
    """A query parameter of text (no control characters)."""
    return Query(max_length=max_length, pattern=TEXT_PATTERN, **extra)  # type: ignore[arg-type]


#: RFC 3339, what OpenAPI's ``date-time`` means: date, time and an offset (Z or +hh:mm).
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> Any:
    # Pydantic alone also takes a Unix time ("123") or a date without a time or offset: the document says
    # date-time, so the service takes exactly that.
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("a date-time with its offset, RFC 3339: 2026-11-01T09:00:00Z")
    return value


#: A date-time query parameter: RFC 3339 only (with its offset).
Instant = Annotated[datetime, BeforeValidator(_rfc3339)]
