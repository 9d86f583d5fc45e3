"""An attacker with write access to the database (and the artifact directory): each tamper of issue 11,
on SQLite and PostgreSQL, is caught by verify and named (record, field, kind); resolution refuses it."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, StreamObject
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sqlalchemy import delete, insert, select, update

from tests.conftest import fresh_postgres_schema
from xai_gov.actors import Actor, Role
from xai_gov.errors import IntegrityError, Unauthenticated
from xai_gov.sdk import Client
from xai_gov.store.orm import (
    AliasRow,
    ApiKeyRow,
    ArtifactRow,
    AuditCheckpointRow,
    AuditEventRow,
    Base,
    ExplanationRow,
    ModelVersionRow,
    RegisteredModelRow,
)
from xai_gov.timeutil import utcnow

QUICK = {"lime": {"num_samples": 200, "repeats": 2}}
ADMIN = Actor("root", Role.ADMIN)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, small_model: Pipeline,
          german_xy: tuple[pd.DataFrame, pd.Series]) -> Iterator[dict[str, Any]]:
    """Built once per database: two models, aliases, explanations, keys, an export, a lookup, a signed
    checkpoint; then a snapshot of every table and file, which ``store`` restores before each test."""
    home = tmp_path_factory.mktemp("tamper") / "home"
    with ExitStack() as stack:
        url = (f"sqlite:///{home.parent / 'store.db'}" if request.param == "sqlite"
               else stack.enter_context(fresh_postgres_schema()))
        client = Client(home=home, database_url=url)
        stack.callback(client.close)
        facts = _build(client, small_model, german_xy)
        with client.database.engine.connect() as connection:
            tables = {t.name: [dict(r) for r in connection.execute(select(t)).mappings()]
                      for t in Base.metadata.sorted_tables}
        shutil.copytree(home, home.parent / "snapshot")
        yield {**facts, "home": home, "url": url, "tables": tables}


def _build(client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> dict[str, Any]:
    X, y = german_xy
    client.create_signing_key()
    started = datetime(2026, 11, 1, 9, tzinfo=UTC)
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", trainer="alice", code_path=None,
                    commit="0123456789abcdef0123456789abcdef01234567", repository_url="https://git.example/credit",
                    training_started_at=started, training_ended_at=started + timedelta(minutes=5),
                    metrics={"auc": 0.8}, seeds={"split": 7}, code_dirty=False, alias="staging")
    client.approve("credit-risk@1", actor=Actor("ada", Role.APPROVER))  # the production gate's second person
    client.move_alias("credit-risk", "production", 1)
    other = clone(small_model).set_params(classify__C=0.02).fit(X, y)
    client.register(other, X, y, name="other-model", adverse_class="bad", trainer="bob", code_path=None)
    applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[0].items()}
    first = client.explain("credit-risk@staging", applicant, decision_id="D-1", methods=["lime"], parameters=QUICK)
    client.explain("other-model@1", applicant, decision_id="D-2", methods=["lime"], parameters=QUICK)
    officer, officer_key = client.keys.create(name="olga", role="officer", actor=ADMIN)
    revoked, _ = client.keys.create(name="rex", role="auditor", actor=ADMIN)
    client.keys.revoke(key_id=revoked.id, actor=ADMIN)
    records_end = client.audit_events(limit=1000)[-1].seq
    pdf = client.export_decision(first.id)
    client.lineage_by_trainer("alice")
    checkpoint = client.checkpoint()
    report = client.verify_ledger(artifacts=True, checkpoints=client.settings.resolved_checkpoint_dir)
    assert report.ok and report.warnings == (), report
    return {"first": first, "officer": officer, "officer_key": officer_key, "revoked": revoked, "pdf": pdf,
            "checkpoint": checkpoint, "records_end": records_end, "applicant": applicant}


@pytest.fixture
def store(built: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The built store as it was, with a fresh client (no model cached, no file hash remembered)."""
    home: Path = built["home"]
    shutil.rmtree(home)
    shutil.copytree(home.parent / "snapshot", home)
    client = Client(home=home, database_url=built["url"])
    with client.database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))
        for table in Base.metadata.sorted_tables:
            if built["tables"][table.name]:
                connection.execute(insert(table), built["tables"][table.name])
    try:
        assert client.verify_ledger().ok
        yield {**built, "client": client}
    finally:
        client.close()


