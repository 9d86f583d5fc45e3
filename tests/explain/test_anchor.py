from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xai_gov.explain.engine import ExplainOptions
from xai_gov.explain.methods.anchor import METHOD as ANCHOR
from xai_gov.explain.methods.anchor import AnchorEngine, threshold_met
from xai_gov.explain.methods.anchor_search import SAMPLERS, AnchorParams, AnchorSearch, run_lockstep
from xai_gov.explain.space import ModelSpace
from xai_gov.registry.schema import FeatureSchema


def overdrawn_rule(rows: pd.DataFrame) -> np.ndarray:
    return np.where(rows["checking_account"] == "below 0 DM", 0.9, 0.1)


def test_the_known_anchor_is_found(make_space: Callable[..., ModelSpace], renter: np.ndarray) -> None:
    engine = AnchorEngine(make_space(overdrawn_rule))
    outcome = engine.explain(renter, adverse=True, cutoff=0.5, seed=0, params=AnchorParams())
    assert outcome.conditions == ("Checking account = below 0 DM",)
    assert outcome.search_precision == 1.0 and outcome.fresh_precision == 1.0
    assert outcome.threshold_met and outcome.fresh_precision_lower_95 > 0.99
    assert 0.2 < outcome.coverage < 0.35  # about 27% of applicants are overdrawn
    assert outcome.stability.identical_share == 1.0


def test_threshold_is_judged_on_fresh_samples(make_space: Callable[..., ModelSpace], renter: np.ndarray) -> None:
    def leaky(rows: pd.DataFrame) -> np.ndarray:  # overdrawn renters are bad, except the youngest 10%
        return np.where((rows["checking_account"] == "below 0 DM") & (rows["age"] > 22), 0.9, 0.1)

    outcome = AnchorEngine(make_space(leaky)).explain(renter, adverse=True, cutoff=0.5, seed=0,
                                                      params=AnchorParams())
    assert outcome.threshold_met == (outcome.fresh_precision_lower_95 >= 0.95)
    assert abs(outcome.fresh_precision - outcome.search_precision) < 0.1


def scattered(rows: pd.DataFrame) -> np.ndarray:
    """96% of rows bad, the rest scattered by a fixed hash of amount and age: no rule is exact."""
    spread = (rows["credit_amount"].to_numpy() * 7919 + rows["age"].to_numpy() * 104729) % 100
    return np.where(spread < 4, 0.1, 0.9)


def test_an_anchor_whose_lower_bound_is_under_the_threshold_is_not_met(
        make_space: Callable[..., ModelSpace], german_schema: FeatureSchema,
        german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    x = german_schema.to_matrix(german_xy[0].iloc[[1]])[0]
    outcome = AnchorEngine(make_space(scattered)).explain(x, adverse=True, cutoff=0.5, seed=0, params=AnchorParams())
    # The re-estimate clears 0.95 but its 95% lower bound does not: the point estimate would have said "met".
    assert outcome.fresh_precision >= 0.95 > outcome.fresh_precision_lower_95
    assert not outcome.threshold_met
    assert outcome.fresh_precision_lower_95 == pytest.approx(
        stats.beta.ppf(0.05, round(outcome.fresh_precision * 1000), 1000 - round(outcome.fresh_precision * 1000) + 1))
    assert threshold_met(0.951, 0.95) and not threshold_met(0.949, 0.95)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_lockstep_gives_each_search_the_result_it_gets_alone(make_space: Callable[..., ModelSpace],
                                                             renter: np.ndarray, sampler: str) -> None:
    space = make_space(lambda rows: 0.2 + 0.5 * (rows["housing"] == "rent") + 0.2 * (rows["age"] < 30))
    engine = AnchorEngine(space)
    target = int(space.predict_class(renter[None])[0])
    label = lambda rows: space.predict_class(rows) == target  # noqa: E731
    params = AnchorParams(sampler=sampler)
    alone = [run_lockstep([AnchorSearch(engine.anchor_space, renter, params, np.random.default_rng(s))], label)[0]
             for s in (1, 2, 3)]
    space.stats.reset()
    together = run_lockstep([AnchorSearch(engine.anchor_space, renter, params, np.random.default_rng(s))
                             for s in (1, 2, 3)], label)
    assert together == alone
    longest_alone = max(r.samples for r in alone)
    assert space.stats.calls < 3 * longest_alone  # shared calls: one per step, not one per search step


def test_asking_ahead_changes_the_calls_not_the_anchor(make_space: Callable[..., ModelSpace],
                                                         renter: np.ndarray) -> None:
    """Each candidate's batches come from its own stream, so the rows a remote model is sent ahead
    (AnchorSearch.speculate) leave every search's decisions, and so its result, unchanged."""
    space = make_space(lambda rows: 0.2 + 0.5 * (rows["housing"] == "rent") + 0.2 * (rows["age"] < 30))
    engine = AnchorEngine(space)
    target = int(space.predict_class(renter[None])[0])
    guessed: list[int] = []

    def label(rows: np.ndarray, ahead: Callable[[], list[np.ndarray]] | None = None) -> np.ndarray:
        if ahead is not None:
            guessed.append(sum(len(b) for b in ahead()))
        return space.predict_class(rows) == target

    params = AnchorParams()
    assert params.sampler == "per-candidate"
    plain = run_lockstep([AnchorSearch(engine.anchor_space, renter, params, np.random.default_rng(s))
                          for s in (1, 2, 3)], label)
    ahead = run_lockstep([AnchorSearch(engine.anchor_space, renter, params, np.random.default_rng(s))
                          for s in (1, 2, 3)], label, lookahead=5000)
    assert ahead == plain and guessed and max(guessed) > 0
    first = AnchorSearch(engine.anchor_space, renter, params, np.random.default_rng(1)).first_rows(5000)
    assert first and sum(len(rows) for rows in first) >= 5000
    shared = AnchorSearch(engine.anchor_space, renter, AnchorParams(sampler="shared"), np.random.default_rng(1))
    assert shared.first_rows(5000) == [] and shared.speculate(5000) == []  # its next rows depend on the order


def test_a_record_naming_no_sampler_replays_with_the_stream_it_was_explained_with() -> None:
    """New explanations store the sampler ("per-candidate"); anchor parameters stored before the choice
    existed name none and were drawn from the "shared" stream, so their replay uses it, and its stored
    parameters read as they did."""
    new = ExplainOptions.build()
    assert new.params["anchor"].sampler == "per-candidate"
    assert new.parameters()["anchor"]["sampler"] == "per-candidate"
    stored = {k: v for k, v in new.parameters()["anchor"].items() if k != "sampler"}
    old = ExplainOptions.build(anchor=ANCHOR.params_of_record(stored))
    assert old.params["anchor"].sampler == "shared"
    assert old.parameters()["anchor"] == stored
    again = ExplainOptions.build(anchor=ANCHOR.params_of_record(new.parameters()["anchor"]))
    assert again.params["anchor"] == new.params["anchor"]
