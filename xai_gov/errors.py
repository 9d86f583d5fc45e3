"""Errors raised by the core.

    XaiGovError (code)
    ├── NotFound                model, version, alias, artifact, record
    ├── InvalidInput            bad argument, schema, instance, file
    │   └── SchemaMismatch      schema and data disagree
    ├── Conflict                the write would clash with what is stored
    ├── PermissionDenied        the actor's role may not do this
    ├── ModelCheckFailed        predict_proba raised or returned the wrong shape
    ├── ModelEndpointError      an HTTP model endpoint failed
    ├── IntegrityError          a stored artifact or record no longer matches its hash
    ├── Unauthenticated         no key, or an unknown or revoked one
    ├── Unavailable             busy, or over an explanation's time budget
    └── RateLimited             one API key sent more requests than its rate allows

Every error carries a stable ``code`` (for scripts and the API's error table), a
human message, and where it makes sense the ``field`` or thing it names.
"""

from __future__ import annotations


class XaiGovError(Exception):
    """Base of every error the core raises on purpose."""

    code: str = "xai_gov_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(XaiGovError):
    code = "not_found"


class InvalidInput(XaiGovError):
    code = "invalid_input"


class SchemaMismatch(InvalidInput):
    code = "schema_mismatch"


class Conflict(XaiGovError):
    code = "conflict"


class PermissionDenied(XaiGovError):
    code = "permission_denied"


class ModelCheckFailed(XaiGovError):
    code = "model_check_failed"


class ModelEndpointError(XaiGovError):
    code = "model_endpoint_error"


class IntegrityError(XaiGovError):
    code = "integrity_error"


class Unauthenticated(XaiGovError):
    """No credentials, or credentials that are unknown or revoked."""

    code = "unauthenticated"


class Unavailable(XaiGovError):
    """The service cannot take the work now (busy, or over an explanation's time budget)."""

    code = "unavailable"


class RateLimited(XaiGovError):
    """One API key sent more requests than the service's per-key rate: try again after ``retry_after`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
