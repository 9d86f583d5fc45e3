"""200 writes from parallel workers leave one unbroken chain with no lost or repeated event."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from sklearn.pipeline import Pipeline

from xai_gov.sdk import Client

WRITES = 200


def _register(client: Client, model: Pipeline, X: pd.DataFrame, y: pd.Series) -> int:
    client.register(model, X, y, name="credit-risk", adverse_class="bad", trainer="alice", code_path=None)
    return len(client.audit_events(limit=1000))


def _assert_chain(client: Client, before: int) -> None:
    events = client.audit_events(limit=10_000)
    assert len(events) == before + WRITES
    assert [e.seq for e in events] == list(range(1, before + WRITES + 1))
    report = client.verify_ledger()
    assert report.ok, report.problem


def test_threads(client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    before = _register(client, small_model, *german_xy)
    with ThreadPoolExecutor(max_workers=8) as pool:
        # lookups and alias moves interleaved: each one appends one event
        list(pool.map(lambda i: client.lineage("credit-risk@1") if i % 4 else
                      client.move_alias("credit-risk", f"a{i % 3}", 1), range(WRITES)))
    _assert_chain(client, before)


def _lookups(home: str, url: str, count: int) -> None:
    client = Client(home=home, database_url=url)
    try:
        for _ in range(count):
            client.lineage("credit-risk@1")
    finally:
        client.close()


def test_processes_on_sqlite(tmp_path: Path, small_model: Pipeline,
                             german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    home, url = tmp_path / "home", f"sqlite:///{tmp_path / 'shared.db'}"
    client = Client(home=home, database_url=url)
    try:
        before = _register(client, small_model, *german_xy)
        context = multiprocessing.get_context("spawn")
        workers = [context.Process(target=_lookups, args=(str(home), url, WRITES // 4)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
        assert [w.exitcode for w in workers] == [0, 0, 0, 0]
        _assert_chain(client, before)
    finally:
        client.close()
