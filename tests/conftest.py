"""Shared fixtures: a fresh store per test on SQLite and on PostgreSQL, and small models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.scratch_schema import scratch_schema
from xai_gov.datasets import load_german_credit
from xai_gov.datasets.german_credit import TARGET
from xai_gov.sdk import Client

POSTGRES_URL = os.environ.get("XAI_GOV_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reason() -> str | None:
    """None when the test PostgreSQL answers, else why it does not."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL at {make_url(POSTGRES_URL).render_as_string(hide_password=True)}: {exc}"
    return None


_POSTGRES_UNAVAILABLE = _postgres_reason()


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A URL whose connections live in a fresh schema of their own, dropped afterwards (any fixture scope)."""
    if _POSTGRES_UNAVAILABLE:
        if os.environ.get("CI") == "true":
            pytest.fail(_POSTGRES_UNAVAILABLE)  # CI has the server: a skip would hide a broken suite
        pytest.skip(_POSTGRES_UNAVAILABLE)
    with scratch_schema(POSTGRES_URL, prefix="t") as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections live in a fresh schema of their own, dropped afterwards."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[Client]:
    """A migrated, empty store (SQLite or PostgreSQL) with its own artifact directory."""
    store = Client(home=tmp_path / "home", database_url=database_url)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="session")
def german() -> pd.DataFrame:
    return load_german_credit()


@pytest.fixture(scope="session")
def german_xy(german: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    X = german.drop(columns=[TARGET])
    return X, german[TARGET]


@pytest.fixture(scope="session")
def small_model(german_xy: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    """A quick logistic-regression pipeline on the German data: every type skops trusts by default."""
    X, y = german_xy
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    pipeline = Pipeline([
        ("encode", ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), categorical)],
                                     remainder=StandardScaler())),
        ("classify", LogisticRegression(max_iter=1000)),
    ])
    return pipeline.fit(X, y)
