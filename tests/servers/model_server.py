"""A real model server for the HTTP adapter's tests, run as a subprocess.

    python -m tests.servers.model_server PORT [--models german,synthetic]

Serves one rule-based model over three protocols, plus endpoints that fail:
- POST /invocations             MLflow scoring protocol (dataframe_split)
- POST /v2/models/rule/infer    KServe v2 inference protocol
- POST /predict                 plain JSON (instances -> probabilities)
- POST /fail                    always HTTP 500
- POST /flaky                   HTTP 503 for the first 2 calls, then as /predict
- POST /slow                    sleeps 2 s, then as /predict
- POST /wrong-shape             one probability row too few
- POST /nan                     NaN probabilities
- POST /rows                    as /predict, counting the rows of each request in /stats
- POST /busy                    HTTP 429 with Retry-After: 1 on every other call, else as /predict
- GET  /stats                   requests served per path (POST /reset clears them), and ``cpu_seconds``:
                                 the CPU time this server process has used so far

With ``--models``, the shipped examples' fitted pipelines (trained at start, with
their fixed seeds: the same fitted models the tests register as artifacts and
Python functions) are served over MLflow's scoring protocol at
``POST /models/<name>/invocations``, as ``mlflow models serve`` would: the
``dataframe_split`` body becomes a DataFrame, numbers as numbers and JSON null as
a missing value (NaN).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REQUESTS: Counter[str] = Counter()
MODELS: dict[str, Any] = {}


def load_models(names: list[str]) -> None:
    for name in names:
        if name == "german":
            from xai_gov.examples.credit_model import trained as german
            MODELS[name] = german().pipeline
        elif name == "synthetic":
            from xai_gov.examples.synthetic_model import trained as synthetic
            MODELS[name] = synthetic().pipeline
        else:
            raise SystemExit(f"unknown model {name!r}")


def score(name: str, split: dict[str, Any]) -> list[list[float]]:
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(split["data"], columns=split["columns"])
    for column in frame.columns:  # numbers as numbers, null as NaN: what MLflow's schema enforcement does
        try:
            frame[column] = pd.to_numeric(frame[column])
        except (TypeError, ValueError):
            frame[column] = frame[column].where(frame[column].notna(), np.nan)
    return MODELS[name].predict_proba(frame).tolist()


def probabilities(rows: list[dict[str, Any]]) -> list[list[float]]:
    """P(bad) = 0.8 for amounts over 5000, else 0.2; classes (bad, good)."""
    return [[0.8, 0.2] if float(row["credit_amount"]) > 5000 else [0.2, 0.8] for row in rows]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/stats":
            self._send(200, {**REQUESTS, "cpu_seconds": time.process_time()})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        REQUESTS[self.path] += 1
        if self.path == "/reset":
            REQUESTS.clear()
            self._send(200, {})
        elif self.path.startswith("/models/") and self.path.endswith("/invocations"):
            name = self.path.split("/")[2]
            if name not in MODELS:
                self._send(404, {"error": f"no model {name}"})
            else:
                self._send(200, {"predictions": score(name, body["dataframe_split"])})
        elif self.path == "/busy":
            if REQUESTS["/busy"] % 2 == 1:
                self.send_response(429)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(200, {"probabilities": probabilities(body["instances"])})
        elif self.path == "/invocations":
            split = body["dataframe_split"]
            rows = [dict(zip(split["columns"], values, strict=True)) for values in split["data"]]
            self._send(200, {"predictions": probabilities(rows)})
        elif self.path == "/v2/models/rule/infer":
            columns = {i["name"]: i["data"] for i in body["inputs"]}
            count = len(next(iter(columns.values())))
            rows = [{name: values[k] for name, values in columns.items()} for k in range(count)]
            flat = [p for row in probabilities(rows) for p in row]
            self._send(200, {"model_name": "rule", "outputs": [
                {"name": "probabilities", "shape": [count, 2], "datatype": "FP64", "data": flat}]})
        elif self.path == "/predict":
            self._send(200, {"probabilities": probabilities(body["instances"])})
        elif self.path == "/fail":
            self._send(500, {"error": "model crashed"})
        elif self.path == "/flaky":
            if REQUESTS["/flaky"] <= 2:
                self._send(503, {"error": "warming up"})
            else:
                self._send(200, {"probabilities": probabilities(body["instances"])})
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, {"probabilities": probabilities(body["instances"])})
        elif self.path == "/nan":
            self._send(200, {"probabilities": [[float("nan"), 0.5] for _ in body["instances"]]})
        elif self.path == "/rows":  # how many rows each request held, for the batching tests
            REQUESTS[f"rows:{len(body['instances'])}"] += 1
            self._send(200, {"probabilities": probabilities(body["instances"])})
        elif self.path == "/wrong-shape":
            self._send(200, {"probabilities": probabilities(body["instances"])[1:]})
        else:
            self._send(404, {"error": "not found"})


def main() -> None:
    if "--models" in sys.argv:
        load_models(sys.argv[sys.argv.index("--models") + 1].split(","))
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
