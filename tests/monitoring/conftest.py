"""A store with a model and two windows of explained decisions: a reference month and a drifted one."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from xai_gov.config import Settings
from xai_gov.sdk import Client
from xai_gov.timeutil import utcnow

#: Cheap LIME (the engine's bounds allow it): the windows are about inputs and scores, not LIME's precision.
CHEAP = {"lime": {"num_samples": 200, "repeats": 2}}
REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"


def as_entered(row: pd.Series) -> dict[str, Any]:
    return {k: v.item() if hasattr(v, "item") else v for k, v in row.items()}


def explain_rows(client: Client, ref: str, rows: pd.DataFrame, prefix: str) -> None:
    for i in range(len(rows)):
        client.explain(ref, as_entered(rows.iloc[i]), decision_id=f"{prefix}-{i}", methods=["lime"],
                       parameters=CHEAP)


def shifted(rows: pd.DataFrame) -> pd.DataFrame:
    """Longer loans and younger applicants."""
    out = rows.copy()
    out["duration_months"] = np.minimum(out["duration_months"] + 18, 72)
    out["age"] = np.maximum(19, out["age"] - 12)
    return out


@dataclass
class Months:
    client: Client
    ref: str
    boundary: datetime


@pytest.fixture
def months(client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> Months:
    """12 held-out-like applicants explained, then 12 with longer loans and younger applicants."""
    X, y = german_xy
    version = client.register(small_model, X, y, name="credit-risk", adverse_class="bad", trainer="alice",
                              code_path=None, alias="staging")
    explain_rows(client, version.ref, X.sample(12, random_state=1), "REF")
    boundary = utcnow()
    explain_rows(client, version.ref, shifted(X.sample(12, random_state=2)), "NOW")
    return Months(client, version.ref, boundary)


def policy_client(tmp_path: Path, edit: str) -> Client:
    """A SQLite store whose policy is the default with ``edit`` applied (old -> new, separated by '=>')."""
    folder = tmp_path / "policies"
    shutil.copytree(REPO_POLICIES, folder)
    text = (folder / "default.yaml").read_text()
    for change in edit.split(";;"):
        old, new = change.split("=>")
        assert old in text, old
        text = text.replace(old, new)
    (folder / "test.yaml").write_text(text)
    settings = Settings(home=tmp_path / "home", policies_dir=folder, policy="test")
    return Client(settings, database_url=f"sqlite:///{tmp_path / 'store.db'}")
