"""The officer's decision page: the part for each method's record section. A module per section defines
``SECTION`` (the record's key), ``PLACE`` (order on the page, lower first), ``TEMPLATE`` (under
templates/sections/), ``view(record, protected)``: what the template reads as ``part.data`` (None: the
part is not shown), and optionally ``trust_rows(scores)``: rows of the page's "In detail" table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOP_BARS = 10  # bars in a method's chart


@dataclass(frozen=True)
class Row:
    name: str
    value: str
    meaning: str = ""


@dataclass(frozen=True)
class Part:
    template: str
    data: Any


def shown(value: Any) -> str:
    """A stored value as the page writes it: "(empty)" for a missing one, 3 for 3.0."""
    if value is None:
        return "(empty)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
