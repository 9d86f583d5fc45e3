"""Grouped writes (issue 15): a batch's records are stored in groups, one transaction each, on SQLite and
PostgreSQL: the ledger verifies, a bad record fails alone, a rerun explains nothing twice, and a concurrent
writer racing the groups loses nothing."""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import event, func, select

from xai_gov.batch.rows import BatchRow
from xai_gov.batch.runners import Computed
from xai_gov.batch.writer import GroupWriter
from xai_gov.errors import Conflict, XaiGovError
from xai_gov.explain.records import ExplanationRecord
from xai_gov.sdk import Client
from xai_gov.store.orm import AuditEventRow, ExplanationRow

from .loans import loans

STEPPED = "tests.registry.fixtures_models:stepped_risk"
LOANS = "tests.batch.loans:p_decline"
LOAN_REASONS = {"features": {
    "monthly_income": {"code": "L1", "statement": "Income insufficient for amount of credit"},
    "loan_term": {"code": "L2", "statement": "Length of the loan term requested"},
    "home_status": {"code": "L3", "statement": "Housing status"}}, "never_reason": ["open_accounts"]}
FAST = {"lime": {"num_samples": 200, "repeats": 2}}


@pytest.fixture(params=["german", "loans"])
def template(request: pytest.FixtureRequest, client: Client,
             german_xy: tuple[pd.DataFrame, pd.Series]) -> ExplanationRecord:
    """One stored explanation of the German credit data or of the loans example, to copy records from."""
    if request.param == "german":
        X, y = german_xy
        client.register(STEPPED, X, y, name="credit", adverse_class="bad", code_path=None)
        ref = "credit@1"
    else:
        X, y = loans()
        client.register(LOANS, X, y, name="loans", adverse_class="decline", code_path=None,
                        reason_codes=LOAN_REASONS)
        ref = "loans@1"
    applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[0].items()}
    return client.explain(ref, applicant, decision_id="TEMPLATE", methods=["lime"], parameters=FAST)


def copies(template: ExplanationRecord, decision_ids: list[str]) -> list[ExplanationRecord]:
    return [replace(template, id=uuid.uuid4().hex, decision_id=d) for d in decision_ids]


def explanation_rows(client: Client) -> list[tuple[str, str | None]]:
    with client.database.session() as session:
        return [(d, r) for d, r in session.execute(select(ExplanationRow.decision_id, ExplanationRow.re_explains))]


def created_events(client: Client) -> int:
    with client.database.session() as session:
        return session.scalar(select(func.count()).select_from(AuditEventRow)
                              .where(AuditEventRow.action == "explanation.created")) or 0


def test_a_group_is_one_transaction_and_the_ledger_verifies(client: Client, template: ExplanationRecord) -> None:
    records = copies(template, [f"G-{n}" for n in range(30)])
    commits: list[int] = []
    listener = lambda *_: commits.append(1)  # noqa: E731
    event.listen(client.database.engine, "commit", listener)
    try:
        outcomes = client.explanations.store_many(records)
    finally:
        event.remove(client.database.engine, "commit", listener)
    assert outcomes == records and len(commits) == 1
    assert len(explanation_rows(client)) == 31 and created_events(client) == 31
    report = client.verify_ledger()
    assert report.ok, report.problem
    assert client.get_explanation(records[17].id).to_dict() == records[17].to_dict()  # read back as written


def test_a_bad_record_in_a_group_fails_alone_named_by_its_line(client: Client, template: ExplanationRecord) -> None:
    good = copies(template, ["B-1", "B-2", "B-3"])
    explained = replace(template, id=uuid.uuid4().hex)  # decision id TEMPLATE: explained already
    no_version = replace(template, id=uuid.uuid4().hex, decision_id="B-4", version=9)
    twice = replace(template, id=uuid.uuid4().hex, decision_id="B-1")  # B-1 again, later in the same group
    batch = [good[0], explained, good[1], no_version, twice, good[2]]
    rows = [BatchRow(line=n + 2, decision_id=r.decision_id, instance={}) for n, r in enumerate(batch)]
    with GroupWriter(client.explanations, size=50, wait=1.0) as writer:
        for row, record in zip(rows, batch, strict=True):
            writer.put(row, Computed(record.to_dict()))
        written = writer.close()
    refused = {row.line: (type(outcome).__name__, outcome.code) for row, outcome in written
               if isinstance(outcome, XaiGovError)}
    assert refused == {3: ("Conflict", "decision_already_explained"), 5: ("NotFound", "version_not_found"),
                       6: ("Conflict", "decision_already_explained")}
    assert [outcome for _, outcome in written if isinstance(outcome, ExplanationRecord)] == good
    assert sorted(d for d, _ in explanation_rows(client)) == ["B-1", "B-2", "B-3", "TEMPLATE"]
    assert client.verify_ledger().ok


