"""Counterfactual recourse (issue 13 item 4, DESIGN §8): minimal, diverse changes the model approves.

Known answers on predictors whose recourse is known by construction, then both shipped
examples end to end: every returned set is checked against the registered model
itself (its adapter, on native rows built from the record's own words), never
changes a protected or immutable feature, moves a monotone one its way only, is
minimal (undo any one change and the rule declines again), and replays.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import median_abs_deviation

from tests.explain.test_remembering import RemoteFunction
from xai_gov.errors import InvalidInput
from xai_gov.examples import credit_model, synthetic_model
from xai_gov.explain.methods.counterfactual import CounterfactualEngine, CounterfactualParams, to_record
from xai_gov.explain.remembering import RememberingSpace
from xai_gov.explain.space import ModelSpace
from xai_gov.registry.schema import Feature
from xai_gov.sdk import Client

PARAMS = CounterfactualParams()
QUICK = {"lime": {"num_samples": 300, "repeats": 2}, "anchor": {"repeats": 1, "fresh_samples": 200}}
GERMAN_PROTECTED = {"age", "personal_status_sex", "foreign_worker"}


def engine_for(make_space: Callable[..., ModelSpace], p_bad: Callable[[pd.DataFrame], Any]) -> CounterfactualEngine:
    return CounterfactualEngine(make_space(p_bad))


def test_the_one_feature_that_decides_is_the_only_recourse(make_space: Callable[..., ModelSpace],
                                                           renter: np.ndarray) -> None:
    engine = engine_for(make_space, lambda rows: np.where(rows.checking_account == "below 0 DM", 0.8, 0.2))
    outcome = engine.explain(renter, cutoff=0.5, protected=GERMAN_PROTECTED, params=PARAMS)
    names = engine.space.schema.names
    assert len(outcome.found) == 1, outcome.found  # any other set would contain this one: not minimal
    (only,) = outcome.found
    assert [names[j] for j, _ in only.changes] == ["checking_account"]
    assert only.adverse_probability == pytest.approx(0.2) and outcome.validity == 1.0


def test_a_number_moves_only_as_far_as_the_decision_needs(make_space: Callable[..., ModelSpace],
                                                          renter: np.ndarray) -> None:
    schema = make_space(lambda rows: np.zeros(len(rows))).schema
    j = schema.names.index("duration_months")
    x = renter.copy()
    x[j] = 48
    engine = engine_for(make_space, lambda rows: np.where(rows.duration_months > 24, 0.8, 0.1))
    outcome = engine.explain(x, cutoff=0.5, protected=GERMAN_PROTECTED, params=PARAMS)
    assert len(outcome.found) == 1
    ((feature, value),) = outcome.found[0].changes
    assert feature == j and 20 <= value <= 24, value  # moved back toward 48 from a grid point far below
    background = engine.space.background[:, j]
    assert outcome.found[0].distance == pytest.approx(abs(value - 48) / median_abs_deviation(background))


def test_a_remote_model_gets_the_same_sets_in_one_call_for_tightening_dropping_and_verifying(
        make_space: Callable[..., ModelSpace], renter: np.ndarray) -> None:
    """Rows sent ahead for steps 3-5 change the number of calls, never the sets found; the verification reuses
    the search's answers when the search asked the adapter itself."""
    def p_bad(rows: pd.DataFrame) -> Any:  # thresholds between grid points: tightening has work to do
        return np.where((rows.duration_months > 22) & (rows.credit_amount > 3500), 0.8, 0.1)

    x = renter.copy()
    schema = make_space(p_bad).schema
    x[schema.names.index("duration_months")], x[schema.names.index("credit_amount")] = 48, 9000
    plain = engine_for(make_space, p_bad).explain(x, cutoff=0.5, protected=GERMAN_PROTECTED, params=PARAMS)
    adapter = RemoteFunction(p_bad)
    remote = CounterfactualEngine(RememberingSpace(schema, adapter, make_space(p_bad).background))
    calls_alone = len(adapter.sent)
    outcome = remote.explain(x, cutoff=0.5, protected=GERMAN_PROTECTED, params=PARAMS)
    alone = len(adapter.sent) - calls_alone  # outside an explanation's memory: a call per step and round
    with remote.space.remembering():  # type: ignore[attr-defined]
        before = len(adapter.sent)
        remembered = remote.explain(x, cutoff=0.5, protected=GERMAN_PROTECTED, params=PARAMS)
        asked = len(adapter.sent) - before
    assert plain.found and remembered == outcome == plain
    numbers = {schema.names.index("duration_months"), schema.names.index("credit_amount")}
    assert any(j in numbers and value not in (x[j], *remote._candidates(j, x[j], PARAMS.grid))
               for c in plain.found for j, value in c.changes)  # a number moved back off its grid point
    # Levels 1-3 as alone (fewer than 3 sets by level 2), then one call where alone tightening and dropping
    # took one each; the verification asked nothing more.
    levels = adapter.sent[calls_alone:calls_alone + 3]
    assert adapter.sent[before:before + 3] == levels and (asked, alone) == (4, 5), (adapter.sent, plain)


