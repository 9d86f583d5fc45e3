"""Batch explanation throughput: serial, a local process pool, and a Dask LocalCluster, in one run.

    .venv/bin/python bench/batch_bench.py [--decisions 100] [--workers 2] [--methods lime,anchor,shap]

Registers the demo model in a fresh data directory and explains the same held-out
applicants three times under fresh decision ids: in this process (the baseline),
on a local pool of --workers processes, and on a Dask LocalCluster of --workers
process workers. Each run includes starting its workers and storing every record
with its ledger event. Prints explanations per second and the ratios to serial
(targets, issue 15: pool >= 1.7x serial with 2 workers on 2 cores; Dask within 15%
of the pool), with the machine's load average, since a shared machine skews them.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from xai_gov.batch.rows import BatchRow
from xai_gov.cli.demo import register_demo_model
from xai_gov.examples.credit_model import train_credit_model
from xai_gov.sdk import Client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--methods", default="lime,anchor,shap")
    args = parser.parse_args()
    client = Client(home=tempfile.mkdtemp(prefix="xai-gov-batch-bench-"))
    trained = train_credit_model()
    version = register_demo_model(client, trained, trainer="bench")
    applicants = [{k: v.item() if hasattr(v, "item") else v for k, v in row.items()}
                  for _, row in trained.X_test.iterrows()]
    chosen = [applicants[n % len(applicants)] for n in range(args.decisions)]

    def rows(prefix: str) -> list[BatchRow]:
        return [BatchRow(line=n + 2, decision_id=f"{prefix}-{n}", instance=a) for n, a in enumerate(chosen)]

    methods = args.methods.split(",")
    runs = {
        "serial": client.explain_batch(version.ref, rows("SERIAL"), methods=methods, workers=1),
        f"pool x{args.workers}": client.explain_batch(version.ref, rows("POOL"), methods=methods,
                                                      workers=args.workers),
        f"dask x{args.workers}": client.explain_batch(version.ref, rows("DASK"), methods=methods,
                                                      dask_local=args.workers),
    }
    serial = runs["serial"].rate
    print(f"{args.decisions} decisions of {version.ref}, methods {args.methods}; load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    for name, summary in runs.items():
        print(f"{name:>8}: {summary.done} done, {len(summary.failed)} failed in {summary.seconds:.1f} s = "
              f"{summary.rate:.2f} explanations/s ({summary.rate / serial:.2f}x serial)")
    pool, dask = runs[f"pool x{args.workers}"].rate, runs[f"dask x{args.workers}"].rate
    print(f"targets: pool >= 1.7x serial: {'met' if pool >= 1.7 * serial else 'NOT met'}; "
          f"Dask within 15% of the pool: {'met' if dask >= 0.85 * pool else 'NOT met'}")
    client.close()


if __name__ == "__main__":
    main()
