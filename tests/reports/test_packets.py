"""Decision and model-version packets: what they say, the embedded record, and verification."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader
from sklearn.pipeline import Pipeline
from sqlalchemy import update

from xai_gov.reports.layout import read_attachment
from xai_gov.sdk import Client
from xai_gov.store.orm import ExplanationRow, LineageRow

QUICK = {"lime": {"num_samples": 300, "repeats": 2}, "anchor": {"repeats": 2, "fresh_samples": 200}}


@pytest.fixture
def explained(client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> dict[str, Any]:
    X, y = german_xy
    version = client.register(small_model, X, y, name="credit-risk", adverse_class="bad", trainer="alice",
                              code_path=None, metrics={"auc": 0.81}, alias="staging")
    applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[1].items()}
    record = client.explain("credit-risk@1", applicant, decision_id="LOAN-77", parameters=QUICK)
    return {"client": client, "record": record, "version": version}


def pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_decision_packet_holds_the_evidence_and_verifies(explained: dict[str, Any]) -> None:
    client: Client = explained["client"]
    record = explained["record"]
    pdf = client.export_decision(record.id)
    texts = pages(pdf)
    whole = "\n".join(texts)
    assert whole.startswith("Decision packet: LOAN-77")
    for reason in record.reasons:
        assert reason["statement"] in whole
    for condition in record.section("anchor")["rule"]:
        assert condition.split(" = ")[0] in whole
    stored = record.to_dict()
    assert stored["record_sha256"] in whole and record.instance_sha256 in whole
    assert f"{stored['scores']['fidelity']['lime']['fresh_weighted_r2']:.3f}" in whole
    assert explained["version"].lineage.data_sha256 in whole and "alice" in whole
    assert "Policy verdict" in whole and "The applicant's rights" in whole
    assert "Quality at a glance" in whole
    sparsity = stored["scores"]["sparsity"]
    assert f"anchor rule of {sparsity['anchor']['rule_length']} condition" in " ".join(whole.split())
    assert f"80% of the attribution on {sparsity['shap']['features_for_80']} features" in " ".join(whole.split())
    assert all(f"page {n} of {len(texts)}" in text for n, text in enumerate(texts, start=1))
    assert all(stored["record_sha256"] in text for text in texts)  # the integrity footer on every page

    embedded = read_attachment(pdf)
    assert embedded["kind"] == "decision" and embedded["record"] == stored
    assert embedded["ledger"]["seq"] == 3  # registered, alias moved, explanation created
    check = client.verify_packet(pdf)
    assert check.ok and check.differences == ()
    assert [e.action for e in client.audit_events()][-1] == "packet.exported"


def test_a_record_changed_in_the_database_fails_verify_naming_the_field(explained: dict[str, Any]) -> None:
    client: Client = explained["client"]
    record = explained["record"]
    pdf = client.export_decision(record.id)
    changed = record.to_dict()
    changed["scores"]["fidelity"]["lime"]["fresh_weighted_r2"] = 0.99
    with client.database.session() as session:
        session.execute(update(ExplanationRow).where(ExplanationRow.id == record.id).values(record=changed))
    check = client.verify_packet(pdf)
    assert not check.ok and check.differences == ("scores",)
    assert "differs from the packet in: scores" in check.message


def test_model_packet_holds_the_inventory_and_verifies(explained: dict[str, Any]) -> None:
    client: Client = explained["client"]
    version = explained["version"]
    pdf = client.export_model("credit-risk@1")
    whole = "\n".join(pages(pdf))
    for words in ("Model-version packet: credit-risk@1", "Inventory card", "Lineage", "Training data",
                  "Performance", "auc", "Policy results", "Explanation quality so far",
                  "Sparsity: features carrying 80% of SHAP attribution", "Coverage: share of applicants",
                  "Reason-code map",
                  "Checking account overdrawn", "Limitations", "Change log", "staging: - -> 1",
                  version.lineage.data_sha256):
        assert words in whole, words
    assert read_attachment(pdf)["record"] == version.record()
    assert client.verify_packet(pdf).ok
    with client.database.session() as session:
        session.execute(update(LineageRow).values(trainer="mallory"))
    check = client.verify_packet(pdf)
    assert not check.ok and check.differences == ("lineage",)


def test_a_pdf_that_is_not_a_packet_is_named(explained: dict[str, Any]) -> None:
    from xai_gov.errors import InvalidInput

    client: Client = explained["client"]
    with pytest.raises(InvalidInput, match="not a readable PDF"):
        client.verify_packet(b"%PDF-1.4 nonsense")
