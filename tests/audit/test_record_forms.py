"""Explanation records are hashed in the form they were written in, so old records keep verifying.

``tests/fixtures/stores/v1.sqlite`` was written at commit d63cb2a, before records carried a schema version
(``tests/fixtures/stores/make_store.py``): five explanations of both shipped examples (a declined applicant
with counterfactuals, a favourable one with what counted against, a re-explanation with two methods, an
applicant with a missing value, a bank override) and their ledger events.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from xai_gov.canonical import sha256_json
from xai_gov.explain.records import SCHEMA_VERSION, ExplanationRecord
from xai_gov.sdk import Client

V1_STORE = Path(__file__).parents[1] / "fixtures" / "stores" / "v1.sqlite"


@pytest.fixture
def v1_client(tmp_path: Path) -> Iterator[Client]:
    shutil.copy(V1_STORE, tmp_path / "v1.sqlite")
    store = Client(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'v1.sqlite'}")
    yield store
    store.close()


def stored_records(path: Path) -> list[tuple[dict, str]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT record, record_sha256 FROM explanations").fetchall()
    return [(json.loads(record), sha) for record, sha in rows]


def test_records_written_before_forms_were_versioned_still_verify(v1_client: Client) -> None:
    report = v1_client.verify_ledger()
    assert report.ok, report.problem
    assert report.records["explanations"] == 5 and report.records["model_versions"] == 2


def test_an_old_record_reads_back_in_its_own_form_byte_for_byte() -> None:
    stored = stored_records(V1_STORE)
    assert len(stored) == 5
    for data, sha in stored:
        assert "schema_version" not in data  # written before versions
        record = ExplanationRecord.from_dict(data)
        assert record.schema_version == 1
        assert record.to_dict() == data | {"record_sha256": sha}
        assert sha256_json(record.body()) == sha
        assert set(record.sections) <= {"lime", "anchor", "shap", "counterfactuals"}


def test_an_old_record_is_read_with_its_sections_and_shown(v1_client: Client) -> None:
    declined = v1_client.find_explanations(decision_id="G-declined")[0]
    assert declined.schema_version == 1 and declined.adverse
    assert set(declined.sections) == {"lime", "anchor", "shap", "counterfactuals"}
    two_methods = next(r for r in v1_client.find_explanations(decision_id="G-approved") if r.re_explains)
    assert set(two_methods.sections) == {"lime", "shap"} and two_methods.body()["anchor"] is None
    assert v1_client.export_decision(declined.id).startswith(b"%PDF")


def test_a_changed_old_record_is_still_caught(v1_client: Client, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "v1.sqlite") as db:
        (record,) = db.execute("SELECT record FROM explanations WHERE decision_id = 'S-no-income'").fetchone()
        db.execute("UPDATE explanations SET record = ? WHERE decision_id = 'S-no-income'",
                   (record.replace('"seed": 0', '"seed": 1'),))
    report = v1_client.verify_ledger()
    assert not report.ok and report.problem.kind == "changed" and "record" in report.problem.message


def test_new_records_carry_their_form_and_every_form_verifies_and_replays(client: Client, small_model,
                                                                          german_xy) -> None:
    X, y = german_xy
    version = client.register(small_model, X, y, name="forms", adverse_class="bad", code_path=None)
    applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[1].items()}
    quick = {"lime": {"num_samples": 300, "repeats": 2}, "anchor": {"repeats": 1, "fresh_samples": 200}}
    record = client.explain(version.ref, applicant, decision_id="F-1", parameters=quick)
    stored = record.to_dict()
    assert stored["schema_version"] == SCHEMA_VERSION == 2
    assert set(record.sections) == {m if m != "counterfactual" else "counterfactuals" for m in record.methods}
    assert all(stored[k] is not None for k in record.sections) and "re_explains" in stored
    # The same result written in form 1 (as records were before): it verifies and replays in its own form.
    old = replace(record, id="0" * 32, decision_id="F-1-as-v1", schema_version=1)
    assert "schema_version" not in old.to_dict() and old.to_dict()["record_sha256"] != stored["record_sha256"]
    assert client.explanations.store_many([old]) == [old]
    assert client.verify_ledger().ok
    assert client.get_explanation(old.id) == old
    assert client.replay(old.id).matches and client.replay(record.id).matches