def test_protected_immutable_and_monotone_features_are_respected(make_space: Callable[..., ModelSpace],
                                                                 german_xy: tuple[pd.DataFrame, pd.Series],
                                                                 renter: np.ndarray) -> None:
    by_age = engine_for(make_space, lambda rows: np.where(rows.age < 30, 0.8, 0.1))
    young = renter.copy()
    young[by_age.space.schema.names.index("age")] = 25
    outcome = by_age.explain(young, cutoff=0.5, protected=GERMAN_PROTECTED, params=PARAMS)
    assert outcome.found == () and outcome.fixed[by_age.space.schema.names.index("age")] == "protected"
    record = to_record(outcome, by_age, young, cutoff=0.5, params=PARAMS)
    assert record["options"] == [] and "no set of at most 3 changes" in record["note"]

    space = make_space(lambda rows: np.where(rows.residence_since > 2, 0.8, 0.1))
    schema = space.schema
    j = schema.names.index("residence_since")
    monotone = tuple(Feature(**{**f.__dict__, "monotone": "increasing"}) if f.name == "residence_since" else f
                     for f in schema.features)
    space = ModelSpace(type(schema)(**{**_fields(schema), "features": monotone}), space.adapter, space.background)
    settled = renter.copy()
    settled[j] = 4
    outcome = CounterfactualEngine(space).explain(settled, cutoff=0.5, protected=GERMAN_PROTECTED, params=PARAMS)
    assert outcome.found == ()  # the only way to approval is down, and residence only grows

    immutable = tuple(Feature(**{**f.__dict__, "actionable": False}) if f.name == "checking_account" else f
                      for f in schema.features)
    space = ModelSpace(type(schema)(**{**_fields(schema), "features": immutable}),
                       make_space(lambda rows: np.where(rows.checking_account == "below 0 DM", 0.8, 0.2)).adapter,
                       space.background)
    outcome = CounterfactualEngine(space).explain(renter, cutoff=0.5, protected=GERMAN_PROTECTED, params=PARAMS)
    assert outcome.found == () and outcome.fixed[schema.names.index("checking_account")] == "immutable"


def _fields(schema: Any) -> dict[str, Any]:
    return {k: v for k, v in schema.__dict__.items() if not k.startswith("_")}


def test_a_schema_refuses_a_protected_actionable_or_a_monotone_category() -> None:
    with pytest.raises(InvalidInput, match="protected and actionable") as refused:
        Feature(name="Age", kind="numeric", label="Age", protected=True, actionable=True)
    assert refused.value.field == "Age"
    with pytest.raises(InvalidInput, match="only a number can be monotone") as refused:
        Feature(name="Housing", kind="categorical", label="Housing", categories=("own", "rent"), monotone="increasing")
    assert refused.value.field == "Housing"
    with pytest.raises(InvalidInput, match="monotone is increasing or decreasing"):
        Feature(name="Income", kind="numeric", label="Income", monotone="sideways")


