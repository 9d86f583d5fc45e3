"""An uploaded joblib artifact's code runs only after every other check, in a separate process with a time
limit and no store in reach; every refused registration is a ledger event with its reasons."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from tests.api.conftest import Api


class _Payload:
    """A pickle whose loading runs ``code`` (an expression) and yields what it evaluates to."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return eval, (self.code,)


def _artifact(tmp_path: Path, model: Pipeline, *, sleep: float = 0) -> tuple[bytes, Path]:
    """A joblib artifact that writes where, as whom and with what environment it ran, then is ``model``."""
    real, marker = tmp_path / "real.joblib", tmp_path / "ran.json"
    joblib.dump(model, real)
    code = (f"__import__('time').sleep({sleep}) or __import__('pathlib').Path({str(marker)!r}).write_text("
            "__import__('json').dumps({'pid': __import__('os').getpid(), 'cwd': __import__('os').getcwd(), "
            "'env': sorted(__import__('os').environ)})) and __import__('joblib').load(" + repr(str(real)) + ")")
    return pickle.dumps(_Payload(code)), marker


def _upload(api: Api, artifact: bytes, X: pd.DataFrame, schema: dict[str, Any], role: str = "owner") -> Any:
    files = {"artifact": ("m.joblib", artifact), "background": ("b.csv", X.head(40).to_csv(index=False).encode()),
             "schema": ("s.json", json.dumps(schema).encode())}
    return api.http.post("/v1/models", data={"name": "credit-risk", "format": "joblib"}, files=files,
                         headers=api.as_(role))


def _refusals(api: Api) -> list[Any]:
    return [e for e in api.client.audit_events(limit=1000) if e.action == "model.registration_refused"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_nothing_runs_before_every_other_check_passed(api: Api, small_model: Pipeline, tmp_path: Path,
                                                     german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = german_xy
    artifact, marker = _artifact(tmp_path, small_model)
    schema = api.client.get_model("credit-risk@1").schema.to_dict()
    wrong_classes = {**schema, "class_names": ["no", "yes"], "adverse_class": "no"}
    for bad_schema in ({**schema, "features": schema["features"][:-1]}, {"features": "nonsense"}):
        refused = _upload(api, artifact, X, bad_schema)
        assert refused.status_code == 422, refused.text
        assert not marker.exists(), "the pickle ran although the registration was refused"
    assert _upload(api, artifact, X, schema, role="admin").status_code == 403
    assert not marker.exists()
    # Every other check passes: now it loads, in a process of its own, with no store in reach.
    refused = _upload(api, artifact, X, wrong_classes)
    assert refused.status_code == 422 and refused.json()["field"] == "class_names"
    ran = json.loads(marker.read_text())
    assert ran["pid"] != os.getpid()
    assert not any(name.startswith(("XAI_GOV", "PG")) for name in ran["env"])
    assert Path(ran["cwd"]) != Path.cwd() and str(api.client.settings.home) not in ran["cwd"]
    marker.unlink()
    accepted = _upload(api, artifact, X, schema)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["adapter"]["estimator"] == "Pipeline" and marker.exists()
    reasons = [(e.payload["code"], e.payload["reasons"][0]["field"]) for e in _refusals(api)]
    assert reasons == [("schema_mismatch", "foreign_worker"), ("invalid_input", "features"),
                       ("invalid_input", "class_names")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_pickle_over_its_time_limit_is_stopped_and_refused(api: Api, small_model: Pipeline, tmp_path: Path,
                                                            german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = german_xy
    api.client.registry.sandbox_seconds = 1.0
    artifact, marker = _artifact(tmp_path, small_model, sleep=30)
    response = _upload(api, artifact, X, api.client.get_model("credit-risk@1").schema.to_dict())
    assert response.status_code == 422 and response.json()["code"] == "artifact_timeout"
    assert not marker.exists()  # stopped while sleeping, before it wrote anything
    assert [e.payload["code"] for e in _refusals(api)] == ["artifact_timeout"]
