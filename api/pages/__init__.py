"""Web pages for officers, auditors, model owners and admins, served by the API's own app under /ui.

Server-rendered (Jinja2), no script or style from anywhere else: every asset ships in
this package, and so do Swagger UI's, so /docs works offline too. Pages call the same
core services as the API routes, with the signed-in key's actor.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.pages import admin, auditor, officer, owner, signin
from api.pages.base import HERE


def install(app: FastAPI) -> None:
    """Add /ui (pages and their static files) and an offline /docs to ``app`` (created with docs_url=None)."""
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    for module in (signin, officer, auditor, owner, admin):
        app.include_router(module.router, include_in_schema=False)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
                                   swagger_js_url="/ui/static/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/ui/static/swagger/swagger-ui.css",
                                   swagger_favicon_url="/ui/static/swagger/favicon-32x32.png")

