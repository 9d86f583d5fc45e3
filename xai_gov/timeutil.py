"""UTC timestamps: everything stored and shown is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from xai_gov.errors import InvalidInput


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A naive datetime is taken to be UTC already; an aware one is converted."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_utc(value: str | datetime | None, *, field: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return None if value is None else as_utc(value)
    try:
        return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not an ISO 8601 date or time", field=field) from None


@overload
def format_utc(moment: datetime) -> str: ...
@overload
def format_utc(moment: None) -> None: ...
@overload
def format_utc(moment: datetime | None) -> str | None: ...
def format_utc(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")
