"""The service's worker pool: explanations computed in worker processes, stored by the service (issue 15)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from tests.registry.fixtures_models import KILLER_AMOUNT
from xai_gov.actors import Actor, Role
from xai_gov.config import Settings
from xai_gov.errors import Unavailable
from xai_gov.explain.engine import TimeBudget
from xai_gov.sdk import Client
from xai_gov.store.orm import AuditEventRow, ExplanationRow

FAST = {"lime": {"num_samples": 300, "repeats": 2}, "anchor": {"repeats": 1, "fresh_samples": 200}}


def entered(row: pd.Series) -> dict[str, Any]:
    return {k: v.item() if hasattr(v, "item") else v for k, v in row.items()}


@pytest.fixture
def pooled(database_url: str, tmp_path: Path) -> Iterator[Client]:
    """A store whose explanations run on two worker processes."""
    client = Client(Settings(home=tmp_path / "home", database_url=database_url, explain_workers=2))
    yield client
    client.close()


def counts(client: Client) -> tuple[int, int]:
    with client.database.session() as session:
        return (session.scalar(select(func.count()).select_from(ExplanationRow)) or 0,
                session.scalar(select(func.count()).select_from(AuditEventRow)) or 0)


def test_a_record_computed_by_a_worker_is_the_one_the_service_computes(
        pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series], small_model: Any) -> None:
    X, y = german_xy
    pooled.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None, cutoff=0.35)
    applicant = entered(X.iloc[4])
    record = pooled.explain("credit-risk@1", applicant, decision_id="POOL-1", parameters=FAST,
                            progress=TimeBudget(120))
    assert pooled.explanations.pool is not None and pooled.explanations.pool.workers == 2
    assert pooled.get_explanation(record.id) == record  # stored by the service, with its ledger event
    assert [e.subject for e in pooled.audit_events() if e.action == "explanation.created"] == [record.id]
    pooled.explanations.pool = None  # the same store, explained in this process
    here = pooled.explain("credit-risk@1", applicant, decision_id="POOL-1", parameters=FAST, re_explain=True)
    assert here.result_fields() == record.result_fields() and here.re_explains == record.id
    assert pooled.replay(record.id).matches


def test_concurrent_requests_use_both_workers_and_each_is_stored_once(
        pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    pooled.register("tests.registry.fixtures_models:stepped_risk", X, y, name="stepped", adverse_class="bad",
                    code_path=None, class_names=["bad", "good"])
    pooled.explanations.pool.start()
    records: dict[int, Any] = {}
    errors: list[BaseException] = []

    def officer(index: int) -> None:
        try:
            records[index] = pooled.explain("stepped@1", entered(X.iloc[index]), decision_id=f"POOL-C{index}",
                                            methods=["lime", "shap"], parameters=FAST)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=officer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == [] and len(records) == 6
    assert len({r.id for r in records.values()}) == 6 and counts(pooled)[0] == 6
    assert pooled.audit.verify().ok


def test_a_worker_that_dies_answers_unavailable_stores_nothing_and_is_replaced(
        pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    pooled.register("tests.registry.fixtures_models:stepped_risk_that_kills", X, y, name="fragile",
                    adverse_class="bad", code_path=None, class_names=["bad", "good"])
    before = counts(pooled)
    deadly = {**entered(X.iloc[0]), "credit_amount": KILLER_AMOUNT}
    with pytest.raises(Unavailable) as died:
        pooled.explain("fragile@1", deadly, decision_id="POOL-DIES", parameters=FAST)
    assert died.value.code == "worker_died" and "nothing was stored" in died.value.message
    assert counts(pooled) == before
    record = pooled.explain("fragile@1", entered(X.iloc[0]), decision_id="POOL-AFTER", methods=["lime"],
                            parameters=FAST)  # a new pool answers the next request
    assert pooled.get_explanation(record.id).decision_id == "POOL-AFTER"
    # Over HTTP the officer gets a 503 that says what happened, and again nothing is stored.
    _, key = pooled.keys.create(name="officer", role=Role.OFFICER, actor=Actor("root", Role.ADMIN))
    before = counts(pooled)
    with TestClient(create_app(client=pooled)) as http:
        answer = http.post("/v1/explanations", headers={"Authorization": f"Bearer {key}"},
                           json={"model": "fragile@1", "decision_id": "POOL-HTTP", "instance": deadly,
                                 "methods": ["lime"]})
    assert answer.status_code == 503 and answer.json()["code"] == "worker_died", answer.text
    assert counts(pooled) == before


def test_the_time_budget_holds_in_a_worker(pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    pooled.register("tests.registry.fixtures_models:stepped_risk", X, y, name="stepped", adverse_class="bad",
                    code_path=None, class_names=["bad", "good"])
    before = counts(pooled)
    with pytest.raises(Unavailable) as over:
        pooled.explain("stepped@1", entered(X.iloc[0]), decision_id="POOL-SLOW", progress=TimeBudget(0.0))
    assert over.value.code == "explanation_over_budget" and counts(pooled) == before


def test_a_request_in_flight_when_another_kills_its_worker_is_still_answered(
        pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    """Python's executor fails every request on a pool whose worker died; the innocent one is run again alone."""
    X, y = german_xy
    pooled.register("tests.registry.fixtures_models:stepped_risk_that_kills", X, y, name="fragile",
                    adverse_class="bad", code_path=None)
    pooled.explanations.pool.start()
    answered: dict[str, Any] = {}

    def innocent() -> None:
        try:
            answered["record"] = pooled.explain("fragile@1", entered(X.iloc[1]), decision_id="POOL-INNOCENT")
        except BaseException as error:  # asserted below
            answered["error"] = error

    thread = threading.Thread(target=innocent)
    thread.start()
    time.sleep(0.5)  # the innocent request is computing when the other kills the pool
    with pytest.raises(Unavailable) as died:
        pooled.explain("fragile@1", {**entered(X.iloc[0]), "credit_amount": KILLER_AMOUNT},
                       decision_id="POOL-KILLER", parameters=FAST)
    thread.join(timeout=300)
    assert died.value.code == "worker_died" and "also when it ran alone" in died.value.message
    assert "error" not in answered, answered.get("error")
    assert pooled.get_explanation(answered["record"].id).decision_id == "POOL-INNOCENT"


