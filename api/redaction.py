"""Secrets never reach the logs: API keys, bearer tokens and key-like query parameters are redacted in every
record the service's loggers handle (uvicorn's access and error logs, the API's own), tracebacks included.

The access log writes each request's path with its query string; a key sent there is refused (400) but
would still be logged, so the filter sits on the handlers and rewrites the record before it is formatted.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

REDACTED = "[redacted]"
#: Query parameters whose value is a secret (the ones the guard refuses, and a few more).
SECRET_PARAMETERS = ("api_key", "apikey", "key", "token", "access_token", "authorization", "password", "secret")
_PATTERNS = (
    re.compile(r"xg_[a-z0-9]{8}_[A-Za-z0-9_-]+"),  # an xai-gov API key, wherever it appears
    re.compile(r"(?i)(bearer\s+)[^\s\"',]+"),
    re.compile(r"(?i)((?:^|[?&;\s])(?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&\s\"']*"),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@/\s]+(@)"),  # a password in a URL
)
LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "xai_gov", "xai_gov.api")


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``[redacted]`` (a prefix such as ``Bearer `` is kept)."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED
                           + (m.group(2) if len(m.groups()) > 1 else ""), text)
    return text


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, arguments and traceback so no secret is formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
            record.exc_info = None
        return True


def install(filter_: logging.Filter | None = None) -> logging.Filter:
    """Put the filter on the service's loggers and on every handler they (and the root logger) write to."""
    filter_ = filter_ or RedactingFilter()
    for name in (*LOGGERS, ""):
        logger = logging.getLogger(name)
        if filter_ not in logger.filters:
            logger.addFilter(filter_)
        for handler in logger.handlers:
            if filter_ not in handler.filters:
                handler.addFilter(filter_)
    return filter_
