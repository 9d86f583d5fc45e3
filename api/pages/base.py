"""What every page shares: templates, the session dependency, rendering with the security headers,
and one place that turns the core's errors into pages (as api/errors.py turns them into problem+json)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from api.errors import status_of
from api.pages.session import PRE_COOKIE, PageSession, SessionManager, SignInRequired
from xai_gov.actors import Role
from xai_gov.errors import XaiGovError
from xai_gov.sdk import Client

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["percent"] = lambda v: "-" if v is None else f"{v:.1%}"
templates.env.filters["num"] = lambda v, d=3: "-" if v is None else (
    (str(int(v)) if v.is_integer() else f"{v:.{d}f}") if isinstance(v, float) else v)

#: Security headers on every page: nothing framed, no script or style from anywhere else, nothing cached.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: The menu each role sees: (path, label).
MENUS: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.OFFICER: (("/ui/explain", "Explain a decision"), ("/ui/decisions", "My decisions"), ("/ui/models", "Models")),
    Role.AUDITOR: (("/ui/lineage", "Lineage search"), ("/ui/decisions", "Decisions"), ("/ui/ledger", "Ledger"),
                   ("/ui/models", "Models")),
    Role.OWNER: (("/ui/models", "Models"),),
    Role.APPROVER: (("/ui/models", "Models"),),  # approves versions on a model's page
    Role.ADMIN: (("/ui/keys", "API keys"), ("/ui/models", "Models")),
}
HOME = {Role.OFFICER: "/ui/explain", Role.AUDITOR: "/ui/lineage", Role.OWNER: "/ui/models",
        Role.APPROVER: "/ui/models", Role.ADMIN: "/ui/keys"}


_STARTING = threading.Lock()


def manager(request: Request) -> SessionManager:
    """The app's session manager, made on first use (the client exists only once the app has started)."""
    state = request.app.state
    if getattr(state, "pages", None) is None:
        with _STARTING:
            if getattr(state, "pages", None) is None:
                state.pages = SessionManager(state.client)
    return state.pages


def client_of(request: Request) -> Client:
    return request.app.state.client


def page_session(request: Request) -> PageSession:
    """The signed-in session (read once per request), else SignInRequired."""
    session = getattr(request.state, "page_session", None)
    if session is None:
        session = request.state.page_session = manager(request).read(request)
    return session


SessionDep = Annotated[PageSession, Depends(page_session)]


async def _posted(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form of a signed-in page, after its CSRF token was checked against the session."""
    form = await _posted(request)
    manager(request).check_csrf(page_session(request).nonce, form.pop("csrf_token", None))
    return form


async def checked_sign_in_form(request: Request) -> dict[str, str]:
    """The sign-in form, after its CSRF token was checked against the pre-session cookie."""
    form = await _posted(request)
    manager(request).check_csrf(request.cookies.get(PRE_COOKIE), form.pop("csrf_token", None))
    return form


FormDep = Annotated[dict[str, str], Depends(checked_form)]
SignInFormDep = Annotated[dict[str, str], Depends(checked_sign_in_form)]


def render(request: Request, template: str, session: PageSession | None, *, status: int = 200,
           **context: Any) -> HTMLResponse:
    menu = MENUS[session.actor.role] if session else ()
    response = templates.TemplateResponse(request, template, {"session": session, "menu": menu, **context},
                                          status_code=status, headers=HEADERS)
    if session is not None and session.renew:
        pages = manager(request)
        pages.set_cookie(request, response, pages.renewed(session))
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


class PageRoute(APIRoute):
    """A page's errors are pages: sign-in for no session, the core's error in words otherwise."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as needed:
                return sign_in_page(request, reason=needed.reason, status=401,
                                    next_url=request.url.path if request.method == "GET" else None)
            except XaiGovError as error:
                try:
                    session = manager(request).read(request)
                except SignInRequired:
                    session = None
                return render(request, "error.html", session, status=status_of(error), error=error)

        return handle


def sign_in_page(request: Request, *, reason: str | None = None, error: str | None = None, status: int = 200,
                 next_url: str | None = None) -> HTMLResponse:
    pages = manager(request)
    nonce = pages.pre_session_nonce(request)
    response = render(request, "sign_in.html", None, status=status, reason=reason, error=error,
                      csrf=pages.csrf_for(nonce), next_url=next_url or "")
    pages.set_cookie(request, response, nonce, name=PRE_COOKIE, path="/ui")
    return response