# -- end to end, both shipped examples -------------------------------------------------------------------------


def native_with(record: Any, option: dict[str, Any]) -> dict[str, Any]:
    """The applicant as entered, with one option's changes applied in the record's own words."""
    return {**record.instance, **{c["feature"]: c["to"] for c in option["changes"]}}


def check_options(client: Client, record: Any, *, never: set[str], monotone: dict[str, str]) -> None:
    version = client.get_model(record.model_ref)
    adapter = client.registry.load_adapter(version)
    schema, cutoff = version.schema, version.rule.cutoff
    adverse = schema.class_names.index(schema.adverse_class)

    def p_adverse(instance: dict[str, Any]) -> float:
        return float(adapter.predict_proba(schema.instance_frame(instance))[0, adverse])

    section = record.section("counterfactuals")
    assert section["options"], section
    seen: list[set[str]] = []
    for option in section["options"]:
        changed = {c["feature"] for c in option["changes"]}
        assert not changed & never, option
        assert not any(earlier <= changed for earlier in seen), "a set containing an earlier one is not minimal"
        seen.append(changed)
        assert p_adverse(native_with(record, option)) < cutoff  # the registered model itself approves
        for change in option["changes"]:  # undo any one change: the rule declines again
            undone = {**native_with(record, option), change["feature"]: change["from"]}
            assert p_adverse(undone) >= cutoff, (option, change)
            direction = monotone.get(change["feature"])
            if direction and change["from"] is not None:
                assert (change["to"] > change["from"]) == (direction == "increasing"), change
        assert option["statement"].startswith("Had ") and "would have approved" in option["statement"]
    assert record.scores["recourse"]["validity"] == 1.0
    assert record.scores["recourse"]["options"] == len(section["options"])


def declined(client: Client, ref: str, rows: pd.DataFrame, count: int) -> list[dict[str, Any]]:
    version = client.get_model(ref)
    schema = version.schema
    adapter = client.registry.load_adapter(version)
    p = adapter.predict_proba(rows)[:, schema.class_names.index(schema.adverse_class)]
    chosen = rows[p >= version.rule.cutoff].head(count)
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v.item() if hasattr(v, "item") else v)
             for k, v in row.items()} for _, row in chosen.iterrows()]


def test_german_credit_declines_get_recourse_the_model_confirms(client: Client) -> None:
    trained = credit_model.trained()
    version = client.register(trained.pipeline, trained.X_train, trained.y_train, name="credit-risk",
                              adverse_class="bad", trusted_types=list(credit_model.TRUSTED_TYPES), code_path=None,
                              cutoff=0.35, immutable=credit_model.IMMUTABLE, monotone=credit_model.MONOTONE)
    fixed = {f.name for f in version.schema.features if f.actionable is False}
    assert fixed == set(credit_model.IMMUTABLE)
    for n, applicant in enumerate(declined(client, version.ref, trained.X_test, 3)):
        record = client.explain(version.ref, applicant, decision_id=f"CF-{n}", parameters=QUICK)
        assert "counterfactual" in record.methods and "counterfactual" in record.timings
        check_options(client, record, never=fixed | GERMAN_PROTECTED, monotone=credit_model.MONOTONE)
        fixed_by_record = {f["feature"] for f in record.section("counterfactuals")["fixed"]}
        assert fixed_by_record >= fixed | {"age", "personal_status_sex"}
        assert client.replay(record.id).matches
        assert client.get_explanation(record.id).to_dict() == record.to_dict()


