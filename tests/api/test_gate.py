"""The explanation gate: requests wait for a slot on the event loop, first come first served, holding no
worker thread (so lookups are never queued behind waiting explanations); one that waits too long gets 503."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import Api
from tests.api.test_bad_input import written

WAITING = 45  # more than the 40 threads of the pool sync routes (lookups) run in


def _semaphores(http: TestClient) -> list[Any]:
    pair = http.app.state.gate._loop_semaphore  # type: ignore[attr-defined]
    return [] if pair is None else [pair[1]]


def _post(http: TestClient, api: Api, decision_id: str) -> Any:
    return http.post("/v1/explanations", headers=api.as_("officer"), json={
        "model": "credit-risk@staging", "decision_id": decision_id, "instance": api.applicant})


def _waiters(http: TestClient) -> int:
    return sum(len(s._waiters or ()) for s in _semaphores(http))


def _wait_until_the_slot_is_taken(http: TestClient) -> None:
    deadline = time.monotonic() + 30
    while not any(s._value == 0 for s in _semaphores(http)) and time.monotonic() < deadline:
        time.sleep(0.01)


def _hold_the_slot(api: Api, monkeypatch: pytest.MonkeyPatch, decision_ids: list[str]) -> threading.Event:
    """The first explanation blocks (holding the one slot) until the event is set; the others answer at once
    with an explanation already stored, recording the order in which they got the slot."""
    stored = api.client.explain("credit-risk@staging", api.applicant, decision_id="STORED", methods=["lime"],
                                parameters={"lime": {"num_samples": 300, "repeats": 2}})
    release = threading.Event()

    def explain(model: str, instance: dict[str, Any], *, decision_id: str, **_: Any) -> Any:
        if decision_id == "FIRST":
            release.wait(30)
        decision_ids.append(decision_id)
        return stored

    monkeypatch.setattr(api.client, "explain", explain)
    return release


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_waiting_explanations_hold_no_thread_and_get_the_slot_in_the_order_they_came(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.client.settings.explain_concurrency, api.client.settings.explain_queue_seconds = 1, 60
    order: list[str] = []
    release = _hold_the_slot(api, monkeypatch, order)
    with TestClient(create_app(client=api.client)) as http:
        answers: dict[str, int] = {}

        def post(decision_id: str) -> None:
            answers[decision_id] = _post(http, api, decision_id).status_code

        threads = [threading.Thread(target=post, args=("FIRST",))]
        threads[0].start()
        _wait_until_the_slot_is_taken(http)
        deadline = time.monotonic() + 30
        for i in range(WAITING):  # each starts once the one before it is queued: their order is known
            threads.append(threading.Thread(target=post, args=(f"D{i}",)))
            threads[-1].start()
            while _waiters(http) < i + 1 and time.monotonic() < deadline:
                time.sleep(0.005)
        assert _waiters(http) == WAITING
        started = time.monotonic()
        lookup = http.get("/v1/lineage?trainer=alice", headers=api.as_("auditor"))  # a sync route: needs a thread
        assert lookup.status_code == 200 and time.monotonic() - started < 5
        release.set()
        for thread in threads:
            thread.join(30)
    assert order == ["FIRST", *(f"D{i}" for i in range(WAITING))]
    assert set(answers.values()) == {201}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_request_that_waits_past_the_queue_limit_is_503_and_stores_nothing(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.client.settings.explain_concurrency, api.client.settings.explain_queue_seconds = 1, 0.3
    order: list[str] = []
    release = _hold_the_slot(api, monkeypatch, order)
    with TestClient(create_app(client=api.client)) as http:
        holder = threading.Thread(target=_post, args=(http, api, "FIRST"))
        holder.start()
        _wait_until_the_slot_is_taken(http)
        before = written(api)
        late = _post(http, api, "LATE")
        release.set()
        holder.join(30)
    assert late.status_code == 503 and late.json()["code"] == "busy", late.text
    assert "0.3 s" in late.json()["detail"] and written(api) == before and "LATE" not in order
