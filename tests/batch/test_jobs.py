"""Batch jobs are kept in the store: every service process answers for every job, and a job whose process
stopped is reported interrupted (issue 15: a service started with several workers)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from xai_gov.actors import Actor, Role
from xai_gov.batch import jobs
from xai_gov.batch.jobs import BatchJob
from xai_gov.batch.rows import BatchRow
from xai_gov.config import Settings
from xai_gov.errors import NotFound
from xai_gov.explain.engine import ExplainOptions
from xai_gov.sdk import Client
from xai_gov.store import jobs as stored_jobs
from xai_gov.timeutil import utcnow

QUICK = ExplainOptions.build(["lime", "shap"], lime={"num_samples": 300, "repeats": 2})
OWNER, OTHER_OWNER, AUDITOR = Actor("olivia", Role.OWNER), Actor("oscar", Role.OWNER), Actor("ada", Role.AUDITOR)


def rows(X: pd.DataFrame, count: int) -> list[BatchRow]:
    return [BatchRow(line=n + 1, decision_id=f"JOB-{n}", instance={k: v.item() if hasattr(v, "item") else v
                                                                   for k, v in X.iloc[n].items()})
            for n in range(count)]


def wait_for(client: Client, job_id: str, actor: Actor, seconds: float = 300) -> BatchJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = client.batch_jobs.get(job_id, actor=actor)
        if job.state in ("finished", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish within {seconds:g} s")


def test_a_job_run_by_one_service_process_is_followed_from_another(
        database_url: str, tmp_path: Path, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    settings = Settings(home=tmp_path / "home", database_url=database_url, batch_workers=1)
    running, other = Client(settings), Client(settings)  # two service processes on one store
    try:
        running.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None)
        submitted = running.batch_jobs.submit("credit-risk@1", rows(X, 3), options=QUICK, actor=OWNER)
        assert other.batch_jobs.get(submitted.id, actor=OWNER).state in ("queued", "running", "finished")
        job = wait_for(other, submitted.id, OWNER)
        assert job.state == "finished" and (job.progress.total, job.progress.done) == (3, 3)
        assert isinstance(job.summary, dict) and job.summary["done"] == 3 and job.summary["model"] == "credit-risk@1"
        assert job.to_dict() == running.batch_jobs.get(submitted.id, actor=OWNER).to_dict()
        assert [j.id for j in other.batch_jobs.list(actor=AUDITOR)] == [submitted.id]  # the auditor sees all
        assert other.batch_jobs.list(actor=OTHER_OWNER) == []  # another owner's job is not theirs
        with pytest.raises(NotFound):
            other.batch_jobs.get(submitted.id, actor=OTHER_OWNER)
    finally:
        running.close()
        other.close()


def test_a_job_whose_process_stopped_is_reported_interrupted(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    job = BatchJob(id="a" * 32, model="credit-risk@1", requested_by=OWNER.name, submitted_at=utcnow(),
                   state="running", progress=jobs.BatchProgress(total=10, done=4))
    with client.database.session() as session:
        stored_jobs.save_job(session, job.to_dict(), submitted_at=job.submitted_at,
                             heartbeat_at=utcnow() - timedelta(seconds=jobs.STALE_SECONDS + 5))
    seen = client.batch_jobs.get(job.id, actor=OWNER)
    assert seen.state == "failed" and seen.error is not None and seen.error["code"] == "job_interrupted"
    assert "submit the same decisions again" in seen.error["message"] and seen.progress.done == 4
    with client.database.session() as session:  # a process that is alive says so
        stored_jobs.touch_jobs(session, [job.id], heartbeat_at=utcnow())
    assert client.batch_jobs.get(job.id, actor=OWNER).state == "running"
