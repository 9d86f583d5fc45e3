"""Browser sessions for the pages: an API key, once, becomes an encrypted session cookie.

The cookie holds the key encrypted and authenticated with Fernet (AES-128-CBC and
HMAC-SHA256, from ``cryptography``) under a server secret, so every request is
authenticated afresh through the same ``KeyService`` the API uses: a revoked key
stops working in the browser at once, and any worker process can read any
session. The cookie is HttpOnly, SameSite=Strict, Secure when the request came
over TLS, and expires after ``idle_minutes`` without a request (Fernet's own
timestamp, renewed as the session is used) and after ``max_hours`` in any case.

Every form that changes something carries a CSRF token: an HMAC of the session's
random nonce (before sign-in, of a pre-session cookie's nonce), compared in
constant time. Searches are GET forms without a token: they change nothing, the
SameSite=Strict cookie is never sent from another site, and a token in a URL
would end up in logs.

Sign-out deletes the cookie and remembers the nonce as ended in this process;
a copy of the cookie kept elsewhere stays valid in other worker processes until
it idles out. That is the price of keeping no session table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request, Response
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from xai_gov.actors import Actor
from xai_gov.errors import PermissionDenied, Unauthenticated
from xai_gov.sdk import Client

COOKIE = "xg_session"
PRE_COOKIE = "xg_pre"
RENEW_AFTER_SECONDS = 60  # re-issue the cookie at most once a minute (its timestamp is the idle clock)


class PageSettings(BaseSettings):
    """The pages' own settings (environment, prefix ``XAI_GOV_``)."""

    model_config = SettingsConfigDict(env_prefix="XAI_GOV_", extra="ignore")

    session_idle_minutes: float = Field(default=30.0, gt=0, description="a session ends after this long unused")
    session_max_hours: float = Field(default=12.0, gt=0, description="a session ends this long after sign-in")
    session_secret: str | None = Field(default=None, description="Fernet key; default <home>/keys/session-secret")


@dataclass(frozen=True)
class PageSession:
    """A signed-in browser: who, with which key, and the CSRF token its forms carry."""

    actor: Actor
    key: str
    nonce: str
    issued: float
    csrf: str
    renew: bool  # the cookie's idle clock should be restarted on this response


class SignInRequired(Exception):
    """No session, or one that expired: the page answers with the sign-in form."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load_secret(settings: PageSettings, home: Path) -> bytes:
    """The Fernet key: from the setting, else a file created once (0600) beside the ledger's signing key."""
    if settings.session_secret:
        return settings.session_secret.encode("ascii")
    path = home / "keys" / "session-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: several workers starting at once agree on one secret
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(Fernet.generate_key())
    return path.read_bytes().strip()


class SessionManager:
    """Issues, reads and ends session cookies; makes and checks CSRF tokens."""

    def __init__(self, client: Client, settings: PageSettings | None = None) -> None:
        self.client = client
        self.settings = settings or PageSettings()
        secret = load_secret(self.settings, client.settings.resolved_home)
        self._fernet = Fernet(secret)
        self._mac_key = hashlib.sha256(b"xai-gov csrf\x00" + secret).digest()
        self._ended: dict[str, float] = {}
        self._lock = threading.Lock()
        self.clock: Callable[[], float] = time.time  # a test seam for the idle and absolute expiry

    @property
    def idle_seconds(self) -> int:
        return int(self.settings.session_idle_minutes * 60)

    # -- CSRF ---------------------------------------------------------------------

    def csrf_for(self, nonce: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._mac_key, nonce.encode(), "sha256").digest()).decode()

    def check_csrf(self, nonce: str | None, token: str | None) -> None:
        if not nonce or not token or not hmac.compare_digest(self.csrf_for(nonce), token):
            raise PermissionDenied("the form's security token is missing or does not match this session; "
                                   "reload the page and try again", code="csrf_failed", field="csrf_token")

    def pre_session_nonce(self, request: Request) -> str:
        """The nonce of the pre-session cookie (a new one when absent): the sign-in form's CSRF base."""
        return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)

    # -- sessions -----------------------------------------------------------------

    def sign_in(self, key: str) -> tuple[Actor, str]:
        """Authenticate ``key`` as the API would; the session cookie's value."""
        actor = self.client.keys.authenticate(key.strip())
        return actor, self._seal(key.strip(), secrets.token_urlsafe(24), self.clock())

    def read(self, request: Request) -> PageSession:
        token = request.cookies.get(COOKIE)
        if not token:
            raise SignInRequired("Sign in with your API key.")
        try:
            data = json.loads(self._fernet.decrypt_at_time(token.encode("ascii"), ttl=self.idle_seconds,
                                                           current_time=int(self.clock())))
            stamped = self._fernet.extract_timestamp(token.encode("ascii"))
        except (InvalidToken, ValueError, UnicodeEncodeError):
            raise SignInRequired("Your session ended (unused for too long, or signed out). "
                                 "Sign in again.") from None
        nonce, issued = str(data["n"]), float(data["t"])
        if self.clock() - issued > self.settings.session_max_hours * 3600 or self._is_ended(nonce):
            raise SignInRequired("Your session ended. Sign in again.")
        try:
            actor = self.client.keys.authenticate(data["k"])
        except Unauthenticated as error:
            raise SignInRequired(f"Your key no longer works: {error.message}") from None
        return PageSession(actor=actor, key=data["k"], nonce=nonce, issued=issued, csrf=self.csrf_for(nonce),
                           renew=self.clock() - stamped > RENEW_AFTER_SECONDS)

    def renewed(self, session: PageSession) -> str:
        return self._seal(session.key, session.nonce, session.issued)

    def end(self, session: PageSession) -> None:
        with self._lock:
            now = self.clock()
            self._ended = {n: t for n, t in self._ended.items() if now - t < self.idle_seconds}
            self._ended[session.nonce] = now

    def set_cookie(self, request: Request, response: Response, value: str, *, name: str = COOKIE,
                   path: str = "/") -> None:
        response.set_cookie(name, value, max_age=self.idle_seconds if name == COOKIE else 3600, path=path,
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")

    def _seal(self, key: str, nonce: str, issued: float) -> str:
        payload = json.dumps({"k": key, "n": nonce, "t": issued}, separators=(",", ":")).encode()
        return self._fernet.encrypt_at_time(payload, int(self.clock())).decode("ascii")

    def _is_ended(self, nonce: str) -> bool:
        with self._lock:
            return nonce in self._ended
