"""Importing from a real MLflow tracking store (SQLite backend, local artifacts) created in the test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.integrations.mlflow_store import COMMIT, REPOSITORY, MlflowStore
from tests.net import free_port
from xai_gov.actors import Actor, Role
from xai_gov.auth.permissions import GRANTS, Permission
from xai_gov.cli import app
from xai_gov.errors import InvalidInput, NotFound, PermissionDenied
from xai_gov.lineage.datahash import hash_file
from xai_gov.sdk import Client
from xai_gov.store.orm import AuditEventRow, ModelVersionRow

pytest.importorskip("mlflow")  # the mlflow extra; `make test` installs it
ROOT = Path(__file__).resolve().parents[2]
TREE = "sklearn.tree._tree.Tree"
runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MlflowStore]:
    created = MlflowStore(tmp_path / "mlflow")
    yield created
    created.close()


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[Client]:
    """For the tests of loading and serving models, which do not depend on the database (both run the rest)."""
    created = Client(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'store.db'}")
    yield created
    created.close()


@pytest.fixture
def train(german: pd.DataFrame) -> pd.DataFrame:
    return german.head(600)


def counts(client: Client) -> tuple[int, int]:
    with client.database.session() as session:
        return (session.scalar(select(func.count()).select_from(ModelVersionRow)) or 0,
                session.scalar(select(func.count()).select_from(AuditEventRow)) or 0)


def test_a_pipeline_with_string_categories_imports_with_one_command_explains_and_is_found_from_every_side(
        tmp_path: Path, database_url: str, store: MlflowStore, small_model: Pipeline, train: pd.DataFrame) -> None:
    logged = store.log_sklearn(clone(small_model), train, "credit_risk", registered_name="credit-lr",
                               params={"max_iter": 1000, "C": 1.0, "solver": "lbfgs", "random_state": 7})
    home = tmp_path / "home"
    result = runner.invoke(app, ["--home", str(home), "--database-url", database_url, "import", "mlflow",
                                 "models:/credit-lr/1", "--tracking-uri", store.tracking_uri,
                                 "--adverse-class", "bad", "--alias", "staging", "--json"])
    assert result.exit_code == 0, result.stderr
    client = Client(home=home, database_url=database_url)
    try:
        version = client.get_model("credit-lr@staging")
        lineage = version.lineage
        assert (version.ref, version.adapter_spec["kind"], version.adapter_spec["serialization"]) == \
            ("credit-lr@1", "sklearn", "skops")
        assert (lineage.code_commit, lineage.code_repository, lineage.trainer) == (COMMIT, REPOSITORY, "alice")
        assert lineage.training_started_at is not None and lineage.training_ended_at >= lineage.training_started_at
        assert lineage.hyperparameters == {"C": 1.0, "max_iter": 1000, "random_state": 7, "solver": "lbfgs"}
        assert lineage.seeds == {"random_state": 7} and set(lineage.metrics) == {"accuracy"}
        assert lineage.data_sha256 == hash_file(logged.train_csv) and lineage.data_rows == len(train)
        [dataset] = lineage.datasets
        assert (dataset["name"], dataset["digest"], dataset["context"]) == \
            ("german-credit", logged.dataset_digest, "training")
        assert dataset["data_sha256"] == lineage.data_sha256 and dataset["schema"]
        assert lineage.mlflow["run_id"] == logged.run_id and lineage.mlflow["tracking_uri"] == store.tracking_uri
        assert (lineage.mlflow["registered_model"], lineage.mlflow["model_version"]) == ("credit-lr", 1)
        assert lineage.mlflow["model_uri"] == "models:/credit-lr/1" and lineage.mlflow["flavour"] == "sklearn"
        assert "scikit-learn" in lineage.environment["packages"] and lineage.environment["requirements"]
        assert lineage.missing["code_dirty"].startswith("MLflow does not record")
        # The model explains an applicant as entered, with its string categories.
        applicant = {k: v.item() if hasattr(v, "item") else v
                     for k, v in train.drop(columns=["credit_risk"]).iloc[3].items()}
        record = client.explain("credit-lr@staging", applicant, decision_id="LOAN-ML-1", methods=["lime", "shap"],
                                parameters={"lime": {"num_samples": 300, "repeats": 2}})
        expected = logged_model_probabilities(logged, train.drop(columns=["credit_risk"]).iloc[[3]])
        assert record.prediction.probabilities == pytest.approx({"bad": expected[0], "good": expected[1]})
        assert record.methods == ("lime", "shap") and set(record.sections) == {"lime", "shap"}
        assert [v.ref for v in client.lineage_by_decision("LOAN-ML-1")] == ["credit-lr@1"]
        # Found by commit, by MLflow run id and by dataset digest, from the SDK and the CLI alike.
        assert [v.ref for v in client.lineage_by_commit(COMMIT[:8])] == ["credit-lr@1"]
        assert [v.ref for v in client.lineage_by_mlflow_run(logged.run_id)] == ["credit-lr@1"]
        assert [v.ref for v in client.lineage_by_dataset_digest(logged.dataset_digest)] == ["credit-lr@1"]
    finally:
        client.close()
    for option, value in (("--mlflow-run", logged.run_id), ("--dataset-digest", logged.dataset_digest),
                          ("--commit", COMMIT)):
        found = runner.invoke(app, ["--home", str(home), "--database-url", database_url, "lineage", option, value,
                                    "--json"])
        assert found.exit_code == 0, found.stderr
        assert '"ref": "credit-lr@1"' in found.stdout


def logged_model_probabilities(logged: object, rows: pd.DataFrame) -> list[float]:
    """What MLflow's own loader predicts for the logged model: the imported version must agree."""
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(f"runs:/{logged.run_id}/model")  # type: ignore[attr-defined]
    return model.predict_proba(rows)[0].tolist()


