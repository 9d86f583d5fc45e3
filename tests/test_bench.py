"""The benchmarks still run (their figures are read from their own runs, never asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_explain_bench_runs_on_one_applicant() -> None:
    out = run("bench/explain_bench.py", "--applicants", "1", "--models", "logistic")
    assert "== Targets ==" in out and "Anchor plain / engine" in out


def test_packet_bench_runs() -> None:
    out = run("bench/packet_bench.py", "--explanations", "20", "--repeats", "1")
    assert "decision packet: median" in out and "model packet:" in out


def test_api_bench_runs_with_zero_errors() -> None:
    out = run("bench/api_bench.py", "--officers", "2", "--requests", "2", "--seconds", "120")
    # the load's two and the first explanation, timed as soon as the service said ready
    assert "errors: 0" in out and "stored records equal to their 2xx answers: 3 of 3" in out
    assert "first explanation after the service said ready" in out and "ledger lock waits:" in out


def test_ui_bench_runs() -> None:
    out = run("bench/ui_bench.py", "--explanations", "20", "--loads", "3")
    assert "officer result page: median" in out and "auditor lineage page: median" in out


def test_batch_bench_runs() -> None:
    out = run("bench/batch_bench.py", "--decisions", "4", "--methods", "lime")
    assert "serial: 4 done, 0 failed" in out and "targets:" in out


def test_scale_bench_runs_the_service_with_one_and_two_workers_the_crowd_and_the_store() -> None:
    out = run("bench/scale_bench.py", "--officers", "2", "--requests", "2", "--crowd", "2,2,2", "--writes", "10",
              "--skip", "batch")
    # 1 and 2 workers, both databases: each the load's two and the first explanation after ready
    assert out.count("stored records equal to their 2xx answers: 3 of 3") == 4
    assert out.count("CPU seconds per stored explanation: service") == 4
    assert "fifty users on SQLite" in out and "fifty users on PostgreSQL" in out
    assert "2 workers >= 1.7x" in out and "explanations stored per second" in out
    assert "grouped (batch writer), up to 50 per transaction" in out and "audit verify: OK" in out


def test_counterfactual_bench_runs_without_dice() -> None:
    out = run("bench/counterfactual_bench.py", "--applicants", "2", "--methods", "")
    assert "xai-gov: found for" in out and "validity" in out


def test_record_bench_runs() -> None:
    out = run("bench/record_bench.py", "--repeats", "3")
    assert "5 records" in out and "ratio (before / now)" in out
