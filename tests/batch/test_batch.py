"""Batch explanation on SQLite and PostgreSQL: resumable, one bad row fails alone, pool and Dask give the
records this process gives."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from xai_gov.batch.rows import BatchRow
from xai_gov.cli import app
from xai_gov.errors import InvalidInput, Unavailable
from xai_gov.sdk import Client
from xai_gov.store.orm import ExplanationRow

from .loans import loans

QUICK = {"lime": {"num_samples": 300, "repeats": 2}}
METHODS = ["lime", "shap"]


def write_decisions(path: Path, X: pd.DataFrame, *, prefix: str = "D") -> Path:
    X.assign(decision_id=[f"{prefix}-{i}" for i in range(len(X))]).to_csv(path, index=False)
    return path


@pytest.fixture
def german_batch(client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series],
                 tmp_path: Path) -> Path:
    X, y = german_xy
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None, alias="staging")
    return write_decisions(tmp_path / "decisions.csv", X.iloc[:6])


def results(client: Client, summary_ids: tuple[str, ...]) -> dict[str, dict[str, object]]:
    records = [client.get_explanation(i) for i in summary_ids]
    return {r.decision_id: r.result_fields() for r in records}


def stored_rows(client: Client) -> int:
    with client.database.session() as session:
        return session.query(ExplanationRow).count()


def test_a_batch_stores_every_row_and_a_rerun_skips_them(client: Client, german_batch: Path) -> None:
    first = client.explain_batch("credit-risk@staging", german_batch, methods=METHODS, parameters=QUICK, workers=1)
    assert (first.model, first.total, first.done, first.skipped, first.failed) == ("credit-risk@1", 6, 6, (), ())
    assert stored_rows(client) == 6 and client.verify_ledger().ok
    again = client.explain_batch("credit-risk@staging", german_batch, methods=METHODS, parameters=QUICK, workers=1)
    assert (again.done, len(again.skipped), again.failed) == (0, 6, ())
    assert stored_rows(client) == 6  # never explained twice


def test_an_interrupted_batch_resumes_where_it_stopped(client: Client, german_batch: Path,
                                                       german_xy: tuple[pd.DataFrame, pd.Series],
                                                       tmp_path: Path) -> None:
    def stop_after_two(progress: object) -> None:
        if progress.done >= 2:  # type: ignore[attr-defined]
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.explain_batch("credit-risk@1", german_batch, methods=METHODS, parameters=QUICK, workers=1,
                             progress=stop_after_two)
    # What was done stays done: the records stored and those computed but still queued for the writer.
    kept = stored_rows(client)
    assert 2 <= kept < 6 and client.verify_ledger().ok
    rest = client.explain_batch("credit-risk@1", german_batch, methods=METHODS, parameters=QUICK, workers=1)
    assert (rest.done, len(rest.skipped)) == (6 - kept, kept) and stored_rows(client) == 6


def test_one_bad_row_fails_alone_named_by_its_line(client: Client, german_batch: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(german_batch, dtype=str, keep_default_na=False)
    frame.loc[2, "housing"] = "castle"  # line 4 of the file
    frame.loc[4, "decision_id"] = frame.loc[0, "decision_id"]  # line 6 repeats line 2's decision id
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    summary = client.explain_batch("credit-risk@1", path, methods=METHODS, parameters=QUICK, workers=1)
    assert summary.done == 4
    assert [(f.line, f.field) for f in summary.failed] == [(4, "housing"), (6, "decision_id")]
    assert "castle" in summary.failed[0].message and "line 2" in summary.failed[1].message


def test_a_file_without_a_feature_column_is_refused_before_any_work(client: Client, german_batch: Path,
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    pd.read_csv(german_batch).drop(columns=["savings"]).to_csv(path, index=False)
    with pytest.raises(InvalidInput, match="lacks the column savings") as caught:
        client.explain_batch("credit-risk@1", path, workers=1)
    assert caught.value.field == "savings" and stored_rows(client) == 0


def test_a_pool_of_processes_gives_the_records_this_process_gives(client: Client, german_batch: Path) -> None:
    pooled = client.explain_batch("credit-risk@1", german_batch, methods=METHODS, parameters=QUICK, workers=2)
    assert pooled.done == 6 and pooled.workers == 2
    rows = [BatchRow(r.line, f"serial-{r.decision_id}", r.instance) for r in _rows(client, german_batch)]
    serial = client.explain_batch("credit-risk@1", rows, methods=METHODS, parameters=QUICK, workers=1)
    by_serial = {k.removeprefix("serial-"): {**v, "decision_id": k.removeprefix("serial-")}
                 for k, v in results(client, serial.explanation_ids).items()}
    assert results(client, pooled.explanation_ids) == by_serial  # bit for bit


def _rows(client: Client, path: Path) -> list[BatchRow]:
    from xai_gov.batch.rows import read_decisions

    return read_decisions(path, schema=client.get_model("credit-risk@1").schema)


def test_a_python_function_model_with_other_feature_names_on_a_pool(client: Client, tmp_path: Path) -> None:
    X, y = loans()
    client.register("tests.batch.loans:p_decline", X, y, name="loans", adverse_class="decline", code_path=None,
                    reason_codes={"features": {  # a version needs a statement per feature (issue 9)
                        "monthly_income": {"code": "L1", "statement": "Income insufficient for amount of credit"},
                        "loan_term": {"code": "L2", "statement": "Length of the loan term requested"},
                        "home_status": {"code": "L3", "statement": "Housing status"}},
                        "never_reason": ["open_accounts"]})
    path = write_decisions(tmp_path / "loans.csv", X.iloc[:4], prefix="L")
    summary = client.explain_batch("loans@1", path, methods=METHODS, parameters=QUICK, workers=2)
    assert (summary.done, summary.failed) == (4, ())
    record = client.get_explanation(summary.explanation_ids[0])
    assert {v["feature"] for v in record.section("shap")["values"]} == set(X.columns)


@contextlib.contextmanager
def dask_default_port_taken() -> Iterator[None]:
    """Port 8787 (Dask's default for the scheduler's HTTP server) held, as another suite's cluster would."""
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", 8787))
            holder.listen()
        except OSError:
            pass  # someone else already holds it: the same situation
        yield


