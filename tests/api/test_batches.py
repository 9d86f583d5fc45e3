"""Batch jobs over HTTP (issue 15): submit, follow, resume; each row an ordinary stored explanation."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.api.conftest import QUICK, Api


def wait_for(api: Api, job_id: str, seconds: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = api.http.get(f"/v1/batches/{job_id}", headers=api.as_("owner")).json()
        if job["state"] in ("finished", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"batch job {job_id} did not finish within {seconds:g} s")


@pytest.fixture
def serial(api: Api) -> Api:
    api.client.settings = api.client.settings.model_copy(update={"batch_workers": 1})  # this process: quick
    return api


def test_an_owner_submits_a_batch_follows_it_and_a_second_submission_resumes(serial: Api) -> None:
    api = serial
    decisions = [{"decision_id": "BATCH-1", **api.applicant}, {"decision_id": "BATCH-2", **api.applicant},
                 {"decision_id": "BATCH-3", **api.applicant, "purpose": "a yacht"}]
    body = {"model": "credit-risk@staging", "decisions": decisions, "methods": ["lime"], "options": QUICK}
    submitted = api.http.post("/v1/batches", json=body, headers=api.as_("owner"))
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["model"] == "credit-risk@1" and submitted.json()["progress"]["total"] == 3
    job = wait_for(api, submitted.json()["id"])
    assert job["state"] == "finished" and job["progress"] == {"total": 3, "done": 2, "skipped": 0, "failed": 1}
    [failure] = job["summary"]["failed"]
    assert (failure["line"], failure["decision_id"], failure["field"]) == (3, "BATCH-3", "purpose")
    stored = api.http.get("/v1/explanations?decision_id=BATCH-1", headers=api.as_("auditor")).json()["items"]
    assert len(stored) == 1 and stored[0]["requested_by"].startswith("owner-1")
    again = wait_for(api, api.http.post("/v1/batches", json=body, headers=api.as_("owner")).json()["id"])
    assert again["progress"] == {"total": 3, "done": 0, "skipped": 2, "failed": 1}  # nothing explained twice
    listed = api.http.get("/v1/batches", headers=api.as_("auditor")).json()
    assert [j["id"] for j in listed] == [again["id"], job["id"]]
    assert api.http.get("/v1/audit/verify", headers=api.as_("auditor")).json()["ok"]


def test_bad_batches_are_named_and_queue_nothing(serial: Api) -> None:
    api = serial
    row = {"decision_id": "BATCH-X", **api.applicant}
    for body, status, field in (
            ({"model": "nope@1", "decisions": [row]}, 404, "model"),
            ({"model": "credit-risk@staging", "decisions": []}, 422, None),
            ({"model": "credit-risk@staging", "decisions": [row], "methods": ["tea leaves"]}, 422, "methods")):
        refused = api.http.post("/v1/batches", json=body, headers=api.as_("owner"))
        assert refused.status_code == status, refused.text
        if field:
            assert refused.json()["field"] == field, refused.text
    assert api.http.get("/v1/batches", headers=api.as_("owner")).json() == []
    missing = api.http.get("/v1/batches/feedface", headers=api.as_("owner"))
    assert missing.status_code == 404 and missing.json()["code"] == "job_not_found"
    assert api.http.post("/v1/batches", json={"model": "credit-risk@staging", "decisions": [row]},
                         headers=api.as_("officer")).status_code == 403


def test_a_job_is_its_submitter_s_and_an_auditor_s_and_odd_rows_fail_alone(serial: Api) -> None:
    api = serial
    from xai_gov.actors import Actor, Role

    other = api.client.keys.create(name="owner-2", role=Role.OWNER, actor=Actor("root", Role.ADMIN))[1]
    decisions = [{"decision_id": "BATCH-OK", **api.applicant}, {"decision_id": "BATCH-\u0000", **api.applicant},
                 {"decision_id": {"not": "text"}, **api.applicant}]
    body = {"model": "credit-risk@staging", "decisions": decisions, "methods": ["lime"], "options": QUICK}
    job = wait_for(api, api.http.post("/v1/batches", json=body, headers=api.as_("owner")).json()["id"])
    assert job["progress"] == {"total": 3, "done": 1, "skipped": 0, "failed": 2}
    assert [(f["line"], f["field"]) for f in job["summary"]["failed"]] == [(2, "decision_id"), (3, "decision_id")]
    stranger = {"Authorization": f"Bearer {other}"}
    assert api.http.get(f"/v1/batches/{job['id']}", headers=stranger).status_code == 404
    assert api.http.get("/v1/batches", headers=stranger).json() == []
    assert api.http.get(f"/v1/batches/{job['id']}", headers=api.as_("auditor")).status_code == 200
