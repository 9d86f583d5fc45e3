"""The adverse action notice: what the applicant receives (issue 10)."""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader

from xai_gov.actors import Actor, Role
from xai_gov.errors import InvalidInput, NotFound
from xai_gov.reports.notice import ECOA_NOTICE, NoticeSettings
from xai_gov.sdk import Client

STEPPED = "tests.registry.fixtures_models:stepped_risk"


def entered(row: pd.Series) -> dict[str, Any]:
    return {k: v.item() if hasattr(v, "item") else v for k, v in row.items()}


@pytest.fixture
def declined(client: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> dict[str, Any]:
    X, y = german_xy
    client.register(STEPPED, X, y, name="stepped", adverse_class="bad", code_path=None, cutoff=0.35)
    # Overdrawn, a long loan, low savings (P(bad) 0.7), and a foreign worker: protected features in the input.
    row = X[(X.checking_account == "below 0 DM") & (X.duration_months > 24) & (X.savings == "below 100 DM")
            & (X.foreign_worker == "yes")].iloc[0]
    record = client.explain("stepped@1", entered(row), decision_id="LOAN-N1", requested_by="olga",
                            methods=["lime", "anchor", "shap"],
                            parameters={"lime": {"num_samples": 500, "repeats": 2}, "anchor": {"repeats": 1}})
    return {"client": client, "record": record}


def text_of(pdf: bytes) -> tuple[list[str], str]:
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    return pages, " ".join(" ".join(pages).split())


def test_the_notice_states_the_decision_reasons_rights_and_where_to_ask(declined: dict[str, Any]) -> None:
    client, record = declined["client"], declined["record"]
    assert record.adverse and record.reasons
    pdf = client.export_notice(record.id)
    pages, whole = text_of(pdf)
    assert 1 <= len(pages) <= 2
    assert "Statement of Credit Denial" in whole and "Your application for credit has been declined" in whole
    assert "LOAN-N1" in whole
    for reason in record.reasons[:4]:
        assert " ".join(reason["statement"].split()) in whole
    settings = NoticeSettings.load(client.settings.resolved_policies_dir / client.settings.notice)
    assert "Equal Credit Opportunity Act" in whole and settings.agency.name in whole
    assert settings.creditor.contact in whole and settings.creditor.telephone in whole
    stored = record.to_dict()
    event = [e for e in client.audit_events() if e.action == "explanation.created"][-1]
    assert all(stored["record_sha256"] in page and f"ledger event {event.seq}" in page for page in pages)
    assert "record.json" not in PdfReader(io.BytesIO(pdf)).attachments  # the record stays with the bank
    assert [e.subject for e in client.audit_events()][-1] == f"notice {record.id}"


def test_the_notice_carries_no_protected_feature_and_no_internals(declined: dict[str, Any]) -> None:
    client, record = declined["client"], declined["record"]
    _, whole = text_of(client.export_notice(record.id))
    settings = NoticeSettings.load(client.settings.resolved_policies_dir / client.settings.notice)
    ecoa = " ".join(ECOA_NOTICE.format(agency=f"{settings.agency.name}, {settings.agency.address}").split())
    rest = whole.replace(ecoa, "").lower()  # the ECOA notice itself names the prohibited bases
    schema = client.get_model(record.model_ref).schema
    assert "equal credit opportunity act" not in rest  # the notice was found, and taken out

    def said(words: str) -> bool:
        return re.search(rf"(?<![\w-]){re.escape(words.lower())}(?![\w-])", rest) is not None

    protected = [f for f in schema.features if f.protected]  # the version's declaration (issue 9)
    assert {f.name for f in protected} >= {"age", "personal_status_sex", "foreign_worker"}
    for feature in protected:
        assert not said(feature.name) and not said(feature.label), feature.name
        if feature.kind == "categorical":
            assert not said(str(record.instance[feature.name])), feature.name
    assert set(record.withheld_reasons) <= {f.name for f in protected}
    for internal in ("lime", "shap", "anchor", "probability", "score", "model", "cutoff"):
        assert not said(internal), internal
    assert "%" not in rest and "0.7" not in rest


def test_a_favourable_decision_has_no_notice_and_officers_see_only_their_own(
        declined: dict[str, Any], german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    client = declined["client"]
    X = german_xy[0]
    safe = X[(X.checking_account != "below 0 DM") & (X.duration_months <= 24)].iloc[0]
    approved = client.explain("stepped@1", entered(safe), decision_id="LOAN-N2", methods=["shap"])
    with pytest.raises(InvalidInput) as refused:
        client.export_notice(approved.id)
    assert refused.value.code == "not_adverse"
    record = declined["record"]
    assert client.export_notice(record.id, actor=Actor("olga", Role.OFFICER)).startswith(b"%PDF")
    with pytest.raises(NotFound):
        client.export_notice(record.id, actor=Actor("oscar", Role.OFFICER))
    assert client.export_notice(record.id, actor=Actor("audra", Role.AUDITOR)).startswith(b"%PDF")