def test_dask_local_cluster_gives_the_records_this_process_gives(client: Client, german_batch: Path) -> None:
    with dask_default_port_taken():  # every port of the local cluster is a free one: two suites at once never clash
        on_dask = client.explain_batch("credit-risk@1", german_batch, methods=METHODS, parameters=QUICK,
                                       dask_local=2)
    assert on_dask.done == 6 and on_dask.workers == 2 and client.verify_ledger().ok
    rows = [BatchRow(r.line, f"serial-{r.decision_id}", r.instance) for r in _rows(client, german_batch)]
    serial = client.explain_batch("credit-risk@1", rows, methods=METHODS, parameters=QUICK, workers=1)
    by_serial = {k.removeprefix("serial-"): {**v, "decision_id": k.removeprefix("serial-")}
                 for k, v in results(client, serial.explanation_ids).items()}
    assert results(client, on_dask.explanation_ids) == by_serial


def test_a_scheduler_that_does_not_answer_is_named(client: Client, german_batch: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(Unavailable, match=f"scheduler at {address}") as caught:
        client.explain_batch("credit-risk@1", german_batch, scheduler=address)
    assert caught.value.code == "scheduler_unreachable" and stored_rows(client) == 0


def test_the_cli_runs_a_batch_and_prints_the_summary(client: Client, german_batch: Path,
                                                     database_url: str, tmp_path: Path) -> None:
    args = ["--home", str(tmp_path / "home"), "--database-url", database_url, "batch", "explain", str(german_batch),
            "--model", "credit-risk@staging", "--methods", "lime", "--workers", "1", "--json"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert '"done": 6' in done.output and '"skipped": 0' in done.output
    again = CliRunner().invoke(app, args[:-1])
    assert again.exit_code == 0 and "skipped (already explained)" in again.output


def test_a_dying_worker_fails_its_rows_and_the_pool_goes_on(client: Client, tmp_path: Path) -> None:
    X, y = loans()
    client.register("tests.batch.loans:p_decline_or_die", X, y, name="loans", adverse_class="decline",
                    code_path=None, reason_codes={"features": {  # a version needs a statement per feature
                        "monthly_income": {"code": "L1", "statement": "Income insufficient for amount of credit"},
                        "loan_term": {"code": "L2", "statement": "Length of the loan term requested"},
                        "home_status": {"code": "L3", "statement": "Housing status"}},
                        "never_reason": ["open_accounts"]})
    rows = X.iloc[:5].copy()
    rows.loc[rows.index[0], "loan_term"] = 61  # kills whichever worker explains it
    path = write_decisions(tmp_path / "loans.csv", rows, prefix="L")
    summary = client.explain_batch("loans@1", path, methods=["lime"], parameters=QUICK, workers=2)
    assert [(f.line, f.code) for f in summary.failed] == [(2, "worker_died")]  # only the row that kills
    assert "retried alone" in summary.failed[0].message
    assert summary.done == 4 and stored_rows(client) == 4 and client.verify_ledger().ok  # a new pool did the rest
