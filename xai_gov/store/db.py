"""Engine, sessions and migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy
timeout; its transactions begin IMMEDIATE, so concurrent writers queue instead of
failing on a stale read. Migrations are applied on first use
and by ``xai-gov db upgrade``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from prometheus_client import Histogram
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.exc import DataError as SqlDataError
from sqlalchemy.orm import Session, sessionmaker

from xai_gov.errors import InvalidInput, XaiGovError

MIGRATIONS = Path(__file__).parent / "migrations"
#: The PostgreSQL advisory lock the audit ledger takes for each append (xai_gov.store.ledger.ADVISORY_LOCK_KEY).
LEDGER_LOCK_KEY = 0x7861_6967
_LEDGER_LOCK_HELD = "xai_gov.ledger_lock_held"  # session.info: the transaction that holds the ledger's lock

#: How long this process's transactions waited for the ledger's lock: PostgreSQL's advisory lock, taken by every
#: append (the wait includes that statement's round trip); on SQLite, the write lock every transaction takes as
#: it begins (appends and reads alike). The service shows it at /metrics: a lookup's or an explanation's
#: latency that this does not account for is spent elsewhere.
LEDGER_LOCK_WAIT = Histogram("xai_gov_ledger_lock_wait_seconds",
                             "Time a transaction waited for the audit ledger's lock (SQLite: its write lock)",
                             buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                                      30.0), registry=None)


class DatabaseUnavailable(XaiGovError):
    code = "database_unavailable"


class Database:
    """One database: an engine, a session factory, and its migrations."""

    def __init__(self, url: str, *, engine_options: dict[str, Any] | None = None) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise InvalidInput(f"not a database URL: {url!r}", field="database_url") from None
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        options = dict(engine_options or {})
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            options.setdefault("connect_args", {"timeout": 30})
        else:
            options.setdefault("pool_pre_ping", True)
        self.engine: Engine = create_engine(url, **options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite: this process's threads take turns here, waiting as long as it takes, instead of polling
        # SQLite's lock, where a thread starved of CPU could give up after the busy timeout ("database is
        # locked" under load). Other processes still wait on SQLite's lock. PostgreSQL: no lock needed.
        self._local_writers: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.is_sqlite else contextlib.nullcontext())

    @contextmanager
    def session(self, *, serialised: bool = False) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back whole on any error.

        ``serialised``: the transaction first takes the lock the audit ledger's appends take, so a
        check-then-insert inside it (is there an alias row? which version number is next?) cannot
        interleave with another writer's. SQLite's transactions are serialised already (IMMEDIATE).
        A value the database cannot store (PostgreSQL and NUL, a number out of a column's range) is
        refused as bad input, never a crash; the core validates first, this is the last net.
        """
        with self._local_writers:
            yield from self._unit_of_work(serialised)

    def _unit_of_work(self, serialised: bool) -> Iterator[Session]:
        session = self._sessions()
        try:
            if serialised:
                lock_ledger(session)
            yield session
            session.commit()
        except SqlDataError as exc:
            session.rollback()
            raise InvalidInput(f"the database refused a value: {str(exc.orig).splitlines()[0]}",
                               code="unstorable_value") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # -- migrations ---------------------------------------------------------

    def _alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def current_revision(self) -> str | None:
        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except OperationalError as exc:
            raise DatabaseUnavailable(f"cannot reach the database {self.safe_url}: {exc.orig}") from exc

    def is_current(self) -> bool:
        return self.current_revision() == self.head_revision()

    def upgrade(self) -> str | None:
        """Apply every pending migration; return the revision now in force."""
        try:
            with self.engine.begin() as connection:
                config = self._alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise DatabaseUnavailable(f"cannot migrate the database {self.safe_url}: {exc.orig}") from exc
        return self.current_revision()

    def ensure_current(self) -> None:
        if not self.is_current():
            self.upgrade()

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def lock_ledger(session: Session) -> None:
    """Take the ledger's lock until the session's transaction ends: PostgreSQL's transaction-scoped advisory
    lock, asked for once per transaction (a second ask would cost a round trip and change nothing); SQLite's
    transactions begin IMMEDIATE, holding its write lock already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    held = session.info.get(_LEDGER_LOCK_HELD)
    if held is not None and held is session.get_transaction():
        return
    started = time.perf_counter()
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
    LEDGER_LOCK_WAIT.observe(time.perf_counter() - started)
    session.info[_LEDGER_LOCK_HELD] = session.get_transaction()  # a new transaction is a new object


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy's recipe: take transaction control from the driver, so that "begin" below decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    """Every transaction takes SQLite's write lock when it begins, so a transaction that reads the
    ledger's head and then appends cannot be overtaken (transactions are short: work such as
    explaining happens before the session opens)."""
    started = time.perf_counter()
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    LEDGER_LOCK_WAIT.observe(time.perf_counter() - started)
