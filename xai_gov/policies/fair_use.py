"""Fair use: what one explanation request may cost (the policy's per-role caps), and how many requests
one API key may send (a per-key rate).

An explanation's cost is set by a few parameters (LIME's samples and repeats,
Anchor's repeats, fresh samples, batch and beam size). A request with the defaults
is always allowed; one that asks for more than its role's cap is refused, naming
the parameter and the cap — not clamped, because the stored record must say what
was asked for and what ran, and those must be the same. Caps sit in the policy
(``fair_use.explanation_caps``), so they are versioned and hashed with it.

The rate is a token bucket per API key, kept in the process: a key may send
``per_minute`` requests at once and then one every ``60 / per_minute`` seconds;
beyond it the answer says how many seconds to wait. Each service process counts
on its own (``serve --workers N`` allows N times the rate).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from xai_gov.errors import InvalidInput, RateLimited
from xai_gov.policies.models import Policy


def explanation_caps(policy: Policy | None, role: str | None) -> dict[str, int]:
    """The most each cost parameter may be for ``role`` (empty: no cap beyond the service's bounds)."""
    if policy is None or role is None:
        return {}
    return dict(policy.document.fair_use.explanation_caps.get(str(role), {}))


def check_explanation_cost(policy: Policy | None, role: str | None, parameters: Mapping[str, Any]) -> None:
    """Refuse (InvalidInput, code ``over_cost_cap``) a request whose effective parameters (``{"lime": {...},
    "anchor": {...}}``, defaults filled in) ask for more than ``role`` may; the error names the first one."""
    if policy is None:
        return
    for name, cap in explanation_caps(policy, role).items():
        group, parameter = name.split(".", 1)
        value = (parameters.get(group) or {}).get(parameter)
        if isinstance(value, (int, float)) and value > cap:
            raise InvalidInput(
                f"{name} = {value:g} is over the {role} role's cap of {cap:g} under policy "
                f"{policy.document.name!r} (fair use: one request may not hold an explanation slot for long); "
                f"ask for at most {cap:g}, or leave it out for the default", code="over_cost_cap",
                field=f"parameters.{name}")


class RateLimiter:
    """Requests per key: a token bucket of ``per_minute`` tokens, refilled at ``per_minute / 60`` a second.
    ``per_minute`` 0 turns it off."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 0:
            raise InvalidInput("the rate limit is a number of requests per minute, 0 or more", field="per_minute")
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Count one request of ``key``; RateLimited (with the seconds to wait) if its bucket is empty."""
        if self.per_minute == 0:
            return
        rate = self.per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - then) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / rate))
                raise RateLimited(f"more than {self.per_minute} requests a minute from this API key; try again in "
                                  f"{wait} s", retry_after=wait, field="authorization")
            self._buckets[key] = (tokens - 1.0, now)
