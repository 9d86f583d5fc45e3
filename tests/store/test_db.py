from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from xai_gov.sdk import Client
from xai_gov.store.db import Database


def test_first_use_applies_every_migration(client: Client) -> None:
    assert client.database.current_revision() == client.database.head_revision()
    tables = set(inspect(client.database.engine).get_table_names())
    assert {"registered_models", "model_versions", "lineage_records", "model_aliases", "alias_events",
            "artifacts", "alembic_version"} <= tables


def test_upgrade_is_idempotent(client: Client) -> None:
    assert client.database.upgrade() == client.database.head_revision()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'new' / 'x.db'}")
    database.upgrade()
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()