def test_the_synthetic_example_gets_recourse_with_missing_values_and_its_own_names(client: Client) -> None:
    trained = synthetic_model.trained()
    version = client.register(
        trained.pipeline, trained.X_train, trained.y_train, name="loans", code_path=None,
        adverse_class=synthetic_model.ADVERSE_CLASS, class_names=["0", "1"], cutoff=0.3,
        trusted_types=list(synthetic_model.TRUSTED_TYPES), protected=list(synthetic_model.PROTECTED),
        nullable=list(synthetic_model.NULLABLE), reason_codes=synthetic_model.reason_codes_path(),
        immutable=synthetic_model.IMMUTABLE, monotone=synthetic_model.MONOTONE)
    X = trained.X_test
    applicants = declined(client, version.ref, X[X["Income"].isna()], 1) + \
        declined(client, version.ref, X[X.notna().all(axis=1)], 2)
    assert applicants[0]["Income"] is None
    for n, applicant in enumerate(applicants):
        record = client.explain(version.ref, applicant, decision_id=f"S-{n}", parameters=QUICK)
        check_options(client, record, never={"Age", "Marital", "LatePayments"}, monotone=synthetic_model.MONOTONE)
        assert client.replay(record.id).matches
    no_income = client.find_explanations(decision_id="S-0")[0]
    options = no_income.section("counterfactuals")["options"]
    given = [c for o in options for c in o["changes"] if c["feature"] == "Income"]
    assert all(c["from"] is None and c["to"] > 0 for c in given)
    assert all("instead of missing" in o["statement"] for o in options
               if any(c["feature"] == "Income" for c in o["changes"]))


def test_recourse_asked_for_an_approved_applicant_is_refused_and_nothing_is_stored(client: Client) -> None:
    trained = synthetic_model.trained()
    version = client.register(
        trained.pipeline, trained.X_train, trained.y_train, name="loans", code_path=None,
        adverse_class=synthetic_model.ADVERSE_CLASS, class_names=["0", "1"],
        trusted_types=list(synthetic_model.TRUSTED_TYPES), protected=list(synthetic_model.PROTECTED),
        nullable=list(synthetic_model.NULLABLE), reason_codes=synthetic_model.reason_codes_path())
    adapter = client.registry.load_adapter(version)
    X = trained.X_test[trained.X_test.notna().all(axis=1)]
    approved = X[adapter.predict_proba(X)[:, 1] < version.rule.cutoff].iloc[0]
    applicant = {k: v.item() if hasattr(v, "item") else v for k, v in approved.items()}
    with pytest.raises(InvalidInput, match="counterfactual recourse is for a decision the version's rule declines") \
            as refused:
        client.explain(version.ref, applicant, decision_id="OK-1", methods=["lime", "counterfactual"],
                       parameters=QUICK)
    assert refused.value.field == "methods"
    assert client.find_explanations(decision_id="OK-1") == []
    by_default = client.explain(version.ref, applicant, decision_id="OK-1", parameters=QUICK)
    assert by_default.section("counterfactuals") is None and "counterfactual" not in by_default.methods
    assert "counterfactual" not in by_default.parameters


def test_declarations_name_what_is_wrong(client: Client) -> None:
    trained = synthetic_model.trained()
    common = dict(name="loans", code_path=None, adverse_class=synthetic_model.ADVERSE_CLASS, class_names=["0", "1"],
                  trusted_types=list(synthetic_model.TRUSTED_TYPES), nullable=list(synthetic_model.NULLABLE),
                  reason_codes=synthetic_model.reason_codes_path())
    for declared, field, words in (
            ({"protected": ["Age", "Marital"], "immutable": ["Salary"]}, "immutable", "does not take: 'Salary'"),
            ({"protected": ["Age", "Marital"], "monotone": {"Housing": "increasing"}}, "Housing",
             "only a number can be monotone"),
            ({"protected": ["Age", "Marital"], "monotone": {"EmploymentYears": "sideways"}}, "monotone",
             "increasing (up) or decreasing (down)")):
        with pytest.raises(InvalidInput, match=re.escape(words)) as refused:
            client.register(trained.pipeline, trained.X_train, trained.y_train, **common, **declared)
        assert refused.value.field == field
    assert client.list_models() == []
