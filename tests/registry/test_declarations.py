"""Protected features, nullable features and reason codes declared per model version (issue 9)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.registry.toy_model import frame
from xai_gov.errors import InvalidInput, ModelCheckFailed, SchemaMismatch
from xai_gov.policies.protected import looks_protected, matches_policy
from xai_gov.registry.schema import Feature
from xai_gov.sdk import Client

TOY = "tests.registry.toy_model:predict"
CODES = {"features": {
    "Income": {"code": "T01", "statement": "Income insufficient for amount of credit requested",
               "missing": "No income declared"},
    "Debt": {"code": "T02", "statement": "Excessive obligations in relation to income"}}}
QUICK = {"lime": {"num_samples": 500, "repeats": 2}, "anchor": {"repeats": 1, "fresh_samples": 200}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Client]:
    client = Client(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'store.db'}")
    yield client
    client.close()


def register(client: Client, X: pd.DataFrame | None = None, **declared: Any) -> Any:
    X = frame() if X is None else X
    return client.register(TOY, X, name="toy", class_names=["approve", "deny"], adverse_class="deny",
                           code_path=None, **declared)


@pytest.mark.parametrize(("name", "label", "protected"), [
    ("Age", "Age", True), ("applicant_age", "Applicant age", True), ("MaritalStatus", "Marital status", True),
    ("gender", "Gender", True), ("NationalOrigin", "National origin", True), ("religion", "Religion", True),
    ("mortgage", "Mortgage", False), ("Income", "Monthly income", False), ("agent", "Agent", False),
])
def test_protected_looking_names_are_found_in_any_spelling(name: str, label: str, protected: bool) -> None:
    assert looks_protected(Feature(name=name, kind="numeric", label=label)) is protected


def test_the_policy_default_matches_names_and_labels_case_insensitively() -> None:
    assert matches_policy(Feature(name="AGE", kind="numeric", label="x"), ["age"])
    assert matches_policy(Feature(name="ps", kind="numeric", label="Personal status sex"), ["personal_status_sex"])


def test_an_undeclared_protected_looking_feature_is_refused_with_a_clear_message(store: Client) -> None:
    with pytest.raises(InvalidInput, match=r"Marital \(Marital\) looks like a protected attribute") as caught:
        register(store, reason_codes=CODES)
    assert caught.value.field == "Marital" and store.list_models() == []


def test_unknown_names_and_missing_statements_are_refused_and_nothing_is_written(store: Client) -> None:
    with pytest.raises(InvalidInput, match="protected names a feature the model does not take: 'Sex'"):
        register(store, protected=["Sex", "Marital"], reason_codes=CODES)
    with pytest.raises(InvalidInput, match=r"no reason statement for Debt in reason_codes argument"):
        register(store, protected=["Marital"], reason_codes={"features": {"Income": CODES["features"]["Income"]}})
    with pytest.raises(InvalidInput, match="names features the model does not take: Shoe"):
        register(store, protected=["Marital"], reason_codes={"features": {**CODES["features"], "Shoe": {
            "code": "T9", "statement": "Shoe size"}}})
    with pytest.raises(InvalidInput, match="no reason statement for Income, Debt in the default map"):
        register(store, protected=["Marital"])
    with pytest.raises(SchemaMismatch, match="'Debt' is declared nullable but holds no missing value"):
        register(store, protected=["Marital"], reason_codes=CODES, nullable=["Debt"])
    assert store.list_models() == [] and not any((store.settings.artifacts_dir).glob("*"))


def test_declarations_are_stored_and_protected_features_never_stated(store: Client) -> None:
    version = register(store, protected=["Marital"], reason_codes=CODES, class_labels={"deny": "declined"})
    schema = version.schema
    assert {f.name: f.protected for f in schema.features} == {"Income": None, "Debt": None, "Age": True,
                                                             "Marital": True}
    assert [f.name for f in schema.features if f.nullable] == ["Income"]  # inferred from the data's nulls
    assert schema.reason_codes["features"]["Income"]["missing"] == "No income declared"
    assert schema.class_label("deny") == "declined (deny)"
    applicant = {"Income": None, "Debt": 0.9, "Age": 30, "Marital": "single"}
    record = store.explain(version.ref, applicant, decision_id="T-1", parameters=QUICK)
    assert {r["feature"] for r in record.reasons} <= {"Income", "Debt"}
    assert {r["statement"] for r in record.reasons} == {"No income declared",
                                                        "Excessive obligations in relation to income"}
    assert record.scores["protected"]["features"] == ["Age", "Marital"]
    assert record.scores["protected"]["attribution_share"] < 0.05  # the toy ignores Age and Marital
    assert any(r["metric"] == "protected.attribution_share" and r["outcome"] == "pass"
               for r in record.verdict["rules"])
    assert record.section("anchor") is not None and record.section("lime") is not None


def test_an_override_registers_and_is_recorded_but_the_feature_stays_withheld(store: Client) -> None:
    version = register(store, reason_codes=CODES, protected_override="Marital was checked by compliance: reviewed")
    assert version.schema.protected_override == "Marital was checked by compliance: reviewed"
    assert next(f for f in version.schema.features if f.name == "Marital").protected is None
    record = store.explain(version.ref, {"Income": 2000.0, "Debt": 0.5, "Age": 30, "Marital": "single"},
                           decision_id="T-2", parameters=QUICK)
    assert "Marital" in record.scores["protected"]["features"]
    # recorded in lineage: every lookup of the version, from any side, says it
    why = "Marital was checked by compliance: reviewed"
    assert store.lineage(version.ref).protected_override == why
    assert store.lineage(version.ref).to_dict()["protected_override"] == why
    assert [v.protected_override for v in store.find_lineage(since=version.registered_at)] == [why]
    assert [v.protected_override for v in store.lineage_by_decision("T-2")] == [why]
    declared = register(store, protected=["Marital"], reason_codes=CODES)  # toy@2, declared: nothing to say
    assert "protected_override" not in store.lineage(declared.ref).to_dict()


def test_nan_hyperparameters_are_stored_as_text(store: Client) -> None:
    version = register(store, protected=["Marital"], reason_codes=CODES,
                       hyperparameters={"missing": float("nan"), "cap": np.inf, "floor": -np.inf, "steps": [1.0]})
    assert version.lineage.hyperparameters == {"missing": "NaN", "cap": "Infinity", "floor": "-Infinity",
                                               "steps": [1.0]}


def test_native_categorical_gradient_boosting_registers_only_if_it_explains(store: Client) -> None:
    """HistGradientBoosting with native categories (from_dtype): shap's tree code cannot read it, so the
    tree path's own check sends it to the kernel path, and registration's trial explanation proves it."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    X = frame().drop(columns=["Income"]).assign(Marital=lambda f: f["Marital"].astype("category"))
    y = (X["Debt"] > 0.5).map({True: "deny", False: "approve"})
    model = HistGradientBoostingClassifier(max_iter=5, categorical_features="from_dtype").fit(X, y)
    trusted = ["functools.partial", "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
               "sklearn.utils.validation.check_array"]
    version = store.register(model, X, y, name="hgb", adverse_class="deny", protected=["Marital"], code_path=None,
                             trusted_types=trusted, reason_codes={"features": {"Debt": CODES["features"]["Debt"]}})
    record = store.explain(version.ref, {"Debt": 0.9, "Age": 30, "Marital": "single"}, decision_id="H-1",
                           parameters=QUICK)
    assert record.section("shap") is not None and record.reasons[0]["feature"] == "Debt"


def test_a_model_that_fails_the_trial_explanation_is_refused_with_why(store: Client) -> None:
    with pytest.raises(ModelCheckFailed, match="predict_proba failed on 5 background rows"):
        store.register("tests.registry.toy_model:predict", frame().drop(columns=["Debt"]), name="broken",
                       class_names=["approve", "deny"], adverse_class="deny", protected=["Marital"], code_path=None,
                       reason_codes={"features": {"Income": CODES["features"]["Income"]}})
    assert store.list_models() == []