def named(client: Client, **options: Any) -> tuple[str, str, tuple[str, ...]]:
    report = client.verify_ledger(**options)
    assert not report.ok and report.problem is not None, report
    return report.problem.kind, report.problem.subject, report.problem.fields


def version_id(client: Client, name: str, version: int = 1) -> int:
    with client.database.session() as session:
        return session.scalar(select(ModelVersionRow.id).join(RegisteredModelRow)
                              .where(RegisteredModelRow.name == name, ModelVersionRow.version == version))


# -- alias pointers -------------------------------------------------------------


@pytest.mark.parametrize("alias", ["staging", "production"])
def test_alias_pointed_at_another_models_version(store: dict[str, Any], alias: str) -> None:
    client: Client = store["client"]
    target = version_id(client, "other-model")
    with client.database.session() as session:
        session.execute(update(AliasRow).where(AliasRow.alias == alias).values(model_version_id=target))
    assert named(client) == ("changed", f"alias credit-risk@{alias}", ("model_version_id",))
    assert "points to other-model@1" in client.verify_ledger().problem.message
    with pytest.raises(IntegrityError, match=f"credit-risk@{alias} points to other-model@1") as refused:
        client.explain(f"credit-risk@{alias}", store["applicant"], decision_id="D-9", methods=["lime"],
                       parameters=QUICK)
    assert refused.value.code == "alias_pointer_changed"


