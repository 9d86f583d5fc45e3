"""One validation of what arrives from outside, before any work: text, numbers, JSON documents.

Text may not hold control characters (NUL and the rest of U+0000..U+001F, and
U+007F): PostgreSQL refuses NUL in text and JSON while SQLite stores it, and a
line break or escape sequence in an identifier forges lines in logs. A number's
magnitude is checked before it is converted, so a 4,001-digit integer is a clear
error, not an overflow. The API declares the same rules in its OpenAPI document
(``TEXT_PATTERN``, ``MAX_MAGNITUDE``), so a client can know them in advance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from xai_gov.errors import InvalidInput

#: A control character: refused in every string from outside.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: The same rule as a JSON Schema / ECMA regular expression, for the OpenAPI document.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
#: Multi-line text (descriptions): tabs and line breaks allowed.
MULTILINE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
#: Largest magnitude a number from outside may have (floats hold every integer up to 2**53 exactly).
MAX_MAGNITUDE = 2**53
#: Deepest nesting a JSON document from outside may have.
MAX_DEPTH = 32


def check_text(value: Any, field: str, *, max_length: int | None = None, allow_empty: bool = True,
               multiline: bool = False) -> str:
    """``value`` if it is a string without control characters (and within ``max_length``); ``multiline``
    text (a description) may hold tabs and line breaks, never NUL or the other control characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, got {type(value).__name__}", field=field)
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(f"{field} is {len(value)} characters; at most {max_length}", field=field)
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{field} is empty", field=field)
    found = (_CONTROL_BUT_LAYOUT if multiline else CONTROL).search(value)
    if found is not None:
        raise InvalidInput(f"{field} holds a control character (U+{ord(found.group()):04X} at position "
                           f"{found.start()}); text may not contain control characters", field=field)
    return value


def check_optional_text(value: Any, field: str, *, max_length: int | None = None,
                        multiline: bool = False) -> str | None:
    return None if value is None else check_text(value, field, max_length=max_length, multiline=multiline)


def check_number(value: Any, field: str) -> int | float:
    """``value`` if it is a finite number of magnitude at most ``MAX_MAGNITUDE`` (checked before any conversion)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        # Comparing ints is exact and cheap at any size; converting a 4,001-digit one to float overflows.
        if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
            return value
        raise InvalidInput(f"{field} is a {_digits(value)}-digit number; numbers are at most {MAX_MAGNITUDE:.3g} "
                           "in magnitude", field=field)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{field} is {value}, not a finite number", field=field)
        if abs(value) > MAX_MAGNITUDE:
            raise InvalidInput(f"{field} = {value:g} is over {MAX_MAGNITUDE:.3g} in magnitude", field=field)
        return value
    return value


def check_document(document: Any, field: str, *, depth: int = 0) -> Any:
    """Every key and string of a JSON-like document checked as text, every number as a number."""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{field} is nested more than {MAX_DEPTH} levels deep", field=field)
    if isinstance(document, str):
        return check_text(document, field)
    if isinstance(document, (int, float)):
        return check_number(document, field)
    if isinstance(document, Mapping):
        for key, value in document.items():
            name = check_text(key, f"{field} key") if isinstance(key, str) else str(key)
            check_document(value, f"{field}.{name}", depth=depth + 1)
    elif isinstance(document, (list, tuple)):
        for index, item in enumerate(document):
            check_document(item, f"{field}[{index}]", depth=depth + 1)
    return document


def check_instance(instance: Any) -> Mapping[str, Any]:
    """An applicant from outside: feature names and text values checked as text, numbers by magnitude;
    each error names the feature (the schema then checks kinds, categories and bounds)."""
    if not isinstance(instance, Mapping):
        raise InvalidInput("the instance must be an object: feature name -> value", field="instance")
    for name, value in instance.items():
        check_text(name, "instance", max_length=200)
        if isinstance(value, str):
            check_text(value, name, max_length=1000)
        elif isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            check_number(value, name)  # NaN and infinities are the schema's to judge (a nullable feature's NaN)
    return instance


def printable(value: Any, limit: int = 80) -> str:
    """``value`` as text safe to show in a message or a log line: control characters replaced, length capped."""
    return CONTROL.sub("?", str(value))[:limit]


def _digits(value: int) -> int:
    # Counting digits without str(): str() of a huge int is refused above 4,300 digits.
    return max(1, math.floor(abs(value).bit_length() * math.log10(2)) + 1)
