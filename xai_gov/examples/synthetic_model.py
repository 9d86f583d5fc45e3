"""The second example model: logistic regression on the synthetic credit data.

A different family from the demo's gradient-boosted trees (so SHAP takes the
model-agnostic path on every registration path), missing values handled inside
the Pipeline (a missing income is imputed *and* flagged, so "no income declared"
can be a reason; a missing housing status is its own category), string
categories one-hot encoded, integer classes 0 / 1 named "repaid" / "defaulted".
Its own reason-code map ships beside this module; ``Age`` and ``Marital`` are
declared protected. ``predict_proba`` is the same fitted model as a Python
function (``xai_gov.examples.synthetic_model:predict_proba``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from xai_gov.datasets.synthetic_credit import CATEGORICAL, LABELS, NUMERIC, TARGET, generate

SEED = 7
HYPERPARAMETERS: dict[str, Any] = {"C": 1.0, "max_iter": 1000}
CLASS_LABELS = {"0": "repaid", "1": "defaulted"}
ADVERSE_CLASS = "1"
PROTECTED = ("Age", "Marital")
NULLABLE = ("Income", "Housing")
#: Past late payments cannot be undone; years with the employer only grow.
IMMUTABLE = ("LatePayments",)
MONOTONE = {"EmploymentYears": "increasing"}
#: skops 0.16 does not trust numpy.dtype by default; SimpleImputer keeps one (a plain dtype, no code).
TRUSTED_TYPES = ("numpy.dtype",)


def reason_codes_path() -> Path:
    return Path(str(resources.files("xai_gov.examples") / "synthetic_reason_codes.yaml"))


@dataclass(frozen=True)
class TrainedSyntheticModel:
    pipeline: Pipeline
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    auc: float


def build_pipeline() -> Pipeline:
    numbers = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    categories = make_pipeline(SimpleImputer(strategy="constant", fill_value="not given"),
                               OneHotEncoder(handle_unknown="ignore"))
    encode = ColumnTransformer([("numbers", numbers, list(NUMERIC)), ("categories", categories, list(CATEGORICAL))])
    return Pipeline([("encode", encode), ("classify", LogisticRegression(**HYPERPARAMETERS, random_state=SEED))])


def train_synthetic_model() -> TrainedSyntheticModel:
    data = generate()
    y = data.pop(TARGET)
    X_train, X_test, y_train, y_test = train_test_split(data, y, test_size=0.25, stratify=y, random_state=SEED)
    pipeline = build_pipeline().fit(X_train, y_train)
    auc = float(roc_auc_score(y_test, pipeline.predict_proba(X_test)[:, 1]))
    return TrainedSyntheticModel(pipeline, X_train, y_train, X_test, y_test, auc)


@lru_cache(maxsize=1)
def trained() -> TrainedSyntheticModel:
    return train_synthetic_model()


def predict_proba(rows: pd.DataFrame) -> np.ndarray:
    """The fitted example model as a Python function (trained once per process, deterministically)."""
    return trained().pipeline.predict_proba(rows)


__all__ = ["LABELS", "TrainedSyntheticModel", "predict_proba", "train_synthetic_model", "trained"]
