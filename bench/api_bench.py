"""The HTTP API under load: concurrent officers explaining while auditors look lineage up.

    .venv/bin/python bench/api_bench.py [--officers 16] [--auditors 1] [--requests 48] [--seconds 300]

Starts ``xai-gov serve`` on a free loopback port over a fresh data directory with
the demo model (SQLite; set XAI_GOV_DATABASE_URL for PostgreSQL), creates one key
per officer and per auditor, then runs N officer threads posting default
explanations (LIME, Anchor, SHAP, all scores) for held-out applicants while each
auditor thread runs a round of lineage lookups and a health check every 0.5 s on a
fixed schedule (latency counted from when a round was due). The load is
bounded in count (--requests explanations in all) and time (--seconds), and
goes to 127.0.0.1 only.

Prints throughput, p50/p99 latency per endpoint, the error count (must be 0),
and then checks that every stored explanation equals the 2xx answer its officer
received, and that the ledger verifies.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from xai_gov.actors import Actor, Role
from xai_gov.cli.demo import ensure_demo_model
from xai_gov.examples.credit_model import train_credit_model
from xai_gov.sdk import Client

ROOT = Path(__file__).resolve().parents[1]
#: Seconds between one auditor's rounds of lookups (two lineage queries and a health check). Each auditor's
#: key then sends 240 requests a minute, within the service's default limit of 600 per key.
AUDITOR_INTERVAL = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.answers: dict[str, dict[str, Any]] = {}
        self.late_rounds = 0  # auditors' rounds that started over 100 ms after they were due
        self.lock = threading.Lock()

    def record(self, endpoint: str, seconds: float, response: httpx.Response | None, error: str | None) -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)
            if error is not None or response is None:
                self.errors.append(f"{endpoint}: {error or 'no response'}")
            elif response.status_code >= 300:
                self.errors.append(f"{endpoint}: {(response.status_code, response.text[:200])}")


def call(http: httpx.Client, recorder: Recorder, endpoint: str, method: str, url: str, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        response = http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        recorder.record(endpoint, time.perf_counter() - started, None, repr(exc))
        return None
    recorder.record(endpoint, time.perf_counter() - started, response, None)
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=16)
    parser.add_argument("--auditors", type=int, default=1)
    parser.add_argument("--requests", type=int, default=48, help="explanations in all")
    parser.add_argument("--seconds", type=float, default=300.0, help="stop starting requests after this")
    parser.add_argument("--explain-workers", type=int, default=None,
                        help="the server's explanation worker processes (default: its own, the number of cores)")
    args = parser.parse_args()
    result = run_service_load(officers=args.officers, auditors=args.auditors, requests=args.requests,
                              seconds=args.seconds,
                              explain_workers=args.explain_workers)
    if result["failed"]:
        raise SystemExit("FAILED: see above")


def run_service_load(*, officers: int, requests: int, seconds: float, explain_workers: int | None = None,
                     database_url: str | None = None, auditors: int = 1) -> dict[str, Any]:
    """Serve a fresh store with the demo model, load it, check what was stored; the figures as a dict."""
    home = Path(tempfile.mkdtemp(prefix="xai-gov-api-bench-"))
    client = Client(home=home, database_url=database_url)
    ref = ensure_demo_model(client)
    officer_keys = [client.keys.create(name=f"officer-{i}", role=Role.OFFICER, actor=Actor("bench", Role.ADMIN))[1]
                    for i in range(officers)]
    auditor_keys = [client.keys.create(name=f"auditor-{i}", role=Role.AUDITOR, actor=Actor("bench", Role.ADMIN))[1]
                    for i in range(auditors)]
    # the check after the load reads every record: a key of its own, not one the load spent its rate on
    checker_key = client.keys.create(name="checker", role=Role.AUDITOR, actor=Actor("bench", Role.ADMIN))[1]
    client.close()
    test_rows = train_credit_model().X_test
    applicants = [{k: v.item() if hasattr(v, "item") else v for k, v in row.items()} for _, row in test_rows.iterrows()]

    port = free_port()
    env = {**os.environ, "XAI_GOV_HOME": str(home)}
    if database_url:
        env["XAI_GOV_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "xai_gov.cli", "serve", "--port", str(port)]
    if explain_workers is not None:
        command += ["--explain-workers", str(explain_workers)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(server, base)
        first = first_explanation(base, officer_keys[0], ref, applicants[0])
        recorder = Recorder()
        before = cpu_split(server.pid)
        result = run_load(base, ref, officer_keys, auditor_keys, applicants, recorder,
                          argparse.Namespace(requests=requests, seconds=seconds))
        recorder.answers.update(first)  # stored, so checked below; not part of the load's figures
        after = cpu_split(server.pid)
        explained = max(len(recorder.answers), 1)
        print("CPU seconds per stored explanation: " + ", ".join(
            f"{part} {(after[part] - before[part]) / explained:.3f}" for part in after))
        print(lock_waits(base))
        result["failed"] = not check_stored(base, checker_key, recorder)
        return result
    finally:
        server.terminate()
        server.wait(timeout=30)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process, from /proc (Linux); 0 where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def cpu_split(server: int) -> dict[str, float]:
    """Where the cores go: CPU seconds so far of the service process, of its worker processes (the explanations),
    and of this bench (the officers' and auditors' clients). A database server's own processes are not counted."""
    return {"service": _cpu_seconds(server), "workers": sum(_cpu_seconds(c) for c in _children(server)),
            "bench": sum(os.times()[:2])}