def test_a_closed_pool_refuses_new_work(pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    pooled.register("tests.registry.fixtures_models:stepped_risk", X, y, name="stepped", adverse_class="bad",
                    code_path=None)
    pooled.explanations.pool.close()
    with pytest.raises(Unavailable) as closed:
        pooled.explain("stepped@1", entered(X.iloc[0]), decision_id="POOL-CLOSED", methods=["lime"])
    assert closed.value.code == "shutting_down"


def _threads_here() -> list[int]:
    """Run in a worker: the thread counts its numerical libraries would use."""
    from threadpoolctl import threadpool_info
    return [library["num_threads"] for library in threadpool_info()]


def _niceness_here() -> int:
    import os
    return os.nice(0)


def test_requests_name_the_versions_files_and_workers_run_one_thread_each(
        pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series], small_model: Any) -> None:
    """The service's requests name the version's files in the artifact store instead of carrying them (a
    worker reads them, hash-checked, when it first builds the version); numerical libraries in a worker use
    one thread, and a worker runs at a lower CPU priority than the service."""
    import pickle

    from xai_gov.errors import IntegrityError
    from xai_gov.explain.detached import _BUILT
    from xai_gov.explain.engine import ExplainOptions

    X, y = german_xy
    version = pooled.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None)
    options = ExplainOptions.build(["lime"], **FAST)
    full = pooled.explanations.detached("credit-risk@1", options=options, requested_by="officer")
    named = full.by_reference(pooled.registry.artifacts)
    assert named.artifact is None and named.background.empty and named.key == full.key
    assert len(pickle.dumps(named)) < len(pickle.dumps(full)) / 10
    _BUILT.clear()
    built = named.explainers()  # read from the store, as a worker does
    _BUILT.clear()
    carried = full.explainers()
    assert built is not carried and np.array_equal(built.space.background, carried.space.background)
    assert built.space.predict(carried.space.background).tolist() == \
        carried.space.predict(carried.space.background).tolist()

    pool = pooled.explanations.pool
    assert pool is not None
    pool.start()
    assert all(threads == 1 for threads in pool._current().submit(_threads_here).result())
    import os

    from xai_gov.explain.detached import WORKER_NICENESS
    assert pool._current().submit(_niceness_here).result() == min(os.nice(0) + WORKER_NICENESS, 19)
    record = pooled.explain("credit-risk@1", entered(X.iloc[0]), decision_id="NAMED-1", methods=["lime"],
                            parameters=FAST)
    assert pooled.replay(record.id).matches

    _BUILT.clear()  # a file changed on disk is refused when a worker reads it, as everywhere
    path = pooled.registry.artifacts.path(version.artifact_sha256)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(IntegrityError):
        named.explainers()