@pytest.mark.postgres
def test_a_value_the_database_refuses_fails_its_record_alone(postgres_url: str, tmp_path: Path,
                                                             german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    """PostgreSQL refuses a NUL in text as the group is written: the group is rolled back whole and each record
    written alone, so only the one at fault fails (SQLite stores a NUL)."""
    client = Client(home=tmp_path / "home", database_url=postgres_url)
    try:
        X, y = german_xy
        client.register(STEPPED, X, y, name="credit", adverse_class="bad", code_path=None)
        applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[0].items()}
        template = client.explain("credit@1", applicant, decision_id="TEMPLATE", methods=["lime"], parameters=FAST)
        records = copies(template, ["N-1", "N-2", "N-3"])
        records[1] = replace(records[1], requested_by="officer\x00")
        outcomes = client.explanations.store_many(records)
        assert isinstance(outcomes[1], XaiGovError) and outcomes[1].code == "unstorable_value"
        assert outcomes[0] == records[0] and outcomes[2] == records[2]
        assert sorted(d for d, _ in explanation_rows(client)) == ["N-1", "N-3", "TEMPLATE"]
        assert client.verify_ledger().ok
    finally:
        client.close()


def test_a_group_written_twice_explains_nothing_twice(client: Client, template: ExplanationRecord) -> None:
    records = copies(template, [f"R-{n}" for n in range(8)])
    assert client.explanations.store_many(records) == records
    again = client.explanations.store_many(copies(template, [f"R-{n}" for n in range(8)]))
    assert all(isinstance(o, Conflict) and o.code == "decision_already_explained" for o in again)
    assert len(explanation_rows(client)) == 9 and created_events(client) == 9 and client.verify_ledger().ok


def test_a_grouped_re_explanation_links_each_to_the_latest(client: Client, template: ExplanationRecord) -> None:
    first = client.explanations.store_many(copies(template, ["X-1", "X-2"]))
    again = client.explanations.store_many(copies(template, ["X-1", "X-2", "X-1", "X-3"]), re_explain=True)
    assert [getattr(o, "re_explains", None) for o in again[:3]] == [first[0].id, first[1].id, again[0].id]
    assert isinstance(again[3], XaiGovError) and again[3].code == "decision_not_found"
    assert client.verify_ledger().ok


def test_single_writers_racing_grouped_writes_lose_nothing(client: Client, template: ExplanationRecord) -> None:
    """A batch writer stores 120 decisions in groups while three threads store single explanations of the
    same decision ids in another order: each decision id ends with exactly one explanation, every record is
    either stored or refused as already explained, and the ledger holds one event per row and verifies."""
    decision_ids = [f"C-{n}" for n in range(120)]
    outcomes: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def batch() -> None:
        rows = copies(template, decision_ids)
        start.wait(timeout=30)
        with GroupWriter(client.explanations, size=20, wait=0.05) as writer:
            for n, record in enumerate(rows):
                writer.put(BatchRow(line=n + 2, decision_id=record.decision_id, instance={}),
                           Computed(record.to_dict()))
            written = writer.close()
        with lock:
            outcomes.extend(outcome for _, outcome in written)

    def single(seed: int) -> None:
        order = decision_ids[:]
        random.Random(seed).shuffle(order)
        start.wait(timeout=30)
        for record in copies(template, order[:40]):
            try:
                outcome: Any = client.explanations.store(record)
            except Conflict as refused:
                outcome = refused
            with lock:
                outcomes.append(outcome)

    def guarded(target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as error:  # a thread's unexpected error fails the test, not only the thread
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(batch,))]
    threads += [threading.Thread(target=guarded, args=(single, seed)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and len(outcomes) == 120 + 3 * 40
    stored = [o for o in outcomes if isinstance(o, ExplanationRecord)]
    refused = [o for o in outcomes if not isinstance(o, ExplanationRecord)]
    assert all(isinstance(o, Conflict) and o.code == "decision_already_explained" for o in refused)
    rows = [d for d, _ in explanation_rows(client) if d != "TEMPLATE"]
    assert sorted(rows) == sorted(decision_ids)  # each decision id once: none lost, none twice
    assert sorted(o.decision_id for o in stored) == sorted(decision_ids)
    assert created_events(client) == len(rows) + 1
    report = client.verify_ledger()
    assert report.ok, report.problem


def test_a_decision_explained_during_a_batch_is_skipped_once_and_the_rest_written(client: Client,
                                                                                  tmp_path: Path) -> None:
    """An officer explains a decision of the file while the batch runs (after its skip check): the batch's
    record of it is refused cleanly (skipped, not failed), the rest of the batch is written, nothing twice."""
    X, y = loans()
    client.register(LOANS, X, y, name="loans", adverse_class="decline", code_path=None, reason_codes=LOAN_REASONS)
    rows = [BatchRow(line=n + 2, decision_id=f"L-{n}",
                     instance={k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[n].items()})
            for n in range(4)]
    officer_first: list[str] = []

    def officer(progress: object) -> None:
        if not officer_first:  # the batch has checked what was explained: L-2 is not, yet
            officer_first.append(client.explain("loans@1", rows[2].instance, decision_id="L-2", methods=["lime"],
                                                parameters=FAST).id)

    summary = client.explain_batch("loans@1", rows, methods=["lime"], parameters=FAST, workers=1, progress=officer)
    assert (summary.done, summary.skipped, summary.failed) == (3, ("L-2",), ())
    assert sorted(d for d, _ in explanation_rows(client)) == ["L-0", "L-1", "L-2", "L-3"]
    assert client.explanations.find(decision_id="L-2")[0].id == officer_first[0]  # the officer's stands
    assert client.verify_ledger().ok