def test_a_tree_ensemble_imports_by_alias_through_the_sdk_once_its_tree_type_is_trusted(
        sqlite_client: Client, store: MlflowStore, german_xy: tuple[pd.DataFrame, pd.Series],
        train: pd.DataFrame) -> None:
    from mlflow.tracking import MlflowClient

    client = sqlite_client
    X, _ = german_xy
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    forest = Pipeline([("encode", ColumnTransformer([("c", OrdinalEncoder(), categorical)], remainder="passthrough")),
                       ("classify", RandomForestClassifier(n_estimators=20, max_depth=5, random_state=3))])
    logged = store.log_sklearn(forest, train, "credit_risk", registered_name="credit-rf",
                               params={"n_estimators": 20, "max_depth": 5, "random_state": 3, "class_weight": None},
                               skops_trusted_types=[TREE])  # MLflow's trust is not xai-gov's: the owner names it
    MlflowClient(tracking_uri=store.tracking_uri).set_registered_model_alias("credit-rf", "champion", "1")
    before, registry_setting = counts(client), os.environ.get("MLFLOW_REGISTRY_URI")
    with pytest.raises(InvalidInput, match=TREE) as refused:
        client.import_mlflow("models:/credit-rf@champion", tracking_uri=store.tracking_uri, adverse_class="bad")
    assert refused.value.field == "trusted_types" and counts(client) == before  # nothing written
    version = client.import_mlflow("models:/credit-rf@champion", tracking_uri=store.tracking_uri,
                                   adverse_class="bad", trusted_types=[TREE])
    assert version.ref == "credit-rf@1" and version.adapter_spec["trusted_types"] == [TREE]
    assert os.environ.get("MLFLOW_REGISTRY_URI") == registry_setting  # MLflow's global settings left as found
    assert version.lineage.hyperparameters["class_weight"] is None and version.lineage.seeds == {"random_state": 3}
    assert version.lineage.mlflow["run_id"] == logged.run_id
    adapter = client.load_model(version.ref)
    rows = train.drop(columns=["credit_risk"]).head(5)
    assert (adapter.predict_proba(rows) == forest.predict_proba(rows)).all()


@pytest.fixture(scope="module")
def scoring_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.servers.model_server", str(port)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_a_model_served_over_mlflows_protocol_registers_with_the_runs_lineage(
        sqlite_client: Client, store: MlflowStore, small_model: Pipeline, train: pd.DataFrame,
        scoring_server: str) -> None:
    client = sqlite_client
    logged = store.log_sklearn(clone(small_model), train, "credit_risk", registered_name="credit-served")
    version = client.import_mlflow("models:/credit-served/1", tracking_uri=store.tracking_uri,
                                   serve_url=f"{scoring_server}/invocations", class_names=["bad", "good"],
                                   adverse_class="bad")
    assert version.adapter_spec["kind"] == "http" and version.adapter_spec["protocol"] == "mlflow"
    assert version.lineage.mlflow["serve_url"] == f"{scoring_server}/invocations"
    assert version.lineage.mlflow["flavour"] == "served" and version.lineage.code_commit == COMMIT
    probabilities = client.load_model(version.ref).predict_proba(train.drop(columns=["credit_risk"]).head(4))
    expected = [[0.8, 0.2] if amount > 5000 else [0.2, 0.8] for amount in train["credit_amount"].head(4)]
    assert probabilities.tolist() == expected
    assert [v.ref for v in client.lineage_by_mlflow_run(logged.run_id)] == ["credit-served@1"]


