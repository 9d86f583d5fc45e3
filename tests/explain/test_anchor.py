from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from xai_gov.explain.anchor import AnchorEngine
from xai_gov.explain.anchor_search import AnchorParams, AnchorSearch, run_lockstep
from xai_gov.explain.space import ModelSpace


def overdrawn_rule(rows: pd.DataFrame) -> np.ndarray:
    return np.where(rows["checking_account"] == "below 0 DM", 0.9, 0.1)


def test_the_known_anchor_is_found(make_space: Callable[..., ModelSpace], renter: np.ndarray) -> None:
    engine = AnchorEngine(make_space(overdrawn_rule))
    outcome = engine.explain(renter, target_class=0, seed=0, params=AnchorParams())
    assert outcome.conditions == ("Checking account = below 0 DM",)
    assert outcome.search_precision == 1.0 and outcome.fresh_precision == 1.0
    assert outcome.threshold_met and outcome.fresh_precision_lower_95 > 0.99
    assert 0.2 < outcome.coverage < 0.35  # about 27% of applicants are overdrawn
    assert outcome.stability.identical_share == 1.0


def test_threshold_is_judged_on_fresh_samples(make_space: Callable[..., ModelSpace], renter: np.ndarray) -> None:
    def leaky(rows: pd.DataFrame) -> np.ndarray:  # overdrawn renters are bad, except the youngest 10%
        return np.where((rows["checking_account"] == "below 0 DM") & (rows["age"] > 22), 0.9, 0.1)

    outcome = AnchorEngine(make_space(leaky)).explain(renter, target_class=0, seed=0, params=AnchorParams())
    assert outcome.threshold_met == (outcome.fresh_precision >= 0.95)
    assert abs(outcome.fresh_precision - outcome.search_precision) < 0.1


def test_lockstep_gives_each_search_the_result_it_gets_alone(make_space: Callable[..., ModelSpace],
                                                             renter: np.ndarray) -> None:
    space = make_space(lambda rows: 0.2 + 0.5 * (rows["housing"] == "rent") + 0.2 * (rows["age"] < 30))
    engine = AnchorEngine(space)
    target = int(space.predict_class(renter[None])[0])
    label = lambda rows: space.predict_class(rows) == target  # noqa: E731
    params = AnchorParams()
    alone = [run_lockstep([AnchorSearch(engine.anchor_space, renter, params, np.random.default_rng(s))], label)[0]
             for s in (1, 2, 3)]
    space.stats.reset()
    together = run_lockstep([AnchorSearch(engine.anchor_space, renter, params, np.random.default_rng(s))
                             for s in (1, 2, 3)], label)
    assert together == alone
    longest_alone = max(r.samples for r in alone)
    assert space.stats.calls < 3 * longest_alone  # shared calls: one per step, not one per search step
