"""DVC's md5 and path next to the canonical hash, any data-version string, and Metaflow's ids."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from xai_gov.cli import app
from xai_gov.errors import NotFound
from xai_gov.lineage.capture import build_lineage
from xai_gov.lineage.dvc import dvc_version
from xai_gov.lineage.metaflow import metaflow_ids
from xai_gov.sdk import Client

runner = CliRunner()


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def test_a_dvc_file_beside_the_data_gives_its_md5_and_whether_the_file_still_matches(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,x\n")
    (tmp_path / "train.csv.dvc").write_text(f"outs:\n- md5: {md5(data)}\n  size: 8\n  hash: md5\n  path: train.csv\n")
    found = dvc_version(data)
    assert found is not None and (found.md5, found.path, found.size, found.file_matches) == (md5(data), "train.csv",
                                                                                              8, True)
    data.write_text("a,b\n2,y\n")  # changed since DVC recorded it
    assert dvc_version(data).file_matches is False


def test_dvc_lock_outputs_and_tracked_directories_cover_a_file(tmp_path: Path) -> None:
    (tmp_path / "data" / "prepared").mkdir(parents=True)
    data = tmp_path / "data" / "prepared" / "train.parquet"
    data.write_bytes(b"PAR1")
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  prepare:\n    cmd: python prepare.py\n    deps:\n    - path: data/raw.csv\n"
        "      md5: 1111\n    outs:\n    - path: data/prepared\n      md5: abcd1234.dir\n      size: 4\n")
    found = dvc_version(data)
    assert found is not None and (found.md5, found.path, found.file_matches) == ("abcd1234.dir", "data/prepared",
                                                                                 None)
    assert found.recorded_in.endswith("dvc.lock:prepare")
    other = tmp_path / "elsewhere.csv"
    other.write_text("a\n1\n")
    assert dvc_version(other) is None


def test_registration_records_dvc_and_a_data_version_and_finds_them(tmp_path: Path, database_url: str,
                                                                    small_model: Pipeline,
                                                                    german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    train = tmp_path / "train.csv"
    X.assign(credit_risk=y).to_csv(train, index=False)
    digest = md5(train)
    (tmp_path / "train.csv.dvc").write_text(f"outs:\n- md5: {digest}\n  hash: md5\n  path: train.csv\n")
    client = Client(home=tmp_path / "home", database_url=database_url)
    try:
        version = client.register(small_model, X, y, name="credit-dvc", adverse_class="bad", code_path=None,
                                  data_source_uri=str(train), data_version="delta:v42")
        assert version.lineage.dvc["md5"] == digest and version.lineage.dvc["file_matches"] is True
        assert version.lineage.data_version == "delta:v42"
        assert [v.ref for v in client.lineage_by_dataset_digest(digest)] == ["credit-dvc@1"]
        assert [v.ref for v in client.lineage_by_dataset_digest("delta:v42")] == ["credit-dvc@1"]
        with pytest.raises(NotFound, match="'delta:v43'"):
            client.lineage_by_dataset_digest("delta:v43")
    finally:
        client.close()
    found = runner.invoke(app, ["--home", str(tmp_path / "home"), "--database-url", database_url, "lineage",
                                "--dataset-digest", digest])
    assert found.exit_code == 0 and "credit-dvc@1" in found.stdout and "DVC" not in found.stderr


def test_a_version_without_external_references_keeps_its_original_record(small_model: Pipeline,
                                                                         client: Client,
                                                                         german_xy: tuple[pd.DataFrame,
                                                                                          pd.Series]) -> None:
    # Versions registered before these fields existed must hash exactly as they did (the ledger keeps the hashes).
    X, y = german_xy
    record = client.register(small_model, X, y, name="plain", adverse_class="bad", code_path=None).lineage.to_dict()
    assert not {"data_version", "mlflow", "datasets", "dvc", "metaflow"} & set(record)
    assert client.verify_ledger().ok


def test_metaflow_ids_come_from_current_inside_a_step_or_from_the_environment(monkeypatch: pytest.MonkeyPatch
                                                                              ) -> None:
    assert metaflow_ids({}) is None
    ids = metaflow_ids({"METAFLOW_FLOW_NAME": "CreditFlow", "METAFLOW_RUN_ID": "1701", "METAFLOW_STEP_NAME": "train"})
    assert ids is not None and (ids.pathspec, ids.task_id, ids.read_from) == ("CreditFlow/1701/train", None,
                                                                             "environment")
    current = types.SimpleNamespace(is_running_flow=True, flow_name="CreditFlow", run_id=1702, step_name="train",
                                    task_id=5)
    monkeypatch.setitem(sys.modules, "metaflow", types.SimpleNamespace(current=current))
    record = build_lineage(data_sha256=None, data_rows=None, environment={})
    assert record.metaflow["pathspec"] == "CreditFlow/1702/train/5"
    assert record.metaflow["read_from"] == "metaflow.current"