def lock_waits(base: str) -> str:
    """The service's waits for the ledger's lock (its /metrics histogram, since it started): how many, their mean,
    and the bucket bound under which 99% of them fell."""
    families = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{base}/metrics").text)}
    if "xai_gov_ledger_lock_wait_seconds" not in families:  # a service from before the histogram
        return "ledger lock waits: not measured by this service"
    samples = families["xai_gov_ledger_lock_wait_seconds"].samples
    count = next(s.value for s in samples if s.name.endswith("_count"))
    total = next(s.value for s in samples if s.name.endswith("_sum"))
    buckets = sorted((float(s.labels["le"]), s.value) for s in samples if s.name.endswith("_bucket"))
    p99 = next(bound for bound, below in buckets if below >= 0.99 * count)
    over = count - next(below for bound, below in buckets if bound == 0.05)
    return (f"ledger lock waits: {count:.0f}, mean {total / max(count, 1) * 1000:.1f} ms, 99% within "
            f"{p99 * 1000:g} ms, over 50 ms: {over:.0f}")


def first_explanation(base: str, key: str, ref: str, applicant: dict[str, Any]) -> dict[str, Any]:
    """One explanation as soon as the service says ready, before the load: what the first officer after a
    restart waits. Printed; its record is returned (id -> answer) to be checked with the load's."""
    started = time.perf_counter()
    response = httpx.post(f"{base}/v1/explanations", headers={"Authorization": f"Bearer {key}"}, timeout=600,
                          json={"model": ref, "decision_id": "BENCH-FIRST", "instance": applicant})
    if response.status_code != 201:
        raise SystemExit(f"the first explanation was refused: {response.status_code} {response.text[:300]}")
    answer = response.json()
    print(f"first explanation after the service said ready: {time.perf_counter() - started:.2f} s "
          f"(its own steps: {sum(answer['timings'].values()):.2f} s)")
    return {answer["id"]: answer}


