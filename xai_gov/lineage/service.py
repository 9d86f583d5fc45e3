"""Lineage lookups from any side: model version, data hash, code commit, trainer, dates."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from xai_gov.errors import InvalidInput, NotFound
from xai_gov.lineage.models import LineageView
from xai_gov.registry.models import ModelRef
from xai_gov.store import ledger, repos
from xai_gov.store.db import Database
from xai_gov.timeutil import as_utc, format_utc
from xai_gov.validation import check_optional_text

DateField = Literal["registered", "trained"]
_HEX = re.compile(r"^[0-9a-f]+$")


class LineageService:
    def __init__(self, *, database: Database) -> None:
        self.database = database

    def of_version(self, ref: str | ModelRef, *, actor: str) -> LineageView:
        parsed = ModelRef.parse(ref) if isinstance(ref, str) else ref
        with self.database.session() as session:
            version = repos.get_version(session, parsed)
            view = LineageView.of(version)
            record_lookup(session, actor=actor, query={"model": str(parsed)}, views=[view])
            return view

    def find(self, *, data_sha256: str | None = None, commit: str | None = None, trainer: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             date_field: DateField = "registered", mlflow_run_id: str | None = None,
             dataset_digest: str | None = None, actor: str) -> list[LineageView]:
        """Versions matching every filter given. ``since`` is inclusive, ``until`` exclusive.

        ``dataset_digest`` matches any external identifier of the training data (an MLflow dataset
        digest, DVC's md5, a data version); an MLflow run id or a dataset digest that matches no
        version at all is an error naming it, since it was asked about by its exact value.
        """
        check_optional_text(trainer, "trainer", max_length=200)
        check_optional_text(mlflow_run_id, "mlflow_run_id", max_length=200)
        check_optional_text(dataset_digest, "dataset_digest", max_length=200)
        if date_field not in ("registered", "trained"):
            raise InvalidInput(f"date field {date_field!r}: use registered or trained", field="date_field")
        if not any(v is not None for v in (data_sha256, commit, trainer, since, until, mlflow_run_id,
                                           dataset_digest)):
            raise InvalidInput("give at least one of: data hash, commit, trainer, since, until, MLflow run, "
                               "dataset digest", field="filter")
        if since is not None and until is not None and as_utc(since) >= as_utc(until):
            raise InvalidInput("'since' must be before 'until'", field="since")
        query: dict[str, Any] = {"data_sha256": None if data_sha256 is None else normalise_data_hash(data_sha256),
                 "commit": None if commit is None else normalise_commit(commit), "trainer": trainer,
                 "since": None if since is None else as_utc(since), "until": None if until is None else as_utc(until),
                 "date_field": date_field,
                 "mlflow_run_id": None if mlflow_run_id is None else _plain(mlflow_run_id, "mlflow_run_id"),
                 "dataset_digest": None if dataset_digest is None else _plain(dataset_digest, "dataset_digest")}
        with self.database.session() as session:
            for key, what in (("mlflow_run_id", "MLflow run"), ("dataset_digest", "dataset digest")):
                if query[key] is not None and not repos.lineage_where(session, **{key: query[key]}):
                    raise NotFound(f"no registered version was trained from {what} {query[key]!r}",
                                   code=f"{key}_not_found", field=key)
            views = repos.lineage_where(session, **query)
            record_lookup(session, actor=actor, query=query, views=views)
            return views


def normalise_data_hash(value: str) -> str:
    """``sha256:<hex>`` or bare hex -> ``sha256:<hex>``."""
    digest = value.strip().lower().removeprefix("sha256:")
    if len(digest) != 64 or not _HEX.match(digest):
        raise InvalidInput(f"{value!r} is not a data hash (sha256: and 64 hex digits)", field="data_hash")
    return "sha256:" + digest


def _plain(value: str, field: str) -> str:
    text = value.strip()
    if not text or len(text) > 200:
        raise InvalidInput(f"{field} must be 1 to 200 characters", field=field)
    return text


def normalise_commit(value: str) -> str:
    commit = value.strip().lower()
    if not 7 <= len(commit) <= 64 or not _HEX.match(commit):
        raise InvalidInput(f"{value!r} is not a commit (7 to 64 hex digits)", field="commit")
    return commit


def record_lookup(session: Session, *, actor: str, query: dict[str, Any], views: list[LineageView]) -> None:
    """Every lineage lookup is itself recorded in the ledger: who asked what, and what they were shown."""
    shown = {k: format_utc(v) if isinstance(v, datetime) else v for k, v in query.items() if v is not None}
    ledger.append(session, actor=actor, action="lineage.lookup",
                  subject=", ".join(f"{k}={v}" for k, v in shown.items())[:300],
                  payload={"query": shown, "results": [v.ref for v in views]})
