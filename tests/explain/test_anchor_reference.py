"""anchor-exp as a selectable reference engine: its own search, the same re-estimate, replayed (issue 10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from anchor import anchor_base, anchor_tabular

from xai_gov.errors import InvalidInput
from xai_gov.explain.methods.anchor import AnchorEngine
from xai_gov.explain.methods.anchor_search import AnchorParams
from xai_gov.explain.space import ModelSpace
from xai_gov.sdk import Client

STEPPED = "tests.registry.fixtures_models:stepped_risk"


def overdrawn_rule(rows: pd.DataFrame) -> np.ndarray:
    return np.where(rows["checking_account"] == "below 0 DM", 0.9, 0.1)


def test_the_reference_engine_finds_the_known_anchor(make_space: Callable[..., ModelSpace],
                                                     renter: np.ndarray) -> None:
    outcome = AnchorEngine(make_space(overdrawn_rule)).explain(
        renter, adverse=True, cutoff=0.5, seed=0, params=AnchorParams(engine="anchor-exp"))
    assert outcome.engine == "anchor-exp" and outcome.conditions == ("Checking account = below 0 DM",)
    assert outcome.fresh_precision == 1.0 and outcome.threshold_met and outcome.stability.repeats == 3


def test_the_reference_engine_is_plain_anchor_exps_own_search(make_space: Callable[..., ModelSpace],
                                                              renter: np.ndarray) -> None:
    def mixed(rows: pd.DataFrame) -> np.ndarray:
        return 0.2 + 0.5 * (rows["housing"] == "rent") + 0.2 * (rows["age"] < 30)

    space = make_space(mixed)
    engine = AnchorEngine(space)
    adverse = bool(space.predict(renter[None])[0, 0] >= 0.5)
    params = AnchorParams(engine="anchor-exp", repeats=1)
    outcome = engine.explain(renter, adverse=adverse, cutoff=0.5, seed=7, params=params)
    schema = space.schema
    plain = anchor_tabular.AnchorTabularExplainer(
        list(schema.class_names), schema.names, space.background,
        {j: list(schema.features[j].categories) for j in space.categorical})
    np.random.seed(7)
    sample_fn, mapping = plain.get_sample_fn(
        renter, lambda rows: (space.predict(rows)[:, 0] >= 0.5).astype(int), desired_label=int(adverse))
    found = anchor_base.AnchorBaseBeam.anchor_beam(sample_fn, delta=0.1, epsilon=0.15, batch_size=100,
                                                   desired_confidence=0.95, max_anchor_size=None)
    assert [schema.features[mapping[p][0]].name for p in found["feature"]] == list(outcome.features)
    assert outcome.search_precision == (found["precision"][-1] if found["precision"] else found["all_precision"])


def test_a_request_selects_the_engine_the_record_names_it_and_replay_honours_it(
        client: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    client.register(STEPPED, X, y, name="stepped", adverse_class="bad", code_path=None, cutoff=0.35)
    applicant: dict[str, Any] = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[0].items()}
    record = client.explain("stepped@1", applicant, decision_id="REF-1", methods=["anchor"],
                            parameters={"anchor": {"engine": "anchor-exp", "repeats": 2, "fresh_samples": 500}})
    assert record.section("anchor")["engine"] == "anchor-exp" and record.parameters["anchor"]["engine"] == "anchor-exp"
    assert record.scores["fidelity"]["anchor"]["engine"] == "anchor-exp"
    report = client.replay(record.id)
    assert report.matches, [f for f in report.fields if not f.matches]
    default = client.explain("stepped@1", applicant, decision_id="REF-2", methods=["anchor"],
                             parameters={"anchor": {"repeats": 1, "fresh_samples": 500}})
    assert default.section("anchor")["engine"] == "batched"
    with pytest.raises(InvalidInput) as refused:
        client.explain("stepped@1", applicant, decision_id="REF-3", methods=["anchor"],
                       parameters={"anchor": {"engine": "alibi"}})
    assert refused.value.field == "parameters.anchor.engine"
