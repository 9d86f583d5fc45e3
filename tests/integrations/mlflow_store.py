"""A real MLflow tracking store for the tests: SQLite backend and local artifacts under a tmp directory."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no network beyond loopback in tests

COMMIT = "3f2c1e9a7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e"
REPOSITORY = "https://git.example.org/bank/credit-models.git"


@dataclass(frozen=True)
class LoggedModel:
    run_id: str
    model_uri: str            # runs:/... as logged
    registered_name: str | None
    version: int | None
    dataset_digest: str | None
    train_csv: Path | None


class MlflowStore:
    def __init__(self, root: Path) -> None:
        import mlflow

        self.root = root
        self.tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
        mlflow.set_tracking_uri(self.tracking_uri)
        self.experiment_id = mlflow.create_experiment("credit", artifact_location=(root / "artifacts").as_uri())

    def close(self) -> None:
        """Forget the store: MLflow keeps the URI process-wide (and in MLFLOW_TRACKING_URI)."""
        import mlflow

        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]
        os.environ.pop("MLFLOW_REGISTRY_URI", None)  # set_registry_uri(None) leaves the variable behind

    def log_sklearn(self, model: Any, train: pd.DataFrame, target: str, *, registered_name: str | None,
                    git: bool = True, dataset_source: str | None = None, user: str = "alice",
                    params: dict[str, Any] | None = None, pyfunc_predict_fn: str = "predict",
                    serialization_format: str = "skops", skops_trusted_types: list[str] | None = None) -> LoggedModel:
        """Fit ``model`` on ``train`` inside a run, log params, metrics, the dataset and the model; register it."""
        import mlflow
        import mlflow.data
        import mlflow.sklearn
        from mlflow.models import infer_signature

        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        X, y = train.drop(columns=[target]), train[target]
        tags = {"mlflow.user": user}
        if git:
            tags |= {"mlflow.source.git.commit": COMMIT, "mlflow.source.git.repoURL": REPOSITORY}
        with mlflow.start_run(experiment_id=self.experiment_id, tags=tags) as run:
            model.fit(X, y)
            mlflow.log_params(params or {})
            mlflow.log_metric("accuracy", float((model.predict(X) == y).mean()))
            train_csv = None
            if dataset_source is None:
                train_csv = self.root / f"train-{run.info.run_id}.csv"
                train.to_csv(train_csv, index=False)
            with warnings.catch_warnings():  # MLflow warns that a path could be read two ways, then picks one
                warnings.simplefilter("ignore", UserWarning)
                dataset = mlflow.data.from_pandas(train, source=dataset_source or str(train_csv),
                                                  name="german-credit", targets=target)
            mlflow.log_input(dataset, context="training")
            info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict_proba(X)),
                                            registered_model_name=registered_name,
                                            pyfunc_predict_fn=pyfunc_predict_fn,
                                            serialization_format=serialization_format,
                                            skops_trusted_types=skops_trusted_types)
        version = getattr(info, "registered_model_version", None)
        return LoggedModel(run_id=run.info.run_id, model_uri=f"runs:/{run.info.run_id}/model",
                           registered_name=registered_name, version=int(version) if version else None,
                           dataset_digest=dataset.digest, train_csv=train_csv)