def test_alias_created_outside_the_ledger(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    target = version_id(client, "other-model")
    with client.database.session() as session:
        model_id = session.scalar(select(RegisteredModelRow.id).where(RegisteredModelRow.name == "other-model"))
        session.add(AliasRow(model_id=model_id, alias="production", model_version_id=target))
    assert named(client) == ("inserted", "alias other-model@production", ("model_version_id",))


# -- explanation lookup columns -------------------------------------------------------


@pytest.mark.parametrize(("column", "value"), [("model_version_id", None), ("decision_id", "D-999"),
                                               ("requested_by", "mallory"), ("instance_sha256", "0" * 64)])
def test_explanation_lookup_column_changed(store: dict[str, Any], column: str, value: Any) -> None:
    client: Client = store["client"]
    value = version_id(client, "other-model") if value is None else value  # before the session: SQLite locks
    with client.database.session() as session:
        session.execute(update(ExplanationRow).where(ExplanationRow.id == store["first"].id).values({column: value}))
    assert named(client) == ("changed", f"explanation {store['first'].id}", (column,))
    if column != "decision_id":  # lineage --decision refuses rather than answer with another model
        with pytest.raises(IntegrityError, match=column) as refused:
            client.lineage_by_decision("D-1")
        assert refused.value.code == "explanation_changed"


def test_explanation_time_column_changed(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    with client.database.session() as session:
        session.execute(update(ExplanationRow).where(ExplanationRow.id == store["first"].id)
                        .values(requested_at=utcnow()))
    assert named(client) == ("changed", f"explanation {store['first'].id}", ("requested_at",))


# -- API keys -----------------------------------------------------------------------


@pytest.mark.parametrize(("column", "value"), [("role", "admin"), ("key_sha256", "ab" * 32), ("name", "eve")])
def test_key_field_changed(store: dict[str, Any], column: str, value: str) -> None:
    client: Client = store["client"]
    officer = store["officer"]
    with client.database.session() as session:
        session.execute(update(ApiKeyRow).where(ApiKeyRow.id == officer.id).values({column: value}))
    assert named(client) == ("changed", f"key {officer.prefix}", (column,))
    with pytest.raises(Unauthenticated) as refused:  # the service refuses the key rather than trust the row
        client.keys.authenticate(store["officer_key"])
    assert refused.value.code == ("unauthenticated" if column == "key_sha256" else "key_tampered")


def test_revoked_key_unrevoked(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    revoked = store["revoked"]
    with client.database.session() as session:
        session.execute(update(ApiKeyRow).where(ApiKeyRow.id == revoked.id).values(revoked_at=None, revoked_by=None))
    assert named(client) == ("changed", f"key {revoked.prefix}", ("revoked_at",))


def test_key_inserted_outside_the_ledger(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    with client.database.session() as session:
        session.add(ApiKeyRow(prefix="abcdefgh", key_sha256="cd" * 32, name="backdoor", role="admin",
                              created_at=utcnow(), created_by="nobody"))
    assert named(client)[:2] == ("inserted", "key abcdefgh")


# -- model versions: artifact and background hashes, and the files ----------------------


def test_artifact_file_replaced_on_disk(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    mine, theirs = client.get_model("credit-risk@1"), client.get_model("other-model@1")
    assert mine.artifact_sha256 and theirs.artifact_sha256 and mine.artifact_sha256 != theirs.artifact_sha256
    # The model is loaded (a running service caches it); then its file is overwritten in place.
    client.explain("credit-risk@1", store["applicant"], decision_id="D-3", methods=["lime"], parameters=QUICK)
    target = client.artifacts.path(mine.artifact_sha256)
    target.write_bytes(client.artifacts.path(theirs.artifact_sha256).read_bytes())
    assert client.verify_ledger().ok  # the database itself is intact ...
    assert named(client, artifacts=True) == ("changed", "model version credit-risk@1", ("artifact_file",))
    with pytest.raises(IntegrityError, match="changed on disk") as refused:  # ... and the cached model is refused
        client.explain("credit-risk@1", store["applicant"], decision_id="D-4", methods=["lime"], parameters=QUICK)
    assert refused.value.code == "artifact_hash_mismatch"


def test_artifact_file_deleted(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    client.artifacts.path(client.get_model("other-model@1").artifact_sha256 or "").unlink()
    assert named(client, artifacts=True) == ("deleted", "model version other-model@1", ("artifact_file",))


def test_artifact_swapped_with_its_hash_in_the_database(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    theirs = client.get_model("other-model@1").artifact_sha256
    target = version_id(client, "credit-risk")
    with client.database.session() as session:
        session.execute(update(ModelVersionRow).where(ModelVersionRow.id == target)
                        .values(artifact_sha256=theirs))
    assert named(client) == ("changed", "model version credit-risk@1", ("artifact_sha256",))
    with pytest.raises(IntegrityError, match="artifact_sha256") as refused:  # a fresh process refuses too
        fresh = Client(home=client.settings.home, database_url=client.settings.database_url)
        try:
            fresh.explain("credit-risk@1", store["applicant"], decision_id="D-5", methods=["lime"], parameters=QUICK)
        finally:
            fresh.close()
    assert refused.value.code == "model_version_changed"


def test_background_hash_changed(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    target = version_id(client, "credit-risk")
    with client.database.session() as session:
        session.add(ArtifactRow(sha256="e" * 64, kind="background", media_type="text/csv", size=1,
                                created_at=utcnow()))
        session.flush()
        session.execute(update(ModelVersionRow).where(ModelVersionRow.id == target)
                        .values(background_sha256="e" * 64))
    assert named(client) == ("changed", "model version credit-risk@1", ("background_sha256",))


# -- checkpoints ----------------------------------------------------------------------


def test_checkpoint_row_deleted(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    with client.database.session() as session:
        session.execute(delete(AuditCheckpointRow))
    assert named(client) == ("deleted", f"checkpoint {store['checkpoint'].id}", ("row",))


def test_tail_checkpoint_event_deleted(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    with client.database.session() as session:
        session.execute(delete(AuditEventRow).where(AuditEventRow.action == "checkpoint.signed"))
    assert named(client) == ("deleted", f"checkpoint {store['checkpoint'].id}", ("event",))


def test_checkpoint_row_changed_to_match_nothing(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    with client.database.session() as session:
        session.execute(update(AuditCheckpointRow).values(signed_by="mallory"))
    assert named(client) == ("changed", f"checkpoint {store['checkpoint'].id}", ("signed_by",))


def test_checkpoint_row_and_its_event_deleted_caught_by_the_files(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    with client.database.session() as session:
        session.execute(delete(AuditEventRow).where(AuditEventRow.action == "checkpoint.signed"))
        session.execute(delete(AuditCheckpointRow))
    report = client.verify_ledger()
    assert report.ok and report.warnings and "no signed checkpoint" in report.warnings[0]
    files = client.settings.resolved_checkpoint_dir
    assert named(client, checkpoints=files) == ("deleted", f"checkpoint {store['checkpoint'].id}", ("row",))


def test_chain_truncated_before_the_signed_head_caught_by_the_files(store: dict[str, Any], tmp_path: Path) -> None:
    client: Client = store["client"]
    copied = tmp_path / "auditor-copy"
    shutil.copytree(client.settings.resolved_checkpoint_dir, copied)  # what an auditor keeps
    with client.database.session() as session:  # drop the export, the lookup and the checkpoint
        session.execute(delete(AuditEventRow).where(AuditEventRow.seq > store["records_end"]))
        session.execute(delete(AuditCheckpointRow))
    assert client.verify_ledger().ok  # the database alone is consistent
    assert named(client, checkpoints=copied) == ("truncated", f"checkpoint {store['checkpoint'].id}", ("seq",))


# -- documents --------------------------------------------------------------------------


def _edit_text(pdf: bytes, old: bytes, new: bytes) -> bytes:
    """Replace words in the first page's content stream; the embedded record.json stays as it was."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    page = writer.pages[0]
    contents = page.get_contents()
    assert contents is not None
    data = contents.get_data()
    assert old in data, "the words to edit are not on page 1"
    stream = StreamObject()
    stream.set_data(data.replace(old, new))
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_packet_with_edited_text_fails_verify(store: dict[str, Any]) -> None:
    client: Client = store["client"]
    pdf = store["pdf"]
    check = client.verify_packet(pdf)
    assert check.ok and check.file_status == "exported"
    assert check.signature is not None and check.signature.valid and "xai-gov document signing" in (
        check.signature.signer or "")
    assert check.message.startswith(f"this exact file was exported by {check.exported_by} at {check.exported_at} "
                                    f"(ledger event {check.export_seq})")
    edited = _edit_text(pdf, b"Decision packet", b"Approved packet")
    assert "Approved packet" in PdfReader(io.BytesIO(edited)).pages[0].extract_text()
    check = client.verify_packet(edited)
    assert not check.ok and check.file_status == "changed_after_export" and check.differences == ("file", "signature")
    assert "changed after export" in check.message and "its embedded record still matches" in check.message
    assert check.signature is not None and check.signature.status == "invalid"


def test_packet_from_another_store_is_not_exported(store: dict[str, Any], tmp_path: Path, small_model: Pipeline,
                                                  german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    elsewhere = Client(home=tmp_path / "elsewhere")
    try:
        elsewhere.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None)
        record = elsewhere.explain("credit-risk@1", store["applicant"], decision_id="D-1", methods=["lime"],
                                   parameters=QUICK)
        foreign = elsewhere.export_decision(record.id)
    finally:
        elsewhere.close()
    check = store["client"].verify_packet(foreign)
    assert not check.ok and check.file_status == "not_exported"
    assert "not exported from this store" in check.message
    assert check.signature is not None and check.signature.status == "invalid"  # another store's key
    assert "not with this store's certificate" in check.signature.message
