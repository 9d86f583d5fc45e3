"""A model over HTTP against the same model loaded locally, in the same run (issue 9).

    OMP_NUM_THREADS=1 .venv/bin/python bench/http_bench.py [--applicants 5] [--example german|synthetic|both]

Starts the project's test model server (tests/servers/model_server.py, speaking
MLflow's scoring protocol: ``POST /models/<name>/invocations`` with
``dataframe_split``, as ``mlflow models serve`` does) on a free loopback port,
with the examples' fitted pipelines. For each example (both by default), registers the same fitted model twice in a
fresh store: as a Python function (local: the pipeline called in this process,
the same model-agnostic explainers) and as an ``HttpAdapter`` on the server, then
runs the full default explanation (LIME, Anchor, SHAP, every score) for the same
held-out applicants on both. Prints, per path: seconds per explanation (median),
HTTP requests per explanation (the server's own count), rows sent, and the ratio
HTTP / local. Targets (issue 9): at most 10 requests and at most 1.5x the local
time. Bounded: --applicants explanations per path, loopback only.

Also the floor the server sets: the local explanation's work outside the model plus
the server process's own CPU time per explanation (reading the JSON body, scoring,
writing the answer, as MLflow's scoring server does). No client can make the HTTP
path faster than that; when the floor is above 1.5x, the time target is out of reach
for this server and this many rows, whatever the client does.

The local and HTTP explanations alternate applicant by applicant, so that a change
in the shared machine's load falls on both paths alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers import model_server
from xai_gov.registry.adapters import HttpAdapter
from xai_gov.sdk import Client


def applicant(row: object) -> dict[str, object]:
    return {k: (None if isinstance(v, float) and np.isnan(v) else v.item() if hasattr(v, "item") else v)
            for k, v in row.items()}  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applicants", type=int, default=5)
    parser.add_argument("--example", choices=["german", "synthetic", "both"], default="both")
    args = parser.parse_args()
    examples = ["german", "synthetic"] if args.example == "both" else [args.example]
    with model_server(*examples) as server:
        for example in examples:
            run(example, server, args.applicants)


def run(example: str, server: str, applicants: int) -> None:
    model: Any
    declared: dict[str, Any]
    if example == "german":
        from xai_gov.examples.credit_model import trained

        model, python, declared = trained(), "xai_gov.examples.credit_model:predict_proba", {
            "adverse_class": "bad", "class_names": ["bad", "good"]}
    else:
        from xai_gov.examples import synthetic_model

        model, python = synthetic_model.trained(), "xai_gov.examples.synthetic_model:predict_proba"
        declared = {"adverse_class": "1", "class_names": ["0", "1"], "protected": ["Age", "Marital"],
                    "reason_codes": synthetic_model.reason_codes_path()}
    rows = [applicant(model.X_test.iloc[i]) for i in range(applicants)]
    path = f"/models/{example}/invocations"
    labels = ("local (Python function)", "HTTP (MLflow protocol)")
    with tempfile.TemporaryDirectory() as home:
        client = Client(home=home, database_url=f"sqlite:///{home}/bench.db")
        local = client.register(python, model.X_train, model.y_train, name="local", code_path=None, **declared)
        remote = client.register(HttpAdapter(f"{server}{path}", protocol="mlflow"), model.X_train, model.y_train,
                                 name="http", code_path=None, **declared)
        versions = dict(zip(labels, (local, remote), strict=True))
        spaces = {label: client.explanations.explainers(version.ref).space for label, version in versions.items()}
        for space in spaces.values():
            space.stats.reset()
        seconds: dict[str, list[float]] = {label: [] for label in labels}
        model_seconds: list[float] = []  # per local explanation, in the model (the space's calls)
        requests: list[int] = []  # per HTTP explanation, the server's count
        server_cpu: list[float] = []  # per HTTP explanation, the server process's CPU time
        for i, row in enumerate(rows):
            for label, version in versions.items():
                before = httpx.get(f"{server}/stats").json()
                in_model = spaces[label].stats.seconds
                started = time.perf_counter()
                client.explain(version.ref, row, decision_id=f"{label}-{i}")
                seconds[label].append(time.perf_counter() - started)
                after = httpx.get(f"{server}/stats").json()
                if label == labels[1]:
                    requests.append(after.get(path, 0) - before.get(path, 0))
                    server_cpu.append(after["cpu_seconds"] - before["cpu_seconds"])
                else:
                    model_seconds.append(spaces[label].stats.seconds - in_model)
        client.close()
    figures = {label: (statistics.median(seconds[label]), sum(requests) / len(rows) if label == labels[1] else 0.0,
                       spaces[label].stats.calls / len(rows), spaces[label].stats.unique_rows / len(rows))
               for label in labels}
    print(f"{example}: {applicants} applicants, full default explanation; machine: "
          f"{os.cpu_count()} cores, shared (figures vary with load)")
    print(f"{'path':26} {'s/explanation':>14} {'HTTP requests':>14} {'model calls':>12} {'unique rows':>12}")
    for label, (median, asked, calls, unique) in figures.items():
        print(f"{label:26} {median:14.2f} {asked:14.1f} {calls:12.1f} {unique:12.0f}")
    local_s, http_s = figures[labels[0]][0], figures[labels[1]][0]
    http_requests = figures[labels[1]][1]
    met = "met" if http_s <= 1.5 * local_s else "NOT met"
    print(f"HTTP / local time: {http_s / local_s:.2f}x (target <= 1.5x: {met})")
    print(f"HTTP requests per explanation: {http_requests:.1f} (most {max(requests)}; target <= 10: "
          f"{'met' if max(requests) <= 10 else 'NOT met'})")
    # The floor: the explanation's own work outside the model, plus the server's CPU time (reading the JSON,
    # scoring, writing the answer), if the client's side and the transport cost nothing.
    outside = statistics.median(s - m for s, m in zip(seconds[labels[0]], model_seconds, strict=True))
    served = statistics.median(server_cpu)
    print(f"floor: local work outside the model {outside:.2f} s + the server's own CPU {served:.2f} s "
          f"= {(outside + served) / local_s:.2f}x local (medians; the server alone, no client cost or transport)")
    print()


if __name__ == "__main__":
    main()
