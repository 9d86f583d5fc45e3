"""The admin's page: API keys (a new key is shown once, on the page that created it), revoke."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.errors import status_of
from api.pages.base import FormDep, PageRoute, SessionDep, client_of, redirect, render
from api.pages.session import PageSession
from xai_gov.actors import Role
from xai_gov.auth.permissions import Permission, require
from xai_gov.errors import InvalidInput, XaiGovError

router = APIRouter(prefix="/ui", route_class=PageRoute)


@router.get("/keys")
def keys(request: Request, session: SessionDep) -> Response:
    require(session.actor, Permission.MANAGE_KEYS)
    return _keys_page(request, session)


def _keys_page(request: Request, session: PageSession, *, created: tuple[object, str] | None = None,
               error: XaiGovError | None = None) -> Response:
    return render(request, "keys.html", session, status=201 if created else (status_of(error) if error else 200),
                  keys=client_of(request).keys.list(), roles=[r.value for r in Role], created=created, error=error)


@router.post("/keys")
def create_key(request: Request, session: SessionDep, form: FormDep) -> Response:
    require(session.actor, Permission.MANAGE_KEYS)
    try:
        created = client_of(request).keys.create(name=form.get("name", ""), role=form.get("role", ""),
                                                  actor=session.actor)
    except XaiGovError as error:
        return _keys_page(request, session, error=error)
    return _keys_page(request, session, created=created)


@router.post("/keys/{key_id}/revoke")
def revoke_key(key_id: int, request: Request, session: SessionDep, _: FormDep) -> Response:
    require(session.actor, Permission.MANAGE_KEYS)
    if not 1 <= key_id <= 2**31 - 1:
        raise InvalidInput(f"no API key {key_id}", field="id")
    client_of(request).keys.revoke(key_id=key_id, actor=session.actor)
    return redirect("/ui/keys")
