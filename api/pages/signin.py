"""Sign in with an API key (it becomes a session cookie), sign out, and the start page of each role."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request, Response

from api.pages.base import HOME, FormDep, PageRoute, SignInFormDep, manager, redirect, sign_in_page
from api.pages.session import COOKIE, PRE_COOKIE, SignInRequired
from xai_gov.errors import Unauthenticated

router = APIRouter(prefix="/ui", route_class=PageRoute)


@router.get("")
@router.get("/")
def start(request: Request) -> Response:
    try:
        session = manager(request).read(request)
    except SignInRequired:
        return redirect("/ui/sign-in")
    return redirect(HOME[session.actor.role])


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return sign_in_page(request)


@router.post("/sign-in")
def sign_in(request: Request, form: SignInFormDep) -> Response:
    pages = manager(request)
    key = form.get("api_key", "")
    try:
        actor, cookie = pages.sign_in(key)
    except Unauthenticated as error:
        return sign_in_page(request, error=f"That key does not work: {error.message}.", status=401)
    target = form.get("next", "")
    if not (target.startswith("/ui/") and not target.startswith("//")):
        target = HOME[actor.role]
    response = redirect(target)
    pages.set_cookie(request, response, cookie)
    response.delete_cookie(PRE_COOKIE, path="/ui")
    return response


@router.post("/sign-out")
def sign_out(request: Request, _: FormDep) -> Response:
    pages = manager(request)
    with contextlib.suppress(SignInRequired):
        pages.end(pages.read(request))
    response = redirect("/ui/sign-in")
    response.delete_cookie(COOKIE, path="/")
    return response
