"""`xai-gov examples export` writes files a model owner registers as they are, with declarations (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from xai_gov.cli import app

runner = CliRunner()


def invoke(home: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--home", str(home), "--database-url", f"sqlite:///{home / 'store.db'}", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_synthetic_example_exports_and_registers_from_files_with_its_declarations(tmp_path: Path) -> None:
    home, files = tmp_path / "home", tmp_path / "files"
    code, out, err = invoke(home, "examples", "export", str(files), "--example", "synthetic", "--json")
    assert code == 0, err
    exported = json.loads(out)
    assert set(exported["files"]) == {"model.skops", "train.csv", "background.csv", "schema.json", "metrics.json",
                                      "applicant.json", "reason_codes.yaml"}
    common = ["register", "synthetic", "--artifact", str(files / "model.skops"),
              "--background", str(files / "background.csv"), "--schema", str(files / "schema.json"),
              "--training-data", str(files / "train.csv"), "--metrics", str(files / "metrics.json"),
              "--commit", "a" * 40, "--json"]
    for trusted in exported["trusted_types"]:
        common += ["--trust", trusted]

    code, out, err = invoke(home, *common, "--protected", "Age,Marital")  # the default map has no statements
    assert code == 2 and "no reason statement for Income, EmploymentYears" in err
    code, out, err = invoke(home, *common, "--protected", "Age,Sex", "--reason-codes",
                            str(files / "reason_codes.yaml"))
    assert code == 2 and "protected names a feature the model does not take: 'Sex'" in err

    code, out, err = invoke(home, *common, "--protected", "Age,Marital", "--reason-codes",
                            str(files / "reason_codes.yaml"), "--class-label", "1=defaulted")
    assert code == 0, err
    schema = json.loads(out)["schema"]
    assert [f["name"] for f in schema["features"] if f.get("protected")] == ["Age", "Marital"]
    assert [f["name"] for f in schema["features"] if f.get("nullable")] == ["Income", "Housing"]
    assert schema["class_labels"] == {"1": "defaulted"} and schema["reason_codes"]["never_reason"] == ["Channel"]

    applicant = json.loads((files / "applicant.json").read_text())
    applicant["Income"] = None
    (files / "applicant.json").write_text(json.dumps(applicant))
    code, out, err = invoke(home, "explain", "synthetic@1", "--instance", str(files / "applicant.json"),
                            "--decision-id", "SYN-1", "--methods", "lime,shap", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["instance"]["Income"] is None
    assert not {"Age", "Marital", "Channel"} & {r["feature"] for r in record["reasons"]}
