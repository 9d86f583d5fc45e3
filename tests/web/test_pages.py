"""Sessions, CSRF, roles and the applicant form through the app in-process (both databases).

A second model with other feature names (a Python function) checks that the form and
the result page come from the version's schema, not from German credit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.web.tiny_model import training_data
from xai_gov.actors import Actor, Role
from xai_gov.sdk import Client

QUICK_FORM = {"f.income_eur": "1200.50", "f.region": "east", "f.years_at_address": "2"}


@dataclass
class App:
    http: TestClient
    client: Client
    keys: dict[str, str]

    def sign_in(self, role: str, *, next_url: str = "") -> str:
        """Sign in through the form; the CSRF token of the signed-in pages."""
        token = _token(self.http.get("/ui/sign-in").text)
        answer = self.http.post("/ui/sign-in", data={"csrf_token": token, "api_key": self.keys[role],
                                                     "next": next_url})
        assert answer.status_code == 200, answer.text
        return _token(answer.text)


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


@pytest.fixture
def app(client: Client) -> Iterator[App]:
    X, y = training_data()
    client.register("tests.web.tiny_model:predict", X, y, name="tiny-loans", adverse_class="declined",
                    code_path=None, alias="staging", labels={"income_eur": "Monthly income",
                                                             "years_at_address": "Years at the address"},
                    reason_codes={"features": {  # a version needs a statement per feature
                        "income_eur": {"code": "T1", "statement": "Income insufficient for amount of credit"},
                        "region": {"code": "T2", "statement": "Region of residence"},
                        "years_at_address": {"code": "T3", "statement": "Length of residence"}}})
    admin = Actor("root", Role.ADMIN)
    keys = {role.value: client.keys.create(name=role.value, role=role, actor=admin)[1] for role in Role}
    with TestClient(create_app(client=client), base_url="https://testserver") as http:
        yield App(http, client, keys)


def test_sign_in_sets_a_strict_httponly_secure_cookie_and_sign_out_ends_it(app: App) -> None:
    app.sign_in("officer")
    cookie = next(h for h in app.http.cookies.jar if h.name == "xg_session")
    header = [v for k, v in app.http.get("/ui/sign-in").headers.multi_items() if k == "set-cookie"]
    assert cookie.secure and cookie.has_nonstandard_attr("HttpOnly")
    assert any("SameSite=strict" in h and "HttpOnly" in h and "Secure" in h for h in header)
    page = app.http.get("/ui/explain")
    assert page.status_code == 200 and "Monthly income" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    stolen = cookie.value
    app.http.post("/ui/sign-out", data={"csrf_token": _token(page.text)})
    assert "xg_session" not in app.http.cookies
    replayed = app.http.get("/ui/explain", headers={"Cookie": f"xg_session={stolen}"})
    assert replayed.status_code == 401 and "Your session ended" in replayed.text


def test_a_bad_key_or_a_missing_token_does_not_sign_in(app: App) -> None:
    token = _token(app.http.get("/ui/sign-in").text)
    wrong = app.http.post("/ui/sign-in", data={"csrf_token": token, "api_key": "xg_nothing"})
    assert wrong.status_code == 401 and "That key does not work" in wrong.text
    no_token = app.http.post("/ui/sign-in", data={"api_key": app.keys["officer"]})
    assert no_token.status_code == 403 and "xg_session" not in app.http.cookies


def test_a_session_ends_when_idle_and_when_its_key_is_revoked(app: App) -> None:
    app.sign_in("officer")
    pages = app.http.app.state.pages  # type: ignore[attr-defined]
    pages.clock = lambda: time.time() + 31 * 60
    ended = app.http.get("/ui/decisions")
    assert ended.status_code == 401 and "Your session ended" in ended.text
    pages.clock = time.time
    assert app.http.get("/ui/decisions").status_code == 200
    key_id = next(k.id for k in app.client.keys.list() if k.role is Role.OFFICER)
    app.client.keys.revoke(key_id=key_id, actor=Actor("root", Role.ADMIN))
    revoked = app.http.get("/ui/decisions")
    assert revoked.status_code == 401 and "revoked" in revoked.text


def test_sign_in_goes_back_only_to_a_page_of_this_site(app: App) -> None:
    app.sign_in("auditor", next_url="https://evil.example/")
    assert app.http.get("/ui/").url.path == "/ui/lineage"
    app.sign_in("admin", next_url="/ui/keys")  # signed in already: another key replaces the session
    assert app.http.get("/ui/keys").status_code == 200


def test_the_form_follows_the_schema_and_shows_every_error_at_once(app: App) -> None:
    token = app.sign_in("officer")
    form = app.http.get("/ui/explain?model=tiny-loans@staging").text
    assert '<option value="east">east</option>' in form and "a number, trained on" in form
    bad = app.http.post("/ui/explain", data={"csrf_token": token, "model": "tiny-loans@staging", "decision_id": "",
                                              "f.income_eur": "1,5", "f.region": "west", "f.years_at_address": "2.5"})
    assert bad.status_code == 422
    errors = re.findall(r'<p class="error" id="([^"]+)-error">([^<]+)</p>', bad.text)
    by_id = dict(errors)
    assert set(by_id) == {"decision_id", "feature-0", "feature-1", "feature-2"}
    assert "is not a number" in by_id["feature-0"]
    assert "unknown category" in by_id["feature-1"]
    assert "Years at the address takes a whole number" in by_id["feature-2"]
    assert app.client.find_explanations() == []  # nothing stored


def test_an_officer_explains_a_second_model_and_reads_only_their_own(app: App) -> None:
    token = app.sign_in("officer")
    done = app.http.post("/ui/explain", follow_redirects=False, data={
        "csrf_token": token, "model": "tiny-loans@staging", "decision_id": "TINY-1", **QUICK_FORM})
    assert done.status_code == 303, done.text
    page = app.http.get(done.headers["location"])
    record = app.client.find_explanations(decision_id="TINY-1")[0]
    assert page.status_code == 200 and "Decision TINY-1" in page.text
    assert "Monthly income" in page.text and "<svg" in page.text
    assert record.requested_by.startswith("officer")
    packet = app.http.get(f"/ui/decisions/{record.id}/packet")
    assert packet.headers["content-type"] == "application/pdf" and packet.content.startswith(b"%PDF")
    app.http.cookies.clear()
    app.sign_in("auditor")
    assert "explanation.created" in app.http.get(f"/ui/decisions/{record.id}").text
    version = app.http.get("/ui/models/tiny-loans@1")
    assert "Policy results over 1 explanation" in version.text and "Score distributions" in version.text


def test_docs_work_offline_from_the_package(app: App) -> None:
    docs = app.http.get("/docs")
    assert docs.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        asset = app.http.get(source)
        assert asset.status_code == 200 and len(asset.content) > 500, source


def test_an_owner_moves_aliases_and_production_names_what_is_missing(app: App) -> None:
    token = app.sign_in("owner")
    page = app.http.get("/ui/models/tiny-loans")
    assert "No: " in page.text and "code commit" in page.text
    assert "<strong>approver</strong> (no second person approved it" in page.text  # the whole gate, not only lineage
    refused = app.http.post("/ui/models/tiny-loans/aliases", data={"csrf_token": token, "alias": "production",
                                                                   "version": "1"})
    assert refused.status_code == 409
    assert "may not take the production alias" in refused.text and "code_commit" in refused.text
    assert "production" not in app.client.get_model("tiny-loans@1").aliases
    moved = app.http.post("/ui/models/tiny-loans/aliases", data={"csrf_token": token, "alias": "challenger",
                                                                 "version": "1"})
    assert moved.status_code == 200 and "The alias challenger was moved" in moved.text
    assert "challenger" in app.client.get_model("tiny-loans@1").aliases


def test_an_admin_creates_a_key_shown_once_and_revokes_it(app: App) -> None:
    token = app.sign_in("admin")
    created = app.http.post("/ui/keys", data={"csrf_token": token, "name": "new officer", "role": "officer"})
    assert created.status_code == 201
    key = re.search(r'id="new-key" readonly value="(xg_[^"]+)"', created.text)
    assert key is not None and app.client.keys.authenticate(key.group(1)).role is Role.OFFICER
    listed = app.http.get("/ui/keys").text
    assert key.group(1) not in listed and "new officer" in listed
    key_id = next(k.id for k in app.client.keys.list() if k.name == "new officer")
    app.http.post(f"/ui/keys/{key_id}/revoke", data={"csrf_token": token})
    assert next(k for k in app.client.keys.list() if k.id == key_id).revoked_at is not None
    bad = app.http.post("/ui/keys", data={"csrf_token": token, "name": "x", "role": "superuser"})
    assert bad.status_code == 422 and "unknown role" in bad.text


def test_an_officer_sees_what_would_change_a_declined_decision(app: App) -> None:
    token = app.sign_in("officer")
    done = app.http.post("/ui/explain", follow_redirects=False, data={
        "csrf_token": token, "model": "tiny-loans@staging", "decision_id": "TINY-CF", **QUICK_FORM})
    assert done.status_code == 303, done.text
    record = app.client.find_explanations(decision_id="TINY-CF")[0]
    assert record.adverse and record.section("counterfactuals")["options"]
    page = app.http.get(done.headers["location"]).text
    recourse = page[page.index('id="recourse-h"'):page.index("</section>", page.index('id="recourse-h"'))]
    for option in record.section("counterfactuals")["options"]:  # escaped as HTML, as the page writes it
        assert option["statement"].replace("'", "&#39;") in recourse
    # income alone is enough here (the model's score falls below 0 at about 4,600 EUR), and it is the nearest
    assert record.section("counterfactuals")["options"][0]["changes"][0]["feature"] == "income_eur"
    assert "Had Monthly income been" in recourse


def test_the_bank_s_decision_rule_is_shown_where_the_record_has_one() -> None:
    from api.pages.views import _decision_rows

    rows = _decision_rows({"rule": {"adverse_class": "bad", "cutoff": 0.35, "rule": "adverse when P(bad) >= 0.35"},
                           "by_rule": "adverse", "bank_decision": None})
    assert [(r.name, r.value) for r in rows] == [
        ("Decision rule", "adverse when P(bad) >= 0.35 (the model version's rule): adverse"),
        ("Bank's decision", "not given: the rule's decision stands")]
    assert _decision_rows(None) == ()


def test_an_auditor_finds_versions_by_dataset_digest_and_sees_their_data_version_and_rule(app: App) -> None:
    X, y = training_data()
    app.client.register("tests.web.tiny_model:predict", X, y, name="tiny-loans", adverse_class="declined",
                        code_path=None, data_version="lakefs:9c1f2e", cutoff=0.3,
                        reason_codes={"features": {
                            "income_eur": {"code": "T1", "statement": "Income insufficient for amount of credit"},
                            "region": {"code": "T2", "statement": "Region of residence"},
                            "years_at_address": {"code": "T3", "statement": "Length of residence"}}})
    app.sign_in("auditor")
    page = app.http.get("/ui/lineage", params={"dataset_digest": "lakefs:9c1f2e"})
    assert page.status_code == 200, page.text
    assert "1 model version" in page.text and "tiny-loans@2" in page.text and "tiny-loans@1" not in page.text
    assert "data version" in page.text and "P(declined) &gt;= 0.3" in page.text
    unknown = app.http.get("/ui/lineage", params={"mlflow_run": "feedfacefeedface"})
    assert unknown.status_code == 404 and "feedfacefeedface" in unknown.text


def test_a_second_person_approves_a_version_on_the_model_page(app: App) -> None:
    token = app.sign_in("approver")
    page = app.http.get("/ui/models/tiny-loans")
    assert "Approve a version for production" in page.text and "no second person" in page.text.lower()
    approved = app.http.post("/ui/models/tiny-loans/approval",
                             data={"csrf_token": token, "version": "1", "note": "validation MV-17 reviewed"})
    assert approved.status_code == 200 and "tiny-loans@1 is approved for production" in approved.text
    assert app.client.get_model("tiny-loans@1").lineage.approver.startswith("approver")
    again = app.http.post("/ui/models/tiny-loans/approval", data={"csrf_token": token, "version": "1"})
    assert again.status_code == 409 and "The version was not approved." in again.text
    assert "already approved" in again.text
    officer_token = app.sign_in("officer")
    assert "Approve a version" not in app.http.get("/ui/models/tiny-loans").text
    refused = app.http.post("/ui/models/tiny-loans/approval", data={"csrf_token": officer_token, "version": "1"})
    assert refused.status_code == 403


def test_every_role_has_a_home_page_and_a_menu() -> None:
    from api.pages.base import HOME, MENUS  # a role added to the core without them could not sign in (a 500)

    assert set(HOME) == set(MENUS) == set(Role)
