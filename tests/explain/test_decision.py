"""The bank's decision rule, the bank's actual decision, and reasons for every adverse decision (issue 10)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sqlalchemy import func, select

from xai_gov.errors import InvalidInput
from xai_gov.sdk import Client
from xai_gov.store.orm import ExplanationRow, ModelVersionRow

QUICK = {"lime": {"num_samples": 500, "repeats": 3}, "anchor": {"repeats": 2, "fresh_samples": 300}}
STEPPED = "tests.registry.fixtures_models:stepped_risk"


def count(client: Client, row: type) -> int:
    with client.database.session() as session:
        return session.scalar(select(func.count()).select_from(row)) or 0


def as_entered(row: pd.Series) -> dict[str, Any]:
    return {k: v.item() if hasattr(v, "item") else v for k, v in row.items()}


@pytest.fixture
def stepped(client: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> Client:
    X, y = german_xy
    client.register(STEPPED, X, y, name="stepped", adverse_class="bad", code_path=None, cutoff=0.35)
    return client


def applicant_at(german_xy: tuple[pd.DataFrame, pd.Series], *, checking: bool, long: bool,
                 low_savings: bool) -> dict[str, Any]:
    X = german_xy[0]
    rows = X[((X.checking_account == "below 0 DM") == checking) & ((X.duration_months > 24) == long)
             & ((X.savings == "below 100 DM") == low_savings)]
    return as_entered(rows.iloc[0])


def test_a_decline_at_040_under_a_cutoff_of_035_gets_principal_reasons(
        stepped: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    applicant = applicant_at(german_xy, checking=True, long=False, low_savings=False)  # P(bad) = 0.40
    record = stepped.explain("stepped@1", applicant, decision_id="LOAN-040", methods=["lime", "shap"],
                             parameters=QUICK)
    assert record.prediction.adverse_probability == pytest.approx(0.40)
    assert record.prediction.predicted_class == "good"  # the more probable class ...
    assert record.adverse and record.decision["by_rule"] == "adverse"  # ... but the rule declines
    assert record.decision["rule"]["cutoff"] == 0.35 and record.prediction.to_dict()["decision"] == "adverse"
    assert record.decision["reasons"] == "principal reasons" and not record.overridden
    assert record.reasons and record.reasons[0]["feature"] == "checking_account"
    accuracy = record.reasons[0]["accuracy"]  # moved to the typical approved value: 0.40 -> 0.10
    assert accuracy["change"] == pytest.approx(-0.30) and accuracy["lowers_adverse"]
    assert accuracy["reference"] != "below 0 DM"


def test_a_real_model_declines_by_its_cutoff_not_by_the_more_probable_class(
        client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None, cutoff=0.3)
    p_bad = small_model.predict_proba(X)[:, 0]
    between = X[(p_bad >= 0.3) & (p_bad < 0.5)].iloc[0]
    record = client.explain("credit-risk@1", as_entered(between), decision_id="LOAN-LR", methods=["lime"],
                            parameters=QUICK)
    assert record.prediction.predicted_class == "good" and record.adverse
    assert 1 <= len(record.reasons) <= 4 and all("accuracy" in r for r in record.reasons)


def test_a_favourable_decision_lists_what_counted_against_only_when_asked(
        stepped: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    applicant = applicant_at(german_xy, checking=False, long=True, low_savings=False)  # P(bad) = 0.30
    plain = stepped.explain("stepped@1", applicant, decision_id="OK-1", methods=["shap"])
    assert not plain.adverse and plain.reasons == [] and plain.decision["reasons"] is None
    asked = stepped.explain("stepped@1", applicant, decision_id="OK-2", methods=["shap"], what_counted_against=True)
    assert not asked.adverse and asked.decision["reasons"] == "what counted against"
    assert asked.reasons[0]["feature"] == "duration_months"


def test_the_banks_actual_decision_overrides_the_rule_and_an_adverse_one_still_gets_reasons(
        stepped: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    risky = applicant_at(german_xy, checking=True, long=False, low_savings=False)  # rule: adverse
    approved = stepped.explain("stepped@1", risky, decision_id="OVR-1", methods=["shap"], bank_decision="good")
    assert approved.overridden and not approved.adverse and approved.reasons == []
    assert approved.decision["note"] == "decision overridden by the bank"
    safe = applicant_at(german_xy, checking=False, long=True, low_savings=False)  # rule: favourable
    declined = stepped.explain("stepped@1", safe, decision_id="OVR-2", methods=["shap"], bank_decision="bad")
    assert declined.overridden and declined.adverse and declined.decision["by_rule"] == "favourable"
    assert declined.reasons and declined.decision["reasons"] == "principal reasons"
    assert stepped.replay(declined.id).matches


def test_an_unknown_bank_decision_is_refused_naming_the_field_and_nothing_is_stored(
        stepped: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    applicant = applicant_at(german_xy, checking=True, long=False, low_savings=False)
    with pytest.raises(InvalidInput) as refused:
        stepped.explain("stepped@1", applicant, decision_id="BAD-1", methods=["shap"], bank_decision="declined")
    assert refused.value.field == "bank_decision" and "bad" in refused.value.message
    assert count(stepped, ExplanationRow) == 0


@pytest.mark.parametrize("cutoff", [0, 1, 0.0, 1.0, -0.1, 1.5, float("nan"), float("inf"), "0.3", True])
def test_a_cutoff_outside_0_1_is_refused_naming_the_field(client: Client, german_xy: tuple[pd.DataFrame, pd.Series],
                                                          cutoff: Any) -> None:
    X, y = german_xy
    with pytest.raises(InvalidInput) as refused:
        client.register(STEPPED, X, y, name="stepped", adverse_class="bad", code_path=None, cutoff=cutoff)
    assert refused.value.field == "cutoff"
    assert count(client, ModelVersionRow) == 0


def test_the_rule_is_stored_with_the_version_and_shown_in_its_lineage(stepped: Client) -> None:
    version = stepped.get_model("stepped@1")
    assert version.decision_rule is not None and version.rule.cutoff == 0.35
    assert version.to_dict()["decision_rule"] == {"adverse_class": "bad", "cutoff": 0.35,
                                                  "rule": "decline ('bad') when P(bad) >= 0.35"}
    assert stepped.lineage("stepped@1").decision_rule["cutoff"] == 0.35
    assert stepped.verify_ledger().ok


def test_the_default_cutoff_is_half(client: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    version = client.register(STEPPED, X, y, name="stepped", adverse_class="bad", code_path=None)
    assert version.decision_rule is not None and version.decision_rule.cutoff == 0.5
