"""The demo credit model: a gradient-boosted tree ensemble on the German credit data.

String categories are one-hot encoded inside the Pipeline, so the model takes
applicants as entered. Seeds are fixed; the held-out AUC is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from xai_gov.datasets.german_credit import BAD, TARGET, load_german_credit
from xai_gov.lineage.capture import TrainingRun, training_run

SEED = 42
TEST_SIZE = 0.25
HYPERPARAMETERS: dict[str, Any] = {"n_estimators": 300, "learning_rate": 0.05, "max_depth": 3, "subsample": 0.8}
#: skops refuses sklearn's tree node storage unless it is trusted explicitly (see SklearnAdapter).
TRUSTED_TYPES = ("sklearn.tree._tree.Tree",)
#: What counterfactual recourse may not suggest (the bank's choice for the demo): the applicant's history,
#: situation and circumstances. It may suggest a shorter or smaller loan, more savings or a guarantor.
IMMUTABLE = ("credit_history", "purpose", "employment_since", "property", "housing", "job", "dependents",
             "telephone", "other_installment_plans", "residence_since")
#: Existing credits can be paid off, not wished away: recourse only lowers their number.
MONOTONE = {"existing_credits": "decreasing"}


@dataclass(frozen=True)
class TrainedCreditModel:
    pipeline: Pipeline
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    auc: float
    run: TrainingRun


def build_pipeline(categorical: list[str]) -> Pipeline:
    encode = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), categorical)],
                               remainder="passthrough")
    return Pipeline([("encode", encode),
                     ("classify", GradientBoostingClassifier(**HYPERPARAMETERS, random_state=SEED))])


def train_credit_model() -> TrainedCreditModel:
    data = load_german_credit()
    y = data.pop(TARGET)
    X_train, X_test, y_train, y_test = train_test_split(data, y, test_size=TEST_SIZE, stratify=y, random_state=SEED)
    categorical = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
    pipeline = build_pipeline(categorical)
    with training_run() as run:
        pipeline.fit(X_train, y_train)
    bad_column = list(pipeline.classes_).index(BAD)
    auc = float(roc_auc_score(y_test == BAD, pipeline.predict_proba(X_test)[:, bad_column]))
    return TrainedCreditModel(pipeline, X_train, y_train, X_test, y_test, auc, run)


@lru_cache(maxsize=1)
def trained() -> TrainedCreditModel:
    return train_credit_model()


def predict_proba(rows: pd.DataFrame) -> Any:
    """The demo model as a Python function (``xai_gov.examples.credit_model:predict_proba``): the same
    fitted pipeline as the artifact, trained once per process with the same seeds."""
    return trained().pipeline.predict_proba(rows)
