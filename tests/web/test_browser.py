"""End to end in Chromium against the real server, on SQLite and PostgreSQL.

An officer signs in, makes mistakes, sees every error beside its field, fixes them,
reads the explanation and downloads the packet; another officer cannot see it; an
auditor finds the decision by its id, verifies the ledger, replays the explanation,
and after a direct SQL edit of the record the ledger page names the tamper.
"""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
from pypdf import PdfReader
from sqlalchemy import update

from tests.web.conftest import Site, http_session, shoot, signed_in_page
from xai_gov.canonical import sha256_json
from xai_gov.store.orm import ExplanationRow


def _fill_applicant(page: Any, site: Site, **typed: str) -> None:
    schema = site.client.get_model("credit-risk@staging").schema
    for feature in schema.features:
        value = typed.get(feature.name, str(site.applicant[feature.name]))
        field = page.get_by_label(feature.label, exact=True)
        if feature.kind == "categorical":
            field.select_option(value)
        else:
            field.fill(value)


def _pdf_text(path: str) -> str:
    with open(path, "rb") as handle:
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(handle.read())).pages)


def test_officer_explains_and_auditor_verifies_in_the_browser(chromium: Any, site: Site) -> None:
    decision_id = f"WEB-{site.database}-1"
    officer = signed_in_page(chromium, site, "officer")
    assert officer.url.endswith("/ui/explain")
    shoot(officer, site, "officer-form")

    # Two mistakes and one empty field: all three are named at once, beside their fields.
    officer.get_by_label("Decision id").fill(decision_id)
    _fill_applicant(officer, site, age="forty", duration_months="999", credit_amount="")
    officer.get_by_role("button", name="Explain this decision").click()
    summary = officer.locator("#error-summary")
    assert "3 fields need attention" in summary.inner_text()
    age = officer.get_by_label("Age", exact=True)
    assert age.get_attribute("aria-invalid") == "true"
    assert "'forty' is not a number" in officer.locator(f"#{age.get_attribute('id')}-error").inner_text()
    duration = officer.get_by_label("Duration months", exact=True)
    assert "outside its bounds" in officer.locator(f"#{duration.get_attribute('id')}-error").inner_text()
    assert officer.get_by_label("Age", exact=True).input_value() == "forty"  # what was typed stays
    shoot(officer, site, "officer-form-errors")

    _fill_applicant(officer, site)
    officer.get_by_label("The bank's decision").select_option("bad")  # the bank declined, whatever the rule said
    officer.get_by_role("button", name="Explain this decision").click()
    officer.wait_for_url(re.compile(r"/ui/decisions/[0-9a-f]+$"), timeout=180_000)
    explanation_id = officer.url.rsplit("/", 1)[1]
    record = site.client.get_explanation(explanation_id)
    assert officer.get_by_role("heading", name=f"Decision {decision_id}").is_visible()
    assert record.adverse and record.decision["bank_decision"] == "bad"
    assert officer.locator(".outcome").inner_text().startswith("Adverse")
    assert "'bad'" in officer.locator("dl.pairs").first.inner_text()  # the bank's decision, beside the rule
    reasons = officer.locator("ol.reasons li")
    assert reasons.count() == len(record.reasons)
    if record.reasons:  # an adverse decision always has them
        assert record.reasons[0]["statement"] in reasons.first.inner_text()
    lime_chart = officer.locator("#lime-chart-desc")
    assert record.section("lime")["weights"][0]["condition"] in lime_chart.text_content()
    shap_labels = officer.locator("svg.bars").nth(1).locator("text.label").all_text_contents()
    assert any(text.startswith(record.section("shap")["values"][0]["label"]) for text in shap_labels)
    assert any("(protected)" in text for text in officer.locator("svg.bars text.label").all_text_contents())
    assert "IF " in officer.locator(".rule").inner_text()
    recourse = officer.locator("section", has=officer.locator("#recourse-h")).inner_text()
    if record.section("counterfactuals"):  # the rule declined too: the model's own changes, checked by the model
        assert record.section("counterfactuals")["options"][0]["statement"] in recourse
    else:  # only the bank declined: the page says why there is nothing to change
        assert "the decline was the bank's own decision" in recourse
    assert officer.get_by_role("heading", name="How far to trust this explanation").is_visible()
    glance = officer.locator("table", has_text="Quality at a glance").inner_text()
    assert all(criterion in glance for criterion in ("Fidelity", "Stability", "Sparsity", "Coverage"))
    assert record.verdict["outcome"].upper() in officer.locator("#verdict-h").inner_text()
    shoot(officer, site, "officer-decision")

    with officer.expect_download() as download:
        officer.get_by_role("link", name="Download the decision packet (PDF)").click()
    packet = _pdf_text(download.value.path())
    assert decision_id in packet and record.instance_sha256[:16] in packet
    with officer.expect_download() as notice:
        officer.get_by_role("link", name="Download the adverse action notice (PDF)").click()
    notice_text = _pdf_text(notice.value.path())
    assert decision_id in notice_text and "Equal Credit Opportunity Act" in notice_text
    assert record.reasons[0]["statement"].split()[0] in notice_text

    officer.set_viewport_size({"width": 820, "height": 1180})  # a tablet
    assert officer.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(officer, site, "officer-decision-tablet")
    officer.set_viewport_size({"width": 1280, "height": 900})

    officer.goto("/ui/decisions")
    assert officer.get_by_role("link", name=decision_id).is_visible()
    officer.get_by_label("Decision id").fill(decision_id)
    officer.get_by_role("button", name="Search").click()
    officer.wait_for_load_state()  # the click returns once the results page starts loading
    assert officer.locator("tbody tr").count() == 1
    shoot(officer, site, "officer-decisions")

    # Another officer: the decision does not exist for them, by link or by search.
    other = signed_in_page(chromium, site, "officer2")
    response = other.goto(f"/ui/decisions/{explanation_id}")
    assert response is not None and response.status == 404
    assert "no explanation" in other.locator(".error-box").inner_text()
    other.goto(f"/ui/decisions?decision_id={decision_id}")
    assert "No decision" in other.locator("tbody").inner_text()
    shoot(other, site, "other-officer-refused")

    # The auditor finds it by its id, verifies the ledger, replays it.
    auditor = signed_in_page(chromium, site, "auditor")
    assert auditor.url.endswith("/ui/lineage")
    auditor.get_by_label("Decision id").fill(decision_id)
    auditor.get_by_role("button", name="Search").click()
    # the click returns once the results page starts loading: wait for it (is_visible() does not wait)
    auditor.get_by_role("link", name="credit-risk@1").wait_for(state="visible", timeout=30_000)
    shoot(auditor, site, "auditor-lineage")
    auditor.get_by_role("link", name=explanation_id).click()
    assert "explanation.created" in auditor.locator("table").last.inner_text()
    shoot(auditor, site, "auditor-decision")
    auditor.get_by_role("button", name="Verify the ledger").first.click()
    assert "The ledger verifies." in auditor.locator("[role=status]").inner_text()
    shoot(auditor, site, "auditor-verified")
    auditor.goto(f"/ui/decisions/{explanation_id}")
    auditor.get_by_role("button", name="Replay this explanation").click()
    auditor.wait_for_url(re.compile(r"/replay$"), timeout=180_000)
    assert "Every field matches" in auditor.locator("main").inner_text()
    shoot(auditor, site, "auditor-replay")

    # Someone with database access rewrites the stored reasons (and the row's own hash to match): the
    # ledger page names the record and the field.
    stored = record.to_dict()
    stored["reasons"] = []
    stored["record_sha256"] = sha256_json({k: v for k, v in stored.items() if k != "record_sha256"})
    with site.client.database.session() as session:
        session.execute(update(ExplanationRow).where(ExplanationRow.id == explanation_id)
                        .values(record=stored, record_sha256=stored["record_sha256"]))
    auditor.goto("/ui/ledger")
    auditor.get_by_role("button", name="Verify the ledger").click()
    alarm = auditor.locator("[role=alert]").inner_text()
    assert "The ledger does not verify" in alarm
    assert f"explanation {explanation_id} was changed" in alarm and "reasons" in alarm
    shoot(auditor, site, "auditor-tamper")
    for page in (officer, other, auditor):
        page.context.close()


