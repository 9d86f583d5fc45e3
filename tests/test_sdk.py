"""The SDK as a model owner uses it: register with automatic lineage, then look it up from every side."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

import xai_gov
from xai_gov.errors import InvalidInput
from xai_gov.lineage.datahash import hash_file


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "code"
    repo.mkdir()
    for args in (["init", "-q"], ["config", "user.email", "o@bank.example"], ["config", "user.name", "O"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    (repo / "train.py").write_text("# training code\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "train"], check=True)
    return repo


def test_register_and_look_up_lineage_from_every_side(client: xai_gov.Client, small_model: Pipeline,
                                                      german_xy: tuple[pd.DataFrame, pd.Series], checkout: Path,
                                                      tmp_path: Path) -> None:
    X, y = german_xy
    with xai_gov.training_run() as run:
        small_model.fit(X, y)
    version = client.register(small_model, X, y, name="credit-risk", adverse_class="bad", trainer="alice",
                              run=run, code_path=checkout, metrics={"auc": 0.8}, seeds={"split": 42})
    lineage = version.lineage
    commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    assert lineage.code_commit == commit and lineage.code_dirty is False
    assert lineage.missing["code_repository"].endswith("has no remote named origin")
    assert lineage.training_started_at == run.started_at
    assert lineage.seeds == {"split": 42}  # the estimator's own random_state is None: not a seed

    # the same training data, as a file someone else holds, finds the version
    X.assign(credit_risk=y).to_csv(tmp_path / "train.csv", index=False)
    assert hash_file(tmp_path / "train.csv") == lineage.data_sha256

    refs = {
        "version": [client.lineage("credit-risk@1").ref],
        "data": [v.ref for v in client.lineage_by_data_hash(lineage.data_sha256 or "")],
        "commit": [v.ref for v in client.lineage_by_commit(commit[:8])],
        "trainer": [v.ref for v in client.lineage_by_trainer("alice")],
        "dates": [v.ref for v in client.lineage_between(version.registered_at - timedelta(seconds=1),
                                                        version.registered_at + timedelta(seconds=1))],
        "trained": [v.ref for v in client.lineage_between(run.started_at, None, date_field="trained")],
    }
    assert refs == {key: ["credit-risk@1"] for key in refs}
    assert client.lineage_by_trainer("bob") == []
    assert client.lineage_between(until=version.registered_at) == []


def test_lookup_filters_are_checked(client: xai_gov.Client) -> None:
    with pytest.raises(InvalidInput, match="not a commit"):
        client.lineage_by_commit("xyz")
    with pytest.raises(InvalidInput, match="not a data hash"):
        client.lineage_by_data_hash("sha256:1234")
    with pytest.raises(InvalidInput, match="at least one of"):
        client.find_lineage()


def test_module_level_sdk_uses_the_default_client(tmp_path: Path, small_model: Pipeline,
                                                  german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    client = xai_gov.connect(home=tmp_path / "home")
    try:
        version = xai_gov.register(small_model, X, y, name="credit-risk", adverse_class="bad", trainer="alice",
                                   code_path=None)
        assert xai_gov.lineage("credit-risk@1").lineage == version.lineage
        assert [v.ref for v in xai_gov.lineage_by_trainer("alice")] == ["credit-risk@1"]
        assert [s.name for s in xai_gov.list_models()] == ["credit-risk"]
    finally:
        client.close()
