"""What storing an explanation record costs in CPU: its stored form and hash, now against the deep copy
records were built with before (``dataclasses.asdict``), in the same run.

Reads the five records of tests/fixtures/stores/v1.sqlite (both shipped examples, all four methods) and,
for each, times ``to_dict()`` (the form it is stored in, with its SHA-256) against ``asdict`` of the same
record followed by the same hash. Usage: ``.venv/bin/python bench/record_bench.py [--repeats 200]``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import time
from dataclasses import asdict
from pathlib import Path

from xai_gov.canonical import sha256_json
from xai_gov.explain.records import ExplanationRecord

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "stores" / "v1.sqlite"


def per_call_ms(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    with sqlite3.connect(FIXTURE) as db:
        records = [ExplanationRecord.from_dict(json.loads(r)) for (r,) in db.execute("SELECT record FROM explanations")]
    now = [per_call_ms(record.to_dict, args.repeats) for record in records]
    before = [per_call_ms(lambda r=record: sha256_json(_deep_copied_body(r)), args.repeats) for record in records]
    print(f"{len(records)} records, median of {args.repeats} calls each (ms per record)")
    print(f"  to_dict() now (form + hash):        {statistics.mean(now):.2f}")
    print(f"  asdict deep copy + the same hash:   {statistics.mean(before):.2f}")
    print(f"  ratio (before / now):               {statistics.mean(before) / statistics.mean(now):.2f}x")


def _deep_copied_body(record: ExplanationRecord) -> dict:
    body = asdict(record)
    body.pop("sections")
    body["requested_at"] = record.body()["requested_at"]
    body["prediction"] = record.prediction.to_dict()
    return {**body, **record.sections}


if __name__ == "__main__":
    main()