def test_forms_without_the_csrf_token_and_other_roles_are_refused(chromium: Any, site: Site) -> None:
    officer, token = http_session(site, "officer")
    auditor, auditor_token = http_session(site, "auditor")
    owner, owner_token = http_session(site, "owner")
    form = {"model": "credit-risk@staging", "decision_id": "NO-CSRF",
            **{f"f.{k}": str(v) for k, v in site.applicant.items()}}
    count, keys = len(site.client.find_explanations(limit=500)), len(site.client.keys.list())

    for data in (form, {**form, "csrf_token": "forged"}, {**form, "csrf_token": auditor_token}):
        refused = officer.post("/ui/explain", data=data)
        assert refused.status_code == 403 and "security token" in refused.text
    assert officer.post("/ui/keys", data={"name": "x", "role": "admin"}).status_code == 403
    assert owner.post("/ui/keys", data={"name": "x", "role": "admin", "csrf_token": owner_token}).status_code == 403
    assert auditor.post("/ui/explain", data={**form, "csrf_token": auditor_token}).status_code == 403
    assert officer.post("/ui/models/credit-risk/aliases",
                        data={"alias": "production", "version": "1", "csrf_token": token}).status_code == 403
    for path in ("/ui/lineage", "/ui/ledger", "/ui/keys", "/ui/models/credit-risk@1/packet"):
        assert officer.get(path).status_code == 403, path
    assert auditor.get("/ui/explain").status_code == 403
    assert len(site.client.find_explanations(limit=500)) == count  # nothing was explained
    assert len(site.client.keys.list()) == keys  # and no key made

    # No cookie at all (another site's request, or a new browser): the sign-in page, nothing done.
    stranger = httpx.post(f"{site.url}/ui/explain", data={**form, "csrf_token": token})
    assert stranger.status_code == 401 and "Sign in" in stranger.text
    assert httpx.get(f"{site.url}/ui/decisions").status_code == 401
    assert len(site.client.find_explanations(limit=500)) == count

    page = signed_in_page(chromium, site, "officer")
    response = page.goto("/ui/ledger")
    assert response is not None and response.status == 403
    assert "may not read and verify the audit ledger" in page.locator(".error-box").inner_text()
    shoot(page, site, "officer-refused-ledger")
    page.context.close()
    for http in (officer, auditor, owner):
        http.close()


