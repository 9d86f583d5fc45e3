"""Dependencies: the core client, the caller's identity and what their role allows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from xai_gov.actors import Actor
from xai_gov.auth.permissions import Permission, require
from xai_gov.errors import InvalidInput, Unauthenticated
from xai_gov.sdk import Client
from xai_gov.validation import printable

bearer = HTTPBearer(auto_error=False, description="An API key: Authorization: Bearer xg_...")


def get_client(request: Request) -> Client:
    return request.app.state.client


def json_body(request: Request) -> None:
    """A JSON endpoint refuses another content type with 415 instead of guessing."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise InvalidInput(f"send the body as application/json, not {content_type or 'no content type'}",
                           code="unsupported_media_type", field="content-type")


JsonBody = Depends(json_body)


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def known_query(request: Request) -> None:
    """A query parameter the operation does not take is refused (422 naming it), not silently ignored:
    a misspelt filter would otherwise widen a lookup without a word."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    declared = _query_names(dependant)
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        name = printable(unknown[0], 100)
        takes = ", ".join(sorted(declared)) or "none"
        raise InvalidInput(f"unknown query parameter {name!r}; this operation takes: {takes}", field=name)


KnownQuery = Depends(known_query)


ClientDep = Annotated[Client, Depends(get_client)]


def current_actor(request: Request, client: ClientDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Actor:
    if credentials is None:
        raise Unauthenticated("an API key is required: Authorization: Bearer <key>", field="authorization")
    actor = client.keys.authenticate(credentials.credentials)
    request.app.state.rate_limiter.check(actor.name)  # per key: the name carries the key's prefix
    return actor


def allowed_to(permission: Permission) -> Callable[..., Actor]:
    def check(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        return require(actor, permission)

    return check


ModelReader = Annotated[Actor, Depends(allowed_to(Permission.READ_MODELS))]
ModelWriter = Annotated[Actor, Depends(allowed_to(Permission.WRITE_MODELS))]
Explainer = Annotated[Actor, Depends(allowed_to(Permission.EXPLAIN))]
ExplanationReader = Annotated[Actor, Depends(allowed_to(Permission.READ_EXPLANATIONS))]
Replayer = Annotated[Actor, Depends(allowed_to(Permission.REPLAY))]
LineageReader = Annotated[Actor, Depends(allowed_to(Permission.READ_LINEAGE))]
AuditReader = Annotated[Actor, Depends(allowed_to(Permission.READ_AUDIT))]
KeyManager = Annotated[Actor, Depends(allowed_to(Permission.MANAGE_KEYS))]
Monitor = Annotated[Actor, Depends(allowed_to(Permission.MONITOR))]


def pdf_response(pdf: bytes, filename: str) -> Response:
    """A packet as a download."""
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