def wait_until_ready(server: subprocess.Popen[bytes], base: str, seconds: float = 180) -> None:
    """Wait for /readyz; a loaded machine can take a minute to import the explainers. Fail loudly, never load
    a server that is not there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode} before it was ready")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} was not ready within {seconds:g} s")


def run_load(base: str, ref: str, officers: list[str], auditors: list[str], applicants: list[dict[str, Any]],
             recorder: Recorder, args: argparse.Namespace) -> dict[str, Any]:
    remaining = iter(range(args.requests))
    take = threading.Lock()
    stop_at = time.monotonic() + args.seconds
    done = threading.Event()

    def officer(key: str) -> None:
        with httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {key}"}) as http:
            while time.monotonic() < stop_at:
                with take:
                    number = next(remaining, None)
                if number is None:
                    return
                response = call(http, recorder, "POST /v1/explanations", "POST", "/v1/explanations", json={
                    "model": ref, "decision_id": f"BENCH-{number}", "instance": applicants[number % len(applicants)]})
                if response is not None and response.status_code == 201:
                    with recorder.lock:
                        recorder.answers[response.json()["id"]] = response.json()

    def auditor_loop(auditor: str, offset: float) -> None:
        """A round of lookups every AUDITOR_INTERVAL seconds, on a fixed schedule (an open loop): the load
        offered does not fall when the service is slow. A round that starts over 100 ms after it was due (the
        one before ran long, or this process had no core) is counted and printed."""
        due = time.perf_counter() + offset
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {auditor}"}) as http:
            while not done.is_set() and time.monotonic() < stop_at:
                time.sleep(max(0.0, due - time.perf_counter()))
                if time.perf_counter() - due > 0.1:
                    with recorder.lock:
                        recorder.late_rounds += 1
                call(http, recorder, "GET /v1/lineage/{ref}", "GET", f"/v1/lineage/{ref}")
                call(http, recorder, "GET /v1/lineage?trainer", "GET", "/v1/lineage", params={"trainer": "nobody"})
                call(http, recorder, "GET /healthz", "GET", "/healthz")
                due += AUDITOR_INTERVAL

    started = time.perf_counter()
    watchers = [threading.Thread(target=auditor_loop, args=(key, AUDITOR_INTERVAL * i / max(len(auditors), 1)))
                for i, key in enumerate(auditors)]
    for watcher in watchers:
        watcher.start()
    threads = [threading.Thread(target=officer, args=(key,)) for key in officers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    done.set()
    for watcher in watchers:
        watcher.join()

    explained = len(recorder.answers)  # answered 201 and stored; refusals (503 busy) are counted as errors
    print(f"{len(officers)} officers and {len(auditors)} auditors, {explained} explanations stored in {elapsed:.1f} s: "
          f"{explained / elapsed:.2f} explanations/s, {os.cpu_count()} cores, load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"{'endpoint':28} {'requests':>8} {'p50 ms':>9} {'p99 ms':>9}")
    for endpoint, values in sorted(recorder.latencies.items()):
        print(f"{endpoint:28} {len(values):8d} {statistics.median(values) * 1000:9.1f} "
              f"{float(np.percentile(values, 99)) * 1000:9.1f}")
    print(f"errors: {len(recorder.errors)}; auditors' rounds started over 100 ms late: {recorder.late_rounds}")
    for error in recorder.errors[:10]:
        print("  ", error)
    posts = recorder.latencies["POST /v1/explanations"]
    # the slowest GET endpoint's p99 (pooled, the fast health checks would hide a slow lookup)
    get_p99 = max((float(np.percentile(values, 99)) for endpoint, values in recorder.latencies.items()
                   if endpoint.startswith("GET")), default=0.0)
    return {"rate": explained / elapsed, "post_p50": statistics.median(posts),
            "post_p99": float(np.percentile(posts, 99)), "get_p99": get_p99, "errors": len(recorder.errors)}


def check_stored(base: str, auditor: str, recorder: Recorder) -> bool:
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {auditor}"}) as http:
        mismatches = [i for i, answer in recorder.answers.items()
                      if http.get(f"/v1/explanations/{i}").json() != answer]
        stored = http.get("/v1/explanations", params={"limit": 500}).json()["items"]
        verified = http.get("/v1/audit/verify").json()
    print(f"stored records equal to their 2xx answers: {len(recorder.answers) - len(mismatches)} of "
          f"{len(recorder.answers)}; stored explanations {len(stored)}; ledger verifies: {verified['ok']} "
          f"({verified['events']} events)")
    return not (mismatches or len(stored) != len(recorder.answers) or not verified["ok"] or recorder.errors)


if __name__ == "__main__":
    main()
