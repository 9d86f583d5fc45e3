"""A real model server for the HTTP adapter's tests, run as a subprocess.

    python -m tests.servers.model_server PORT

Serves one rule-based model over three protocols, plus endpoints that fail:
- POST /invocations             MLflow scoring protocol (dataframe_split)
- POST /v2/models/rule/infer    KServe v2 inference protocol
- POST /predict                 plain JSON (instances -> probabilities)
- POST /fail                    always HTTP 500
- POST /flaky                   HTTP 503 for the first 2 calls, then as /predict
- POST /slow                    sleeps 2 s, then as /predict
- POST /wrong-shape             one probability row too few
- GET  /stats                   requests served per path; POST /reset clears them
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REQUESTS: Counter[str] = Counter()


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
            self._send(200, dict(REQUESTS))
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        REQUESTS[self.path] += 1
        if self.path == "/reset":
            REQUESTS.clear()
            self._send(200, {})
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
        elif self.path == "/wrong-shape":
            self._send(200, {"probabilities": probabilities(body["instances"])[1:]})
        else:
            self._send(404, {"error": "not found"})


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
