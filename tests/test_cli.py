"""The CLI as a model owner and an auditor use it, from files; its answers equal the SDK's."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import skops.io
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from xai_gov.cli import app
from xai_gov.sdk import Client

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> dict[str, Path]:
    X, y = german_xy
    paths = {name: tmp_path / name for name in ("model.skops", "train.csv", "background.csv", "schema.json",
                                                 "metrics.json")}
    paths["model.skops"].write_bytes(skops.io.dumps(small_model))
    X.assign(credit_risk=y).to_csv(paths["train.csv"], index=False)
    X.sample(50, random_state=1).to_csv(paths["background.csv"], index=False)
    paths["metrics.json"].write_text(json.dumps({"auc": 0.81}))
    return paths


def invoke(home: Path, database_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--home", str(home), "--database-url", database_url, *args])
    if result.exit_code == 1 and result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an unhandled error: show it, not an empty stderr
    return result.exit_code, result.stdout, result.stderr


def test_register_from_files_and_look_up_like_the_sdk(tmp_path: Path, database_url: str,
                                                      files: dict[str, Path]) -> None:
    home = tmp_path / "home"
    code, out, err = invoke(home, database_url, "schema", "infer", str(files["train.csv"]), "--target",
                            "credit_risk", "--adverse-class", "bad", "-o", str(files["schema.json"]))
    assert code == 0, err
    code, out, err = invoke(
        home, database_url, "register", "credit-risk", "--artifact", str(files["model.skops"]),
        "--background", str(files["background.csv"]), "--schema", str(files["schema.json"]),
        "--training-data", str(files["train.csv"]), "--trainer", "alice", "--commit", "a" * 40,
        "--started", "2026-11-01T09:00:00Z", "--ended", "2026-11-01T09:05:00Z",
        "--metrics", str(files["metrics.json"]), "--alias", "staging", "--json")
    assert code == 0, err
    registered = json.loads(out)
    assert registered["ref"] == "credit-risk@1" and registered["aliases"] == ["staging"]
    assert registered["artifact_sha256"] == __import__("hashlib").sha256(files["model.skops"].read_bytes()).hexdigest()
    lineage = registered["lineage"]
    assert lineage["metrics"] == {"auc": 0.81} and lineage["training_started_at"] == "2026-11-01T09:00:00Z"

    sdk = Client(home=home, database_url=database_url)
    try:
        by_cli = {
            "version": json.loads(invoke(home, database_url, "lineage", "credit-risk@staging", "--json")[1]),
            "data": json.loads(invoke(home, database_url, "lineage", "--data-file", str(files["train.csv"]),
                                      "--json")[1]),
            "commit": json.loads(invoke(home, database_url, "lineage", "--commit", "aaaaaaa", "--json")[1]),
            "trainer": json.loads(invoke(home, database_url, "lineage", "--trainer", "alice", "--json")[1]),
            "dates": json.loads(invoke(home, database_url, "lineage", "--since", "2026-11-01", "--until",
                                       "2026-11-02", "--date-field", "trained", "--json")[1]),
        }
        from datetime import UTC, datetime
        by_sdk = {
            "version": sdk.lineage("credit-risk@staging").to_dict(),
            "data": [v.to_dict() for v in sdk.lineage_by_data_hash(lineage["data_sha256"])],
            "commit": [v.to_dict() for v in sdk.lineage_by_commit("aaaaaaa")],
            "trainer": [v.to_dict() for v in sdk.lineage_by_trainer("alice")],
            "dates": [v.to_dict() for v in sdk.lineage_between(datetime(2026, 11, 1, tzinfo=UTC),
                                                               datetime(2026, 11, 2, tzinfo=UTC),
                                                               date_field="trained")],
        }
        assert json.loads(json.dumps(by_sdk, default=str)) == by_cli
        assert len(by_cli["data"]) == 1
    finally:
        sdk.close()

    code, out, _ = invoke(home, database_url, "models", "list")
    assert code == 0 and "credit-risk" in out and "staging->1" in out
    code, out, _ = invoke(home, database_url, "lineage", "credit-risk@1")
    assert code == 0 and "alice" in out and "aaaaaaaaaa" in out


def test_bad_input_exits_2_with_the_code_and_writes_nothing_but_the_refusal(tmp_path: Path,
                                                                          files: dict[str, Path]) -> None:
    """A registration refused from the command line is a ledger event with its reason, as from the API (issue 12)."""
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    code, _, err = invoke(home, url, "models", "show", "credit-risk@3")
    assert code == 2 and "[model_not_found]" in err and "no model named 'credit-risk'" in err
    code, _, err = invoke(home, url, "register", "credit-risk", "--artifact", str(tmp_path / "absent.skops"),
                          "--background", str(files["background.csv"]), "--schema", str(files["schema.json"]))
    assert code == 2 and "no such file" in err and "absent.skops" in err
    files["schema.json"].write_text("{not json")
    code, _, err = invoke(home, url, "register", "credit-risk", "--artifact", str(files["model.skops"]),
                          "--background", str(files["background.csv"]), "--schema", str(files["schema.json"]))
    assert code == 2 and "schema.json is not valid JSON" in err
    code, _, err = invoke(home, url, "register", "credit-risk", "--artifact", str(files["model.skops"]),
                          "--background", str(files["background.csv"]), "--schema", str(files["schema.json"]),
                          "--cutoff", "1.5")
    assert code == 2 and "cutoff" in err
    code, out, _ = invoke(home, url, "models", "list", "--json")
    assert code == 0 and json.loads(out) == []
    sdk = Client(home=home, database_url=url)
    try:
        refusals = [e for e in sdk.audit_events(limit=100) if e.action == "model.registration_refused"]
    finally:
        sdk.close()
    assert [e.subject for e in refusals] == ["credit-risk"] * 3
    assert "absent.skops" in refusals[0].payload["message"] and "not valid JSON" in refusals[1].payload["message"]
    assert refusals[2].payload["reasons"][0]["field"] == "cutoff"


def test_data_hash_command_matches_the_sdk(files: dict[str, Path]) -> None:
    from xai_gov.lineage.datahash import hash_file

    result = runner.invoke(app, ["data", "hash", str(files["train.csv"]), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {str(files["train.csv"]): hash_file(files["train.csv"])}


def test_explain_show_and_replay_from_the_command_line(tmp_path: Path, small_model: Pipeline,
                                                       german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    home, url = tmp_path / "home", f"sqlite:///{tmp_path / 'cli.db'}"
    sdk = Client(home=home, database_url=url)
    sdk.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None)
    sdk.close()
    applicant = tmp_path / "applicant.json"
    applicant.write_text(X.iloc[2].to_json())
    code, out, err = invoke(home, url, "explain", "credit-risk@1", "--instance", str(applicant), "--decision-id",
                            "LOAN-7", "--methods", "lime,shap", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["methods"] == ["lime", "shap"] and "anchor" not in record and record["decision_id"] == "LOAN-7"
    code, out, _ = invoke(home, url, "explanations", "show", record["id"], "--json")
    assert code == 0 and json.loads(out) == record
    code, out, _ = invoke(home, url, "replay", record["id"], "--json")
    assert code == 0 and json.loads(out)["matches"] is True
    code, out, _ = invoke(home, url, "lineage", "--decision", "LOAN-7", "--json")
    assert code == 0 and [v["ref"] for v in json.loads(out)] == ["credit-risk@1"]
    code, out, _ = invoke(home, url, "explanations", "show", record["id"])
    assert code == 0 and ("Principal reasons" in out or "favourable" in out) and "decision rule" not in out
    code, _, err = invoke(home, url, "explain", "credit-risk@1", "--instance", str(applicant), "--decision-id",
                          "LOAN-7", "--methods", "lime")
    assert code == 2 and "[decision_already_explained] (field: decision_id)" in err
    code, out, err = invoke(home, url, "explain", "credit-risk@1", "--instance", str(applicant), "--decision-id",
                            "LOAN-7", "--methods", "lime", "--re-explain", "--bank-decision", "bad", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["re_explains"] == record["id"] and again["decision"]["outcome"] == "adverse" and again["reasons"]
    notice = tmp_path / "notice.pdf"
    code, out, err = invoke(home, url, "export", "notice", again["id"], "-o", str(notice))
    assert code == 0 and notice.read_bytes().startswith(b"%PDF"), err
    code, _, err = invoke(home, url, "register", "credit-risk", "--python",
                          "tests.registry.fixtures_models:amount_rule", "--background", str(tmp_path / "absent.csv"),
                          "--schema", str(tmp_path / "absent.json"), "--cutoff", "1.2")
    assert code == 2 and "(field: cutoff)" in err
    code, _, err = invoke(home, url, "explain", "credit-risk@1", "--instance", str(applicant), "--decision-id",
                          "LOAN-8", "--methods", "magic")
    assert code == 2 and "[invalid_input] (field: methods)" in err
