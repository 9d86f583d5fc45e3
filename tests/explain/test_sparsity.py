"""Sparsity of real explanations of models whose answer is known (the scores' own tests: tests/quality)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from xai_gov.explain.methods.anchor import AnchorEngine
from xai_gov.explain.methods.anchor_search import AnchorParams
from xai_gov.explain.methods.lime import LimeEngine, LimeParams
from xai_gov.explain.methods.shap import ShapEngine
from xai_gov.explain.space import ModelSpace
from xai_gov.quality.sparsity import anchor_sparsity, lime_sparsity, shap_sparsity


def two_feature_model(rows: pd.DataFrame) -> np.ndarray:
    """An additive model that reads only the loan's duration and amount."""
    duration = rows["duration_months"].to_numpy(float)
    amount = rows["credit_amount"].to_numpy(float)
    return 0.05 + 0.45 * (duration - 4) / 68 + 0.45 * (amount - 250) / 18_174


def test_a_model_of_two_features_gives_lime_and_shap_sparsity_two(make_space: Callable[..., ModelSpace],
                                                                   renter: np.ndarray) -> None:
    space = make_space(two_feature_model)
    names = space.schema.names
    applicant = renter.copy()  # a long, large loan: both features far from typical, so both carry weight
    applicant[names.index("duration_months")], applicant[names.index("credit_amount")] = 48, 12_000
    lime = LimeEngine(space).explain(applicant, seed=0, params=LimeParams(repeats=1))
    shap = ShapEngine(space).explain(applicant, seed=0)
    assert lime_sparsity(lime.fit.weights).effective_features_80 == 2
    assert lime_sparsity(lime.fit.weights).features_used == len(names)  # LIME fits every feature
    assert shap_sparsity(shap.values).features_for_80 == 2
    assert {names[j] for j, v in shap.values.items() if v != 0.0} == {"duration_months", "credit_amount"}


@pytest.mark.parametrize(("model", "length"), [
    (lambda rows: np.where(rows["checking_account"] == "below 0 DM", 0.9, 0.1), 1),
    (lambda rows: np.where((rows["checking_account"] == "below 0 DM") & (rows["housing"] == "rent"), 0.9, 0.1), 2),
])
def test_a_rule_predictors_anchor_has_the_rules_length(make_space: Callable[..., ModelSpace], renter: np.ndarray,
                                                        model: Callable[[pd.DataFrame], np.ndarray],
                                                        length: int) -> None:
    outcome = AnchorEngine(make_space(model)).explain(renter, adverse=True, cutoff=0.5, seed=0, params=AnchorParams())
    assert anchor_sparsity(outcome.conditions).rule_length == length
