"""Scale, in one run on this machine: the service with 1 and 2 explanation workers, batches, the store's writes.

    .venv/bin/python bench/scale_bench.py [--officers 16] [--requests 32] [--decisions 100]
                                          [--writes 1000] [--postgres URL]
                                          [--skip service,fifty,batch,store]

1. The service (``xai-gov serve`` on loopback, SQLite, the demo model): --officers
   concurrent officers post --requests default explanations (LIME, Anchor, SHAP),
   with 1 explanation worker, then with 2. Throughput, POST p50/p99, GET p99, errors.
2. Fifty users (as issue 15 puts a bank's load): 40 officers post 200 default explanations
   while 10 auditors look lineage up, on SQLite and on PostgreSQL (a fresh schema), with
   2 explanation workers: errors, POST p50, GET p99.
3. Batch: --decisions held-out applicants explained serially in one process, on a
   local pool of 2 processes, and on a Dask LocalCluster of 2 process workers.
4. The store's write rate on PostgreSQL (--postgres, default XAI_GOV_TEST_POSTGRES_URL
   or the local test database), in a fresh schema dropped afterwards: --writes
   complete records, each with its ledger event: one transaction each, from 1 and
   from 4 threads; then as a batch stores them, in groups (up to 10, up to 50 per
   transaction) on the batch's writer thread. Round trips per record are counted
   (statements, BEGIN and COMMIT, a connection's pre-ping).

Ratios are against the baseline measured in the same run (the machine is shared:
the load average is printed). Targets (issue 15): 2 workers >= 1.7x the 1-worker
throughput and POST p50 under 16 officers <= 4.15 s (half of 8.3 s); pool >= 1.7x
serial; Dask within 15% of the pool; PostgreSQL >= 200 explanations stored per second; fifty users:
0 errors, POST p50 <= 8 s, GET p99 <= 200 ms on both databases.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from api_bench import run_service_load
from sqlalchemy import event

from xai_gov.batch.rows import BatchRow
from xai_gov.batch.runners import Computed
from xai_gov.batch.writer import GroupWriter
from xai_gov.cli.demo import register_demo_model
from xai_gov.errors import XaiGovError
from xai_gov.examples.credit_model import train_credit_model
from xai_gov.sdk import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.scratch_schema import scratch_schema

POSTGRES_URL = os.environ.get("XAI_GOV_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def service(args: argparse.Namespace) -> None:
    results = {}
    for workers in (1, 2):
        print(f"\n-- service, {workers} explanation worker(s), {args.officers} officers (load {load()})")
        results[workers] = run_service_load(officers=args.officers, requests=args.requests, seconds=args.seconds,
                                            explain_workers=workers)
    one, two = results[1], results[2]
    print(f"\nservice: 1 worker {one['rate']:.2f}/s, POST p50 {one['post_p50']:.1f} s; 2 workers "
          f"{two['rate']:.2f}/s ({two['rate'] / one['rate']:.2f}x), POST p50 {two['post_p50']:.1f} s, p99 "
          f"{two['post_p99']:.1f} s, GET p99 {two['get_p99'] * 1000:.0f} ms, errors {one['errors'] + two['errors']}")
    print(f"targets: 2 workers >= 1.7x: {'met' if two['rate'] >= 1.7 * one['rate'] else 'NOT met'}; POST p50 "
          f"<= 4.15 s: {'met' if two['post_p50'] <= 4.15 else 'NOT met'}")


def fifty(args: argparse.Namespace) -> None:
    officers, auditors, requests = (int(n) for n in args.crowd.split(","))
    for name, url in (("SQLite", None), ("PostgreSQL", "postgres")):
        print(f"\n-- fifty users on {name}: {officers} officers, {auditors} auditors, {requests} explanations, "
              f"2 workers (load {load()})")
        with scratch_schema(args.postgres, prefix="bench") if url else contextlib.nullcontext(None) as database_url:
            result = run_service_load(officers=officers, auditors=auditors, requests=requests, seconds=args.seconds,
                                      explain_workers=2, database_url=database_url)
        print(f"fifty users on {name}: {result['rate']:.2f}/s, errors {result['errors']}, POST p50 "
              f"{result['post_p50']:.1f} s, p99 {result['post_p99']:.1f} s, "
              f"GET p99 (the slowest GET endpoint's) {result['get_p99'] * 1000:.0f} ms")
        print(f"targets: 0 errors: {'met' if result['errors'] == 0 else 'NOT met'}; POST p50 <= 8 s: "
              f"{'met' if result['post_p50'] <= 8 else 'NOT met'}; GET p99 <= 200 ms: "
              f"{'met' if result['get_p99'] <= 0.2 else 'NOT met'}")


def batch(args: argparse.Namespace) -> None:
    client = Client(home=tempfile.mkdtemp(prefix="xai-gov-scale-bench-"))
    trained = train_credit_model()
    version = register_demo_model(client, trained, trainer="bench")
    applicants = [{k: v.item() if hasattr(v, "item") else v for k, v in row.items()}
                  for _, row in trained.X_test.iterrows()]

    def rows(prefix: str) -> list[BatchRow]:
        return [BatchRow(line=n + 2, decision_id=f"{prefix}-{n}", instance=applicants[n % len(applicants)])
                for n in range(args.decisions)]

    print(f"\n-- batch of {args.decisions} decisions (load {load()})")
    serial = client.explain_batch(version.ref, rows("SERIAL"), workers=1)
    pool = client.explain_batch(version.ref, rows("POOL"), workers=2)
    dask = client.explain_batch(version.ref, rows("DASK"), dask_local=2)
    client.close()
    for name, summary in (("serial", serial), ("pool x2", pool), ("dask x2", dask)):
        print(f"{name:>8}: {summary.done} done, {len(summary.failed)} failed in {summary.seconds:.1f} s = "
              f"{summary.rate:.2f}/s ({summary.rate / serial.rate:.2f}x serial)")
    print(f"targets: pool >= 1.7x serial: {'met' if pool.rate >= 1.7 * serial.rate else 'NOT met'}; Dask within "
          f"15% of the pool: {'met' if dask.rate >= 0.85 * pool.rate else 'NOT met'}")


def store(args: argparse.Namespace) -> None:
    with scratch_schema(args.postgres, prefix="bench") as database_url:
        client = Client(home=tempfile.mkdtemp(prefix="xai-gov-store-bench-"), database_url=database_url)
        trained = train_credit_model()
        version = register_demo_model(client, trained, trainer="bench")
        applicant = {k: v.item() if hasattr(v, "item") else v for k, v in trained.X_test.iloc[0].items()}
        template = client.explain(version.ref, applicant, decision_id="TEMPLATE")
        print(f"\n-- store writes on PostgreSQL (load {load()}): {args.writes} records of "
              f"{len(str(template.to_dict())):,} characters, each with its ledger event")
        trips = RoundTrips(client.database.engine)
        runs = [(f"one record per transaction, {threads} thread(s)", lambda threads=threads:
                 _single_rate(client, template, args.writes, threads)) for threads in (1, 4)]
        runs += [(f"grouped (batch writer), up to {size} per transaction", lambda size=size:
                  _grouped_rate(client, template, args.writes, size)) for size in (10, 50)]
        baseline = None
        for name, run in runs:
            trips.take()
            rate = run()
            counts = trips.take()
            baseline = baseline or rate
            per = {k: v / args.writes for k, v in counts.items()}
            print(f"{name}: {rate:.0f} explanations stored per second ({rate / baseline:.2f}x the first; "
                  f"target >= 200: "
                  f"{'met' if rate >= 200 else 'NOT met'}); per record {per['round trips']:.2f} round trips "
                  f"({per['statements']:.2f} statements, {per['transactions']:.2f} transactions, "
                  f"{per['checkouts']:.2f} checkouts)")
        print(f"audit verify: {'OK' if client.verify_ledger().ok else 'FAILED'}")
        client.close()


class RoundTrips:
    """What the store sends PostgreSQL: statements (SQLAlchemy's before_cursor_execute), transactions (each
    also a BEGIN and a COMMIT) and connection checkouts (each pre-pinged: one more round trip)."""

    def __init__(self, engine: Any) -> None:
        self.counts = {"statements": 0, "transactions": 0, "checkouts": 0}
        self._lock = threading.Lock()
        for name, kind in (("before_cursor_execute", "statements"), ("commit", "transactions"),
                           ("rollback", "transactions")):
            event.listen(engine, name, lambda *_, kind=kind: self._count(kind))
        event.listen(engine.pool, "checkout", lambda *_: self._count("checkouts"))

    def _count(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] += 1

    def take(self) -> dict[str, int]:
        with self._lock:
            counts, self.counts = self.counts, dict.fromkeys(self.counts, 0)
        return {**counts, "round trips": counts["statements"] + 2 * counts["transactions"] + counts["checkouts"]}


def _records(template: Any, count: int) -> Iterator[Any]:
    prefix = uuid.uuid4().hex[:6]
    return (replace(template, id=uuid.uuid4().hex, decision_id=f"W-{prefix}-{n}") for n in range(count))


def _single_rate(client: Client, template: Any, count: int, threads: int) -> float:
    """Each record alone (``store``, one transaction), from ``threads`` threads."""
    records = _records(template, count)
    take = threading.Lock()

    def writer() -> None:
        while True:
            with take:
                record = next(records, None)
            if record is None:
                return
            client.explanations.store(record)

    started = time.perf_counter()
    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count / (time.perf_counter() - started)


def _grouped_rate(client: Client, template: Any, count: int, size: int) -> float:
    """As a batch's submitting process stores records: they arrive in their stored form (built by the
    workers, so not timed here), are queued to its writer thread and written in groups of up to ``size``
    (``xai_gov.batch.writer``), as fast as this process can hand them over."""
    computed = [Computed(record.to_dict()) for record in _records(template, count)]  # the workers' part
    started = time.perf_counter()
    with GroupWriter(client.explanations, size=size) as writer:
        for n, outcome in enumerate(computed):
            writer.put(BatchRow(line=n + 2, decision_id=outcome.stored["decision_id"], instance={}), outcome)
        written = writer.close()
    seconds = time.perf_counter() - started
    refused = [outcome for _, outcome in written if isinstance(outcome, XaiGovError)]
    assert not refused and len(written) == count, f"{len(refused)} of {count} refused: {refused[:1]}"
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=16)
    parser.add_argument("--requests", type=int, default=32, help="explanations per service run")
    parser.add_argument("--seconds", type=float, default=600.0, help="stop starting requests after this")
    parser.add_argument("--crowd", default="40,10,200", help="fifty users: officers,auditors,explanations")
    parser.add_argument("--decisions", type=int, default=100, help="decisions per batch run")
    parser.add_argument("--writes", type=int, default=1000, help="records written per store run")
    parser.add_argument("--postgres", default=POSTGRES_URL)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: service, fifty, batch, store")
    args = parser.parse_args()
    skipped = set(filter(None, args.skip.split(",")))
    print(f"scale bench on {os.cpu_count()} cores, load average {load()}")
    for name, part in (("service", service), ("fifty", fifty), ("batch", batch), ("store", store)):
        if name not in skipped:
            part(args)


if __name__ == "__main__":
    main()
