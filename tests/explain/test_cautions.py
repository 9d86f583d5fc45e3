"""Outside the training range: explained with a caution; only the owner's hard limits refuse (issue 10)."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader
from sklearn.pipeline import Pipeline

from xai_gov.errors import InvalidInput
from xai_gov.registry.schema import FeatureSchema
from xai_gov.sdk import Client

QUICK = {"lime": {"num_samples": 500, "repeats": 2}, "anchor": {"repeats": 1, "fresh_samples": 300}}
STEPPED = "tests.registry.fixtures_models:stepped_risk"


def entered(row: pd.Series, **changes: Any) -> dict[str, Any]:
    return {**{k: v.item() if hasattr(v, "item") else v for k, v in row.items()}, **changes}


def test_an_85_year_old_is_explained_with_a_caution_in_the_record_cli_and_packet(
        client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None)
    record = client.explain("credit-risk@1", entered(X.iloc[0], age=85), decision_id="OLD-1", parameters=QUICK)
    assert [c["feature"] for c in record.cautions] == ["age"]
    caution = record.cautions[0]
    assert (caution["value"], caution["observed_min"], caution["observed_max"]) == (85, 19.0, 75.0)
    assert "outside the range the model was trained on" in caution["message"]
    packet = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(client.export_decision(record.id))).pages)
    assert "outside the range the model was trained on" in " ".join(packet.split())
    inside = client.explain("credit-risk@1", entered(X.iloc[0]), decision_id="OLD-2", methods=["lime"],
                            parameters=QUICK)
    assert inside.cautions == []


def test_only_hard_limits_the_owner_sets_are_refused(client: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    inferred = FeatureSchema.infer(X, y, adverse_class="bad")
    limited = replace(inferred, features=tuple(replace(f, minimum=18.0) if f.name == "age" else f
                                               for f in inferred.features))
    client.register(STEPPED, X, y, name="limited", schema=limited, code_path=None)
    with pytest.raises(InvalidInput) as refused:
        client.explain("limited@1", entered(X.iloc[0], age=13), decision_id="YOUNG-1", methods=["shap"])
    assert refused.value.field == "age" and "outside its bounds 18..*" in refused.value.message
    record = client.explain("limited@1", entered(X.iloc[0], age=90, credit_amount=99_999), decision_id="BIG-1",
                            methods=["shap"])
    assert {c["feature"] for c in record.cautions} == {"age", "credit_amount"}


def test_a_reason_whose_move_does_not_lower_the_risk_is_flagged_in_record_verdict_and_packet(
        client: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    inferred = FeatureSchema.infer(X, y, adverse_class="bad")
    # The owner states the overdrawn account itself as checking_account's reference: moving there changes nothing.
    odd = replace(inferred, features=tuple(replace(f, reference="below 0 DM") if f.name == "checking_account" else f
                                           for f in inferred.features))
    client.register(STEPPED, X, y, name="odd", schema=odd, code_path=None, cutoff=0.35)
    row = X[(X.checking_account == "below 0 DM") & (X.duration_months <= 24) & (X.savings != "below 100 DM")].iloc[0]
    record = client.explain("odd@1", entered(row), decision_id="ODD-1", methods=["shap"])
    reason = record.reasons[0]
    assert reason["feature"] == "checking_account"
    assert reason["accuracy"]["reference_source"] == "schema" and reason["accuracy"]["change"] == 0.0
    assert reason["accuracy"]["lowers_adverse"] is False
    flagged = [r for r in record.verdict["rules"] if r["metric"] == "reasons.accuracy.checking_account"]
    assert flagged and flagged[0]["outcome"] == "warn" and record.verdict["outcome"] in ("warn", "fail")
    packet = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(
        client.export_decision(record.id))).pages).split())
    assert "NOT ACCURATE" in packet and "is not accurate" in packet


def test_a_reference_the_schema_cannot_hold_is_refused(german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    document = FeatureSchema.infer(X, y, adverse_class="bad").to_dict()
    document["features"][0]["reference"] = "overdrawn by a lot"
    with pytest.raises(InvalidInput) as refused:
        FeatureSchema.from_dict(document)
    assert refused.value.field == document["features"][0]["name"]
