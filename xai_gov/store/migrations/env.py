"""Alembic environment: runs on the connection ``Database.upgrade`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from xai_gov.store.orm import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # plain `alembic` command line, e.g. for `alembic revision --autogenerate`
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("set sqlalchemy.url in alembic.ini, or run migrations through Database.upgrade")
        engine = create_engine(url)
        with engine.begin() as own_connection:
            _run(own_connection)
        return
    _run(connection)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