def test_owner_admin_and_docs_pages_in_the_browser(chromium: Any, site: Site) -> None:
    owner = signed_in_page(chromium, site, "owner")
    assert owner.url.endswith("/ui/models")
    owner.get_by_role("link", name="credit-risk", exact=True).click()
    owner.get_by_label("Alias").fill("production")
    owner.get_by_label("Version", exact=True).select_option("1")  # the alias form's; the approval form has its own
    owner.get_by_role("button", name="Move the alias").click()
    refusal = owner.locator("#alias-error").inner_text()
    assert "may not take the production alias" in refusal and "code_commit" in refusal
    shoot(owner, site, "owner-production-refused")
    owner.get_by_role("link", name="credit-risk@1").first.click()
    assert owner.get_by_role("heading", name="Inventory").is_visible()
    shoot(owner, site, "owner-version")
    owner.context.close()

    admin = signed_in_page(chromium, site, "admin")
    admin.get_by_label("Name of the holder").fill("tablet officer")
    admin.get_by_label("Role").select_option("officer")
    admin.get_by_role("button", name="Create the key").click()
    new_key = admin.get_by_label("The new key").input_value()
    assert site.client.keys.authenticate(new_key).role.value == "officer"
    shoot(admin, site, "admin-key-created")
    admin.goto("/ui/keys")
    assert admin.get_by_label("The new key").count() == 0  # shown once
    assert new_key not in admin.content()
    admin.context.close()

    # At a tablet's width, with every request off this machine refused: the form and /docs still work.
    context = chromium.new_context(viewport={"width": 820, "height": 1180}, base_url=site.url)
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(site.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    tablet = context.new_page()
    tablet.goto("/ui/sign-in")
    tablet.get_by_label("Your API key").fill(new_key)
    tablet.keyboard.press("Enter")  # keyboard only
    tablet.wait_for_url("**/ui/explain")
    assert tablet.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shoot(tablet, site, "tablet-officer-form")
    tablet.goto("/docs")
    tablet.locator(".opblock").first.wait_for(timeout=30_000)
    assert tablet.locator(".opblock").count() >= 10
    shoot(tablet, site, "docs-offline")
    assert outside == []
    context.close()

    # Revoking asks first: cancelled, the key still works; confirmed, it stops at once.
    admin = signed_in_page(chromium, site, "admin")
    prefix = new_key.split("_")[1]
    revoke = admin.get_by_role("button", name=f"Revoke key {prefix} of tablet officer")
    admin.once("dialog", lambda dialog: dialog.dismiss())
    revoke.click()
    assert site.client.keys.authenticate(new_key).role.value == "officer"
    admin.once("dialog", lambda dialog: dialog.accept())
    with admin.expect_navigation():
        revoke.click()
    assert next(k for k in site.client.keys.list() if k.prefix == prefix).revoked_at is not None
    admin.context.close()
