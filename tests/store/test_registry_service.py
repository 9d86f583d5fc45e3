"""Registry service on SQLite and PostgreSQL: numbering, lookups, aliases, and nothing written on bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sqlalchemy import func, select

from xai_gov.actors import Actor, Role
from xai_gov.auth.permissions import GRANTS, Permission
from xai_gov.errors import IntegrityError, InvalidInput, ModelCheckFailed, NotFound, PermissionDenied, SchemaMismatch
from xai_gov.registry.adapters import PythonAdapter, SklearnAdapter
from xai_gov.registry.schema import FeatureSchema
from xai_gov.sdk import Client
from xai_gov.store.orm import ArtifactRow, LineageRow, ModelVersionRow, RegisteredModelRow

OWNER = Actor("olivia", Role.OWNER)


def register(client: Client, model: Pipeline, X: pd.DataFrame, y: pd.Series, **kwargs: object):  # type: ignore[no-untyped-def]
    defaults: dict[str, object] = {"name": "credit-risk", "adverse_class": "bad", "trainer": "alice",
                                   "code_path": None, "actor": OWNER}
    return client.register(model, X, y, **{**defaults, **kwargs})


def stored_counts(client: Client) -> dict[str, int]:
    with client.database.session() as session:
        counts = {row.__tablename__: session.scalar(select(func.count()).select_from(row)) or 0
                  for row in (RegisteredModelRow, ModelVersionRow, LineageRow, ArtifactRow)}
    counts["files"] = len(list(client.artifacts.root.glob("*"))) if client.artifacts.root.exists() else 0
    return counts


def test_versions_are_numbered_per_name_and_found_by_version_alias_and_latest(
        client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    first = register(client, small_model, X, y)
    second = register(client, small_model, X, y, alias="champion", parent_version="credit-risk@1")
    other = register(client, small_model, X, y, name="fraud")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert client.get_model("credit-risk@1").lineage == first.lineage
    assert client.get_model("credit-risk@champion").version == 2
    assert client.get_model("credit-risk").version == 2
    assert second.lineage.parent_version == "credit-risk@1"
    assert [s.to_dict()["latest_version"] for s in client.list_models()] == [2, 1]
    assert [v.version for v in client.list_versions("credit-risk")] == [1, 2]


def test_registered_version_keeps_artifact_background_and_schema(
        client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    version = register(client, small_model, X, y)
    assert version.schema.class_names == ("bad", "good") and version.schema.adverse_class == "bad"
    assert version.background_rows == 200
    background = client.registry.load_background(version)
    assert list(background.columns) == list(X.columns) and len(background) == 200
    adapter = client.load_model(version.ref)
    np.testing.assert_array_equal(adapter.predict_proba(X.head(20)), small_model.predict_proba(X.head(20)))
    assert version.lineage.data_rows == 1000 and version.lineage.trainer == "alice"
    assert version.lineage.hyperparameters["classify__max_iter"] == 1000


def test_alias_moves_are_recorded_with_who_and_when(
        client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    register(client, small_model, X, y)
    register(client, small_model, X, y)
    client.move_alias("credit-risk", "champion", 1, actor=OWNER)
    move = client.move_alias("credit-risk", "champion", 2, actor=Actor("oscar", Role.OWNER))
    assert (move.from_version, move.to_version, move.actor) == (1, 2, "oscar")
    history = client.alias_history("credit-risk")
    assert [(m.alias, m.from_version, m.to_version, m.actor) for m in history] == [
        ("champion", None, 1, "olivia"), ("champion", 1, 2, "oscar")]
    assert client.get_model("credit-risk@champion").version == 2
    with pytest.raises(PermissionDenied):
        client.move_alias("credit-risk", "champion", 1, actor=Actor("otto", Role.OFFICER))


@pytest.mark.parametrize(("ref", "code"), [
    ("nothing@1", "model_not_found"), ("credit-risk@9", "version_not_found"), ("credit-risk@prod", "alias_not_found")])
def test_unknown_model_version_or_alias_is_named(client: Client, small_model: Pipeline,
                                                 german_xy: tuple[pd.DataFrame, pd.Series], ref: str,
                                                 code: str) -> None:
    register(client, small_model, *german_xy)
    with pytest.raises(NotFound) as caught:
        client.get_model(ref)
    assert caught.value.code == code


def test_alias_on_a_missing_version_writes_nothing(client: Client, small_model: Pipeline,
                                                   german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    register(client, small_model, *german_xy)
    with pytest.raises(NotFound, match="has no version 5"):
        client.move_alias("credit-risk", "champion", 5, actor=OWNER)
    assert client.alias_history("credit-risk") == []


@pytest.mark.parametrize("case", ["schema_mismatch", "wrong_shape", "raises", "no_adverse_class", "untrusted",
                                  "pickle_by_admin", "unknown_parent"])
def test_bad_registrations_write_nothing(client: Client, small_model: Pipeline,
                                         german_xy: tuple[pd.DataFrame, pd.Series], case: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = german_xy
    before = stored_counts(client)
    expected: dict[str, tuple[type[Exception], str]] = {
        "schema_mismatch": (SchemaMismatch, "missing columns \\['age'\\]"),
        "wrong_shape": (ModelCheckFailed, "returned shape"),
        "raises": (ModelCheckFailed, "feature store unavailable"),
        "no_adverse_class": (InvalidInput, "name the adverse class"),
        "untrusted": (InvalidInput, "sklearn.tree._tree.Tree"),
        "pickle_by_admin": (PermissionDenied, "only the owner role"),
        "unknown_parent": (NotFound, "parent version credit-risk@7: no model named 'credit-risk'"),
    }
    error, words = expected[case]
    with pytest.raises(error, match=words):
        if case == "schema_mismatch":
            schema = FeatureSchema.infer(X, y, adverse_class="bad")
            register(client, small_model, X, y, schema=schema, background=X.drop(columns=["age"]).head(20))
        elif case in ("wrong_shape", "raises"):
            function = "one_column" if case == "wrong_shape" else "crashes"
            register(client, PythonAdapter(f"tests.registry.fixtures_models:{function}"), X, y,
                     class_names=["bad", "good"])
        elif case == "no_adverse_class":
            register(client, small_model, X, y, adverse_class=None)
        elif case == "untrusted":
            from sklearn.ensemble import RandomForestClassifier
            forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X.select_dtypes("number"), y)
            register(client, forest, X.select_dtypes("number"), y)
        elif case == "pickle_by_admin":
            # A bank that lets admins register models still keeps pickles to the owner (its own grant).
            monkeypatch.setitem(GRANTS, Permission.WRITE_MODELS, frozenset({Role.OWNER, Role.ADMIN}))
            register(client, SklearnAdapter(small_model, serialization="joblib"), X, y,
                     actor=Actor("ada", Role.ADMIN))
        else:
            register(client, small_model, X, y, parent_version="credit-risk@7")
    assert stored_counts(client) == before


def test_a_changed_artifact_is_refused_on_load(client: Client, small_model: Pipeline,
                                               german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    version = register(client, small_model, *german_xy)
    assert version.artifact_sha256 is not None
    path: Path = client.artifacts.path(version.artifact_sha256)
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(IntegrityError, match=f"artifact {version.artifact_sha256} has been changed") as caught:
        client.load_model(version.ref)
    assert caught.value.code == "artifact_hash_mismatch"


def test_joblib_models_are_hash_checked_and_owner_only(client: Client, small_model: Pipeline,
                                                       german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    version = register(client, small_model, *german_xy, serialization="joblib")
    assert version.adapter_spec["serialization"] == "joblib"
    assert client.load_model(version.ref).predict_proba(german_xy[0].head(3)).shape == (3, 2)


def test_concurrent_registrations_get_distinct_numbers(client: Client, small_model: Pipeline,
                                                       german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    with ThreadPoolExecutor(max_workers=4) as pool:
        versions = list(pool.map(lambda _: register(client, small_model, X, y).version, range(6)))
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]


def test_production_needs_the_lineage_the_policy_requires(client: Client, small_model: Pipeline,
                                                          german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    from datetime import UTC, datetime

    from xai_gov.policies.evaluate import PolicyViolation

    X, y = german_xy
    bare = register(client, small_model, X, y)
    with pytest.raises(PolicyViolation, match="credit-risk@1 may not take the production alias: policy 'default' "
                       "requires lineage it lacks: code_repository, code_commit, training_started_at, "
                       "training_ended_at, seeds, metrics; whether the code was committed is not recorded; "
                       "no second person approved it") as caught:
        client.move_alias("credit-risk", "production", bare.version, actor=OWNER)
    assert caught.value.field == "code_repository"
    assert client.alias_history("credit-risk") == []
    complete = register(client, small_model, X, y, repository_url="https://git.bank.example/risk.git",
                        commit="a" * 40, code_dirty=False, metrics={"auc": 0.8}, seeds={"split": 42},
                        training_started_at=datetime(2026, 11, 1, tzinfo=UTC),
                        training_ended_at=datetime(2026, 11, 1, 1, tzinfo=UTC))
    client.approve(complete.ref, actor=Actor("ada", Role.APPROVER))
    assert client.move_alias("credit-risk", "production", complete.version, actor=OWNER).to_version == 2
