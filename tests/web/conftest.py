"""The real service on a loopback port (one per test module and database), and Chromium to drive it.

The browser is Debian's ``chromium`` (``make test`` installs it as root when missing),
driven by Playwright for Python with ``executable_path``: nothing downloads a browser.
Screenshots of every page go to ``screenshots/`` at the top of the checkout (not committed).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import uvicorn
from sklearn.pipeline import Pipeline

from api.main import create_app
from tests.conftest import fresh_postgres_schema
from tests.net import free_port
from xai_gov.actors import Actor, Role
from xai_gov.registry.schema import FeatureSchema
from xai_gov.sdk import Client

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("XAI_GOV_SCREENSHOTS", ROOT / "screenshots"))
CHROMIUM = os.environ.get("XAI_GOV_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Site:
    """A served store with a model, one key per role (and a second officer), and an applicant."""

    url: str
    client: Client
    keys: dict[str, str]
    applicant: dict[str, Any]
    database: str
    shots: list[Path] = field(default_factory=list)


def _needs(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)  # CI has everything: a skip would hide a broken suite
    pytest.skip(reason)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database URL for the module: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('web') / 'store.db'}"
        return
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(scope="module")
def site(database: str, tmp_path_factory: pytest.TempPathFactory, small_model: Pipeline,
         german_xy: tuple[pd.DataFrame, pd.Series]) -> Iterator[Site]:
    client = Client(home=tmp_path_factory.mktemp("home"), database_url=database)
    X, y = german_xy
    # The owner sets a hard limit on the loan's duration (inferred schemas set none since issue 10).
    inferred = FeatureSchema.infer(X, y, adverse_class="bad")
    schema = replace(inferred, features=tuple(
        replace(f, minimum=1.0, maximum=120.0) if f.name == "duration_months" else f for f in inferred.features))
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", trainer="alice", code_path=None,
                    alias="staging", description="Credit risk of a consumer loan applicant", schema=schema)
    admin = Actor("root", Role.ADMIN)
    keys = {role.value: client.keys.create(name=f"{role.value}-1", role=role, actor=admin)[1] for role in Role}
    keys["officer2"] = client.keys.create(name="officer-2", role=Role.OFFICER, actor=admin)[1]
    applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[1].items()}
    name = "sqlite" if database.startswith("sqlite") else "postgres"
    shutil.rmtree(SCREENSHOTS / name, ignore_errors=True)  # this run's pages only
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(client=client), host="127.0.0.1", port=port, ws="none",
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the server did not start in 30 s")
            time.sleep(0.05)
        yield Site(url, client, keys, applicant, name)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        client.close()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright; absent, the tests skip (locally) or fail (CI=true).

    Package-scoped: Playwright's sync API keeps an event loop running in the main thread while it is open,
    and tests run after it that call ``asyncio.run`` (PDF signing) would fail in that loop."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        _needs(f"no Chromium at {CHROMIUM}: apt-get install chromium (make test does, as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _needs("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def signed_in_page(chromium: Any, site: Site, role: str, *, width: int = 1280) -> Any:
    """A fresh browser context (its own cookies), signed in with the ``role`` key."""
    context = chromium.new_context(viewport={"width": width, "height": 900}, accept_downloads=True,
                                   base_url=site.url)
    page = context.new_page()
    page.goto("/ui/sign-in")
    page.get_by_label("Your API key").fill(site.keys[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def shoot(page: Any, site: Site, name: str) -> Path:
    folder = SCREENSHOTS / site.database
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{len(site.shots) + 1:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    site.shots.append(path)
    return path


def http_session(site: Site, role: str) -> tuple[httpx.Client, str]:
    """An HTTP client signed in through the sign-in form (cookies kept), and its CSRF token."""
    import re

    http = httpx.Client(base_url=site.url, timeout=120, follow_redirects=True)
    form = http.get("/ui/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    signed = http.post("/ui/sign-in", data={"csrf_token": token.group(1), "api_key": site.keys[role]})
    assert signed.status_code == 200, signed.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', signed.text)
    assert found is not None
    return http, found.group(1)