def test_pickled_flavours_load_only_for_the_owner_role(sqlite_client: Client, store: MlflowStore,
                                                       small_model: Pipeline, train: pd.DataFrame,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    client = sqlite_client
    # A bank that lets admins register models still keeps pickles to the owner (its own grant).
    monkeypatch.setitem(GRANTS, Permission.WRITE_MODELS, frozenset({Role.OWNER, Role.ADMIN}))
    model = clone(small_model)
    logged = store.log_sklearn(model, train, "credit_risk", registered_name="credit-pyfunc",
                               pyfunc_predict_fn="predict_proba", serialization_format="cloudpickle")
    before = counts(client)
    for flavour in ("auto", "pyfunc"):  # the sklearn flavour is cloudpickled too
        with pytest.raises(PermissionDenied, match="only the owner role") as refused:
            client.import_mlflow("models:/credit-pyfunc/1", tracking_uri=store.tracking_uri, flavour=flavour,
                                 class_names=["bad", "good"], adverse_class="bad", actor=Actor("ada", Role.ADMIN))
        assert refused.value.field == "flavour" and counts(client) == before
    # The owner may: the pickled sklearn model is then stored as skops, which loads without running code.
    as_skops = client.import_mlflow("models:/credit-pyfunc/1", tracking_uri=store.tracking_uri, adverse_class="bad")
    assert as_skops.adapter_spec["serialization"] == "skops" and as_skops.lineage.mlflow["flavour"] == "sklearn"
    version = client.import_mlflow("models:/credit-pyfunc/1", tracking_uri=store.tracking_uri, flavour="pyfunc",
                                   class_names=["bad", "good"], adverse_class="bad")
    assert version.adapter_spec == {"kind": "mlflow_pyfunc", "serialization": "mlflow-pyfunc-zip"}
    rows = train.drop(columns=["credit_risk"]).head(5)
    assert abs(client.load_model(version.ref).predict_proba(rows) - model.predict_proba(rows)).max() < 1e-12
    assert abs(client.load_model(as_skops.ref).predict_proba(rows) - model.predict_proba(rows)).max() < 1e-12
    assert version.lineage.mlflow["run_id"] == logged.run_id


def test_bad_input_is_named_and_writes_nothing(tmp_path: Path, client: Client, store: MlflowStore,
                                               small_model: Pipeline, train: pd.DataFrame) -> None:
    store.log_sklearn(clone(small_model), train, "credit_risk", registered_name="credit-lr")
    before = counts(client)
    cases = [
        ({"model_uri": "models:/credit-lr/1", "tracking_uri": f"sqlite:///{tmp_path / 'nowhere.db'}"},
         InvalidInput, "tracking_uri", "no such SQLite database"),
        ({"model_uri": "models:/credit-lr/1", "tracking_uri": f"http://127.0.0.1:{free_port()}"},  # nobody there
         InvalidInput, "tracking_uri", "failed on models:/credit-lr/1"),
        ({"model_uri": "models:/credit-lr/7"}, NotFound, "model_uri", "models:/credit-lr/7"),
        ({"model_uri": "models:/no-such-model@champion"}, NotFound, "model_uri", "no-such-model"),
        ({"model_uri": "s3://bucket/model"}, InvalidInput, "model_uri", "not an MLflow model URI"),
        ({"model_uri": "runs:/0123456789abcdef/model", "name": "x"}, NotFound, "model_uri", "0123456789abcdef"),
    ]
    for arguments, error, field, message in cases:
        arguments = {"tracking_uri": store.tracking_uri, "adverse_class": "bad", **arguments}
        with pytest.raises(error, match=message) as caught:
            client.import_mlflow(arguments.pop("model_uri"), **arguments)
        assert caught.value.field == field, arguments
    with pytest.raises(PermissionDenied):
        client.import_mlflow("models:/credit-lr/1", tracking_uri=store.tracking_uri, adverse_class="bad",
                             actor=Actor("olga", Role.OFFICER))
    with pytest.raises(NotFound) as unknown:
        client.lineage_by_dataset_digest("feedface")
    assert unknown.value.field == "dataset_digest"
    with pytest.raises(NotFound) as unknown_run:
        client.lineage_by_mlflow_run("0123456789abcdef")
    assert unknown_run.value.field == "mlflow_run_id"
    assert counts(client) == before


def test_a_run_without_a_commit_or_reachable_data_imports_with_the_reasons_recorded(
        client: Client, store: MlflowStore, small_model: Pipeline, train: pd.DataFrame) -> None:
    logged = store.log_sklearn(clone(small_model), train, "credit_risk", registered_name=None, git=False,
                               dataset_source="s3://bank-data/credit/train.parquet")
    with pytest.raises(InvalidInput, match=r"no background sample.*s3://bank-data") as caught:
        client.import_mlflow(logged.model_uri, tracking_uri=store.tracking_uri, name="credit-nogit",
                             adverse_class="bad")
    assert caught.value.field == "background"
    with pytest.raises(InvalidInput, match="name the xai-gov model") as unnamed:
        client.import_mlflow(logged.model_uri, tracking_uri=store.tracking_uri, adverse_class="bad")
    assert unnamed.value.field == "name"
    background = train.drop(columns=["credit_risk"]).sample(60, random_state=0)
    version = client.import_mlflow(logged.model_uri, tracking_uri=store.tracking_uri, name="credit-nogit",
                                   adverse_class="bad", background=background, data_version="lakefs:9c1f2e")
    lineage = version.lineage
    assert lineage.code_commit is None and "has no mlflow.source.git.commit tag" in lineage.missing["code_commit"]
    assert lineage.data_sha256 is None and "s3://bank-data" in lineage.missing["data_sha256"]
    assert lineage.datasets[0]["data_sha256"] is None and "not reachable" in lineage.datasets[0]["missing"]
    assert lineage.mlflow["model_uri"] == logged.model_uri and "registered_model" not in lineage.mlflow
    assert [v.ref for v in client.lineage_by_dataset_digest("lakefs:9c1f2e")] == ["credit-nogit@1"]
    assert [v.ref for v in client.lineage_by_dataset_digest(logged.dataset_digest)] == ["credit-nogit@1"]


def test_a_model_with_other_features_imports_with_its_declarations_and_decision_rule(
        tmp_path: Path, database_url: str, store: MlflowStore) -> None:
    """The synthetic example (other names, missing values, integer classes) tracked in MLflow: MLflow knows
    nothing of reason codes, protected features or the bank's cutoff, so the import takes them as any
    registration does."""
    from xai_gov.datasets.synthetic_credit import TARGET, generate
    from xai_gov.examples.synthetic_model import TRUSTED_TYPES, build_pipeline, reason_codes_path

    data = generate(600, seed=3)
    store.log_sklearn(build_pipeline(), data, TARGET, registered_name="synthetic-credit",
                      skops_trusted_types=list(TRUSTED_TYPES))
    home = tmp_path / "home"
    base = ["--home", str(home), "--database-url", database_url, "import", "mlflow", "models:/synthetic-credit/1",
            "--tracking-uri", store.tracking_uri, "--adverse-class", "1", *[a for t in TRUSTED_TYPES
                                                                           for a in ("--trust", t)]]
    undeclared = runner.invoke(app, base)
    assert undeclared.exit_code == 2 and "looks like a protected attribute" in undeclared.stderr, undeclared.stderr
    declared = runner.invoke(app, [*base, "--protected", "Age,Marital", "--nullable", "Income,Housing",
                                   "--reason-codes", str(reason_codes_path()), "--class-label", "0=repaid",
                                   "--class-label", "1=defaulted", "--cutoff", "0.3"])
    assert declared.exit_code == 0, declared.stderr
    client = Client(home=home, database_url=database_url)
    try:
        version = client.get_model("synthetic-credit@1")
        assert version.rule.cutoff == 0.3 and version.lineage.mlflow["registered_model"] == "synthetic-credit"
        assert {f.name for f in version.schema.features if f.protected} == {"Age", "Marital"}
        applicant = {"Income": None, "Age": 29, "Marital": "single", "EmploymentYears": 1, "Housing": "rent",
                     "LatePayments": 3, "DebtRatio": 0.6, "LoanAmount": 9000, "Channel": "online"}
        record = client.explain("synthetic-credit@1", applicant, decision_id="SYN-ML-1", methods=["lime", "shap"],
                                parameters={"lime": {"num_samples": 300, "repeats": 2}})
        assert record.adverse and record.prediction.cutoff == 0.3
        stated = [r["feature"] for r in record.reasons]
        assert stated and not {"Age", "Marital"} & set(stated)
        assert all(r["code"] != "R00" for r in record.reasons)
    finally:
        client.close()
