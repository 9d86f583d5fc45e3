"""A PostgreSQL schema of one's own: the tests' fixtures and the benches store into one and drop it after.

Plain Python (no pytest), so a bench script can use it as the fixtures do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_schema(postgres_url: str, *, prefix: str) -> Iterator[str]:
    """A URL whose connections live in a new schema (``prefix`` and a random suffix) of the database
    ``postgres_url`` names; the schema and everything in it are dropped when the block ends."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    try:
        yield make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()