def _built_here() -> tuple[int, list[str]]:
    """Run in a worker: its process id and the versions it has built (held briefly, so the next such task
    goes to the other worker)."""
    import os

    from xai_gov.explain.detached import _BUILT
    time.sleep(0.2)
    return os.getpid(), [key[0] for key in _BUILT]


def test_workers_start_with_the_aliased_versions_built_and_explain_as_the_service_does(
        pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series], small_model: Any) -> None:
    """Workers build the versions an alias names before the service says ready, so the first requests do not
    wait for it; the trial explanation that builds them changes nothing in the records that follow. A version
    whose file changed on disk is left out (its requests are refused, named, as ever) and the others warm."""
    X, y = german_xy
    pooled.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None, cutoff=0.35)
    pooled.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None)
    broken = pooled.register("tests.registry.fixtures_models:stepped_risk", X[200:], y[200:], name="stepped",
                             adverse_class="bad", code_path=None, class_names=["bad", "good"])
    pooled.move_alias("credit-risk", "staging", 1)
    pooled.move_alias("credit-risk", "champion", 1)  # the same version: built once
    pooled.move_alias("credit-risk", "challenger", 2)
    pooled.move_alias("stepped", "staging", 1)
    path = pooled.registry.artifacts.path(broken.background_sha256)
    path.write_bytes(path.read_bytes() + b"x")

    versions = pooled.explanations.aliased_versions()
    assert sorted(v.version.ref for v in versions) == ["credit-risk@1", "credit-risk@2"]
    assert all(v.artifact is None and v.background.empty for v in versions)  # named, not carried
    pool = pooled.explanations.pool
    assert pool is not None
    pool.start(versions)
    seen: dict[int, list[str]] = {}
    deadline = time.monotonic() + 60
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.update(future.result() for future in [pool._current().submit(_built_here) for _ in range(2)])
    assert len(seen) == 2 and all(sorted(built) == ["credit-risk@1", "credit-risk@2"] for built in seen.values())

    applicant = entered(X.iloc[4])
    record = pooled.explain("credit-risk@staging", applicant, decision_id="WARM-1", parameters=FAST)
    pooled.explanations.pool = None  # the same store, explained in this process
    here = pooled.explain("credit-risk@staging", applicant, decision_id="WARM-1", parameters=FAST,
                          re_explain=True)
    assert here.result_fields() == record.result_fields()
    assert pooled.replay(record.id).matches


def test_a_version_that_kills_its_worker_at_start_does_not_stop_the_service_starting(
        pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    """Building an aliased version at start runs the model; a model that kills the worker doing it leaves the
    workers to start without building anything (logged), and its own requests are answered 503, as before."""
    X, y = german_xy
    pooled.register("tests.registry.fixtures_models:stepped_risk_that_kills_workers", X, y, name="killer",
                    adverse_class="bad", code_path=None, class_names=["bad", "good"])
    pooled.move_alias("killer", "staging", 1)
    pool = pooled.explanations.pool
    assert pool is not None
    pool.start(pooled.explanations.aliased_versions())
    assert pool._current().submit(_built_here).result()[1] == []  # started, nothing built
    with pytest.raises(Unavailable) as refused:
        pooled.explain("killer@staging", entered(X.iloc[0]), decision_id="KILL-1", methods=["lime"],
                       parameters=FAST)
    assert refused.value.code == "worker_died" and counts(pooled)[0] == 0


def test_a_version_that_hangs_its_worker_at_start_holds_the_start_up_only_so_long(
        pooled: Client, german_xy: tuple[pd.DataFrame, pd.Series], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A model that hangs while a worker builds it at start holds the service's start-up for ``START_SECONDS``
    at most; the workers then start without building anything, and the reason is logged."""
    from xai_gov.explain import pool as pool_module

    X, y = german_xy
    pooled.register("tests.registry.fixtures_models:stepped_risk_that_hangs_in_workers", X, y, name="hangs",
                    adverse_class="bad", code_path=None, class_names=["bad", "good"])
    pooled.move_alias("hangs", "staging", 1)
    monkeypatch.setattr(pool_module, "START_SECONDS", 4.0)
    pool = pooled.explanations.pool
    assert pool is not None
    started = time.monotonic()
    pool.start(pooled.explanations.aliased_versions())
    assert time.monotonic() - started < 40
    assert pool._current().submit(_built_here).result()[1] == [] and pool._versions == ()
    assert "could not build the aliased versions" in caplog.text
