from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from xai_gov.errors import InvalidInput, SchemaMismatch
from xai_gov.registry.schema import Feature, FeatureSchema


@pytest.fixture
def schema(german_xy: tuple[pd.DataFrame, pd.Series]) -> FeatureSchema:
    X, y = german_xy
    return FeatureSchema.infer(X, y, adverse_class="bad", labels={"age": "Age (years)"})


@pytest.fixture
def applicant(german_xy: tuple[pd.DataFrame, pd.Series]) -> dict[str, object]:
    return german_xy[0].iloc[0].to_dict()


def test_infer_reads_kinds_categories_bounds_and_classes(schema: FeatureSchema) -> None:
    age = schema.feature("age")
    # the observed range is kept as the training range; no hard limit is inferred
    assert (age.kind, age.observed_min, age.observed_max, age.integer, age.label) == ("numeric", 19.0, 75.0, True,
                                                                                      "Age (years)")
    assert (age.minimum, age.maximum) == (None, None)
    housing = schema.feature("housing")
    assert housing.kind == "categorical"
    assert housing.categories == ("for free", "own", "rent")
    assert schema.class_names == ("bad", "good")
    assert schema.adverse_class == "bad"
    assert schema.target == "credit_risk"
    assert len(schema.features) == 20


def test_schema_round_trips_through_json_form(schema: FeatureSchema) -> None:
    assert FeatureSchema.from_dict(schema.to_dict()) == schema


def test_valid_instance_is_normalised(schema: FeatureSchema, applicant: dict[str, object]) -> None:
    clean = schema.validate_instance({**applicant, "age": 67.0})
    assert clean["age"] == 67 and isinstance(clean["age"], int)


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"age": None}, "age", "is null"),
    ({"age": "67"}, "age", "takes a number"),
    ({"age": True}, "age", "takes a number"),
    ({"age": math.nan}, "age", "not a finite number"),
    ({"age": 30.5}, "age", "whole number"),
    ({"housing": "castle"}, "housing", "unknown category 'castle'"),
    ({"housing": 1}, "housing", "takes one of its categories"),
    ({"shoe_size": 42}, "shoe_size", "unknown feature 'shoe_size'"),
])
def test_bad_instance_names_the_feature(schema: FeatureSchema, applicant: dict[str, object],
                                        change: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        schema.validate_instance({**applicant, **change})
    assert caught.value.field == field
    assert words in caught.value.message


def test_missing_feature_is_named(schema: FeatureSchema, applicant: dict[str, object]) -> None:
    del applicant["savings"]
    with pytest.raises(InvalidInput, match="'savings' \\(Savings\\) is missing") as caught:
        schema.validate_instance(applicant)
    assert caught.value.field == "savings"


def test_matrix_translation_round_trips_native_rows(schema: FeatureSchema,
                                                    german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X = german_xy[0]
    matrix = schema.to_matrix(X)
    assert matrix.dtype == float and matrix.shape == (1000, 20)
    housing = schema.names.index("housing")
    assert set(np.unique(matrix[:, housing])) == {0.0, 1.0, 2.0}
    back = schema.from_matrix(matrix)
    pd.testing.assert_frame_equal(back, X.reset_index(drop=True), check_dtype=False)
    assert back["age"].dtype == np.int64


def test_check_frame_names_what_does_not_match(schema: FeatureSchema,
                                               german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X = german_xy[0]
    with pytest.raises(SchemaMismatch, match="missing columns \\['age'\\]") as caught:
        schema.check_frame(X.drop(columns=["age"]))
    assert caught.value.field == "age"
    with pytest.raises(SchemaMismatch, match="outside its categories"):
        schema.check_frame(X.assign(housing="castle"))
    schema.check_frame(X.assign(age=200))  # outside the training range: no hard limit refuses it
    limited = replace(schema, features=tuple(replace(f, maximum=120.0) if f.name == "age" else f
                                             for f in schema.features))
    with pytest.raises(SchemaMismatch, match="outside its bounds"):
        limited.check_frame(X.assign(age=200))


def test_hard_limits_refuse_and_the_training_range_cautions(schema: FeatureSchema,
                                                           applicant: dict[str, object]) -> None:
    assert schema.cautions(schema.validate_instance({**applicant, "age": 150}))[0]["feature"] == "age"
    limited = replace(schema, features=tuple(replace(f, minimum=18.0, maximum=120.0) if f.name == "age" else f
                                             for f in schema.features))
    with pytest.raises(InvalidInput, match=r"outside its bounds 18\.\.120") as caught:
        limited.validate_instance({**applicant, "age": 150})
    assert caught.value.field == "age"
    clean = limited.validate_instance({**applicant, "age": 80})
    assert [c["feature"] for c in limited.cautions(clean)] == ["age"]
    assert "outside the range the model was trained on (19 to 75)" in limited.cautions(clean)[0]["message"]
    assert limited.cautions(limited.validate_instance({**applicant, "age": 40})) == []
    assert FeatureSchema.from_dict(limited.to_dict()) == limited


def test_schema_refuses_inconsistent_definitions() -> None:
    with pytest.raises(InvalidInput, match="needs its categories"):
        Feature(name="x", kind="categorical", label="x")
    with pytest.raises(InvalidInput, match="names features twice"):
        FeatureSchema(features=(Feature("a", "numeric", "a"), Feature("a", "numeric", "a")))
    with pytest.raises(InvalidInput, match="adverse class 'deny'"):
        FeatureSchema(features=(Feature("a", "numeric", "a"),), class_names=("no", "yes"), adverse_class="deny")


def test_a_feature_without_a_label_is_named_in_words_whatever_the_naming_style() -> None:
    """Reasons read a feature's label; one inferred from a camel-case, snake-case or acronym name reads as words."""
    X = pd.DataFrame({"EmploymentYears": [1, 2], "credit_amount": [100, 200], "FICOScore": [600, 700],
                      "loanToValue": [0.5, 0.9], "LTV": [0.1, 0.2], "debt-ratio": [0.3, 0.4]})
    schema = FeatureSchema.infer(X, pd.Series(["bad", "good"]), adverse_class="bad", labels={"LTV": "Loan to value"})
    assert [f.label for f in schema.features] == ["Employment years", "Credit amount", "FICO score", "Loan to value",
                                                  "Loan to value", "Debt ratio"]
    from xai_gov.registry.schema import default_label
    assert [default_label(n) for n in ("LTV", "NumATMs", "numOfIDs", "LOAN_AMOUNT", "Status", "durée_mois")] == [
        "LTV", "Num ATMs", "Num of IDs", "Loan amount", "Status", "Durée mois"]
