"""Check-then-insert under contention: first moves of an alias, the first version of a new model, version
numbers, keys — from threads and from processes, on SQLite and PostgreSQL: no error and no lost write.

Before the fix, two first moves of one alias both read "no row" and both inserted (a UniqueViolation on
PostgreSQL, a 500 over HTTP).
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from xai_gov.actors import Actor, Role
from xai_gov.lineage.capture import build_lineage
from xai_gov.registry.adapters import PythonAdapter
from xai_gov.registry.schema import Feature, FeatureSchema
from xai_gov.sdk import Client

WORKERS = 4
ROUNDS = 3
SCHEMA = FeatureSchema((Feature("credit_amount", "numeric", "Credit amount", minimum=0, maximum=20_000),),
                       class_names=("bad", "good"), adverse_class="bad")
BACKGROUND = pd.DataFrame({"credit_amount": [float(a) for a in range(500, 10_500, 500)]})


def _register(client: Client, name: str, worker: int) -> int:
    lineage = build_lineage(data_sha256=None, data_rows=None, trainer=f"w{worker}", environment={})
    return client.register_adapter(name=name, adapter=PythonAdapter("tests.registry.fixtures_models:amount_rule"),
                                   schema=SCHEMA, background=BACKGROUND, lineage=lineage,
                                   actor=Actor(f"owner-{worker}", Role.OWNER)).version


def _hammer(client: Client, worker: int, barrier: threading.Barrier | None = None) -> None:
    """Each round: register a version of a model that may not exist yet, race for the first move of a
    fresh alias, move a shared alias, create a key."""
    owner = Actor(f"owner-{worker}", Role.OWNER)
    for round_ in range(ROUNDS):
        if barrier is not None:
            barrier.wait(timeout=60)
        _register(client, f"fresh-{round_}", worker)
        client.move_alias("base", f"first-{round_}", 1 + worker % 2, actor=owner)
        client.move_alias("base", "champion", 1 + (worker + round_) % 2, actor=owner)
        client.keys.create(name=f"k{worker}-{round_}", role=Role.OFFICER, actor=Actor("root", Role.ADMIN))


def _process(home: str, url: str, worker: int) -> None:
    client = Client(home=home, database_url=url)
    try:
        _hammer(client, worker)
    finally:
        client.close()


def _prepare(client: Client) -> int:
    _register(client, "base", 0)
    _register(client, "base", 0)
    return len(client.audit_events(limit=100_000))


def _assert_nothing_lost(client: Client, before: int) -> None:
    for round_ in range(ROUNDS):
        versions = [v.version for v in client.list_versions(f"fresh-{round_}")]
        assert versions == list(range(1, WORKERS + 1)), versions
        moves = [m for m in client.alias_history("base") if m.alias == f"first-{round_}"]
        assert len(moves) == WORKERS
        assert [m.from_version for m in moves].count(None) == 1, "two moves both saw no alias"
    champion = [m for m in client.alias_history("base") if m.alias == "champion"]
    assert len(champion) == WORKERS * ROUNDS
    # Each move's from_version is the previous move's to_version: no move read a stale alias.
    assert all(b.from_version == a.to_version for a, b in itertools.pairwise(champion))
    assert len(client.keys.list()) == WORKERS * ROUNDS
    writes = WORKERS * ROUNDS * 4  # registration, two alias moves, a key: one event each
    events = client.audit_events(limit=100_000)
    assert [e.seq for e in events] == list(range(1, before + writes + 1))
    report = client.verify_ledger()
    assert report.ok, report.problem


def test_threads(client: Client) -> None:
    before = _prepare(client)
    barrier = threading.Barrier(WORKERS)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for future in [pool.submit(_hammer, client, w, barrier) for w in range(WORKERS)]:
            future.result(timeout=300)  # an error in any worker fails the test
    _assert_nothing_lost(client, before)


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_processes(database_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    client = Client(home=home, database_url=database_url)
    try:
        before = _prepare(client)
        # fork: the workers start with xai_gov imported (a spawned one spends ~10 s importing on this
        # machine, so twenty runs in a row would take an hour); no connection is inherited: the pool is
        # emptied first and each worker opens its own client.
        client.database.dispose()
        context = multiprocessing.get_context("fork")
        workers = [context.Process(target=_process, args=(str(home), database_url, w)) for w in range(WORKERS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
        assert [w.exitcode for w in workers] == [0] * WORKERS
        _assert_nothing_lost(client, before)
    finally:
        client.close()
