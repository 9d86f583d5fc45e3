"""A decision id is explained once; a re-explanation says so and links to the earlier record (issue 10)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from xai_gov.errors import Conflict, NotFound, XaiGovError
from xai_gov.sdk import Client
from xai_gov.store import repos
from xai_gov.store.orm import ExplanationRow

STEPPED = "tests.registry.fixtures_models:stepped_risk"
FAST = {"lime": {"num_samples": 200, "repeats": 2}}


@pytest.fixture
def two_versions(client: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> Client:
    X, y = german_xy
    client.register(STEPPED, X, y, name="stepped", adverse_class="bad", code_path=None, cutoff=0.35)
    client.register(STEPPED, X, y, name="stepped", adverse_class="bad", code_path=None, cutoff=0.25)
    return client


@pytest.fixture
def applicant(german_xy: tuple[pd.DataFrame, pd.Series]) -> dict[str, Any]:
    return {k: v.item() if hasattr(v, "item") else v for k, v in german_xy[0].iloc[0].items()}


def stored(client: Client) -> int:
    with client.database.session() as session:
        return session.scalar(select(func.count()).select_from(ExplanationRow)) or 0


def test_a_reused_decision_id_is_a_conflict_unless_the_request_re_explains_it(
        two_versions: Client, applicant: dict[str, Any]) -> None:
    first = two_versions.explain("stepped@1", applicant, decision_id="LOAN-2026-0042", methods=["lime"],
                                 parameters=FAST)
    with pytest.raises(Conflict) as refused:
        two_versions.explain("stepped@2", applicant, decision_id="LOAN-2026-0042", methods=["lime"], parameters=FAST)
    assert refused.value.code == "decision_already_explained" and refused.value.field == "decision_id"
    assert stored(two_versions) == 1

    again = two_versions.explain("stepped@2", applicant, decision_id="LOAN-2026-0042", methods=["lime"],
                                 parameters=FAST, re_explain=True)
    assert again.re_explains == first.id and first.re_explains is None
    third = two_versions.explain("stepped@2", applicant, decision_id="LOAN-2026-0042", methods=["lime"],
                                 parameters=FAST, re_explain=True)
    assert third.re_explains == again.id  # each links to the latest before it
    views = two_versions.lineage_by_decision("LOAN-2026-0042")
    assert [(v.ref, v.explanations) for v in views] == [("stepped@1", (first.id,)),
                                                        ("stepped@2", (again.id, third.id))]
    assert [v.decision_rule["cutoff"] for v in views] == [0.35, 0.25]
    assert two_versions.get_explanation(again.id).to_dict() == again.to_dict()
    assert two_versions.verify_ledger().ok


def test_re_explaining_a_decision_never_explained_is_refused_and_nothing_is_stored(
        two_versions: Client, applicant: dict[str, Any]) -> None:
    with pytest.raises(NotFound) as refused:
        two_versions.explain("stepped@1", applicant, decision_id="LOAN-NEW", methods=["lime"], parameters=FAST,
                             re_explain=True)
    assert refused.value.field == "decision_id" and "never explained" in refused.value.message
    assert stored(two_versions) == 0


def test_the_database_refuses_a_second_first_explanation(two_versions: Client, applicant: dict[str, Any]) -> None:
    """The unique index, not only the check before the work, keeps a decision id to one first explanation."""
    record = two_versions.explain("stepped@1", applicant, decision_id="LOAN-RACE", methods=["lime"],
                                  parameters=FAST)
    with pytest.raises(Conflict), two_versions.database.session() as session:
        repos.add_explanation(session, replace(record, id=uuid.uuid4().hex))
    with two_versions.database.session() as session:  # a re-explanation is allowed beside it
        repos.add_explanation(session, replace(record, id=uuid.uuid4().hex, re_explains=record.id))
    assert stored(two_versions) == 2


def test_concurrent_first_explanations_of_one_decision_id_store_exactly_one(
        two_versions: Client, applicant: dict[str, Any]) -> None:
    for attempt in range(3):
        decision_id = f"LOAN-CONCURRENT-{attempt}"
        barrier = threading.Barrier(4)
        outcomes: list[Any] = []

        def explain(decision_id: str = decision_id, barrier: threading.Barrier = barrier,
                    outcomes: list[Any] = outcomes) -> None:
            barrier.wait(timeout=30)
            try:
                outcomes.append(two_versions.explain("stepped@1", applicant, decision_id=decision_id,
                                                     methods=["lime"], parameters=FAST).id)
            except XaiGovError as error:
                outcomes.append(error)

        threads = [threading.Thread(target=explain) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(outcomes) == 4
        assert sum(isinstance(o, str) for o in outcomes) == 1, outcomes
        assert all(isinstance(o, Conflict) for o in outcomes if not isinstance(o, str)), outcomes
        assert len(two_versions.find_explanations(decision_id=decision_id)) == 1
