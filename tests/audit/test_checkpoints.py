"""Checkpoints outside the database: the schedule, the files, and verify's warnings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from xai_gov.audit.autosign import AutoCheckpointer
from xai_gov.audit.checkpoints import Checkpoint, CheckpointFiles, CheckpointSchedule
from xai_gov.audit.signing import create_signing_key
from xai_gov.cli import app
from xai_gov.config import Settings
from xai_gov.errors import InvalidInput
from xai_gov.sdk import Client
from xai_gov.store.orm import AuditCheckpointRow
from xai_gov.timeutil import utcnow


def lookups(client: Client, n: int) -> None:
    """n ledger events that write no record (lineage lookups)."""
    for _ in range(n):
        client.lineage_by_trainer("nobody")


@pytest.fixture
def scheduled(database_url: str, tmp_path: Path) -> Iterator[Client]:
    settings = Settings(home=tmp_path / "home", database_url=database_url, checkpoint_every_events=5,
                        checkpoint_every_minutes=60, checkpoint_max_lag_events=8)
    client = Client(settings)
    client.create_signing_key()
    yield client
    client.close()


def test_the_service_signs_every_n_events_and_appends_to_a_file(scheduled: Client) -> None:
    signer = AutoCheckpointer(scheduled.audit, poll_seconds=60)
    lookups(scheduled, 4)
    assert signer.run_once() is None  # 4 < 5 events and not an hour old
    lookups(scheduled, 1)
    first = signer.run_once()
    assert first is not None and first.seq == 5
    assert signer.run_once() is None  # only the checkpoint's own event since
    lookups(scheduled, 5)
    second = signer.run_once()
    assert second is not None and second.seq == 11
    files = CheckpointFiles(scheduled.settings.resolved_checkpoint_dir).read()
    assert [c for _, c in files] == [first, second]
    report = scheduled.verify_ledger(checkpoints=scheduled.settings.resolved_checkpoint_dir)
    assert report.ok and report.checkpoint_files == 2 and report.warnings == ()


def test_the_schedule_also_signs_after_m_minutes() -> None:
    schedule = CheckpointSchedule(every_events=100, every_minutes=15)
    now = utcnow()
    newest = Checkpoint(1, 10, "a" * 64, now - timedelta(minutes=16), "x", "k", "s")
    assert schedule.due(head_seq=13, newest=newest, first_event_at=None, now=now)
    assert not schedule.due(head_seq=11, newest=newest, first_event_at=None, now=now)  # only its own event
    assert not schedule.due(head_seq=13, newest=newest, first_event_at=None, now=now - timedelta(minutes=2))
    assert schedule.due(head_seq=1, newest=None, first_event_at=now - timedelta(minutes=20), now=now)
    assert not schedule.due(head_seq=0, newest=None, first_event_at=None, now=now)


def test_verify_warns_without_a_checkpoint_and_when_the_head_is_too_far_past(scheduled: Client) -> None:
    lookups(scheduled, 2)
    report = scheduled.verify_ledger()
    assert report.ok and "no signed checkpoint" in report.warnings[0]
    scheduled.checkpoint()
    assert scheduled.verify_ledger().warnings == ()
    lookups(scheduled, 9)
    report = scheduled.verify_ledger()
    assert report.ok and "10 events past the newest checkpoint" in report.warnings[0]


def test_cli_exit_status_distinguishes_warning_from_problem(scheduled: Client) -> None:
    runner = CliRunner()
    where = ["--home", str(scheduled.settings.home), "--database-url", scheduled.settings.database_url or ""]
    lookups(scheduled, 1)
    warned = runner.invoke(app, [*where, "audit", "verify"])
    assert warned.exit_code == 3 and "WARNING" in warned.output
    scheduled.checkpoint()
    directory = str(scheduled.settings.resolved_checkpoint_dir)
    verified = runner.invoke(app, [*where, "audit", "verify", "--artifacts", "--checkpoints", directory])
    assert verified.exit_code == 0, verified.output
    assert "1 checkpoint(s) from files verified" in verified.output
    with scheduled.database.session() as session:
        session.execute(delete(AuditCheckpointRow))
    failed = runner.invoke(app, [*where, "audit", "verify"])
    assert failed.exit_code == 1 and "FAILED (deleted, checkpoint 1; fields: row)" in failed.output


def test_a_forged_or_broken_checkpoint_file_is_named(scheduled: Client, tmp_path: Path) -> None:
    lookups(scheduled, 1)
    signed = scheduled.checkpoint()
    directory = scheduled.settings.resolved_checkpoint_dir
    path = next(directory.glob("checkpoints-*.jsonl"))
    forged = {**signed.to_dict(), "head_hash": "f" * 64}
    path.write_text(path.read_text() + json.dumps(forged) + "\n")
    report = scheduled.verify_ledger(checkpoints=directory)
    assert report.problem is not None and (report.problem.kind, report.problem.subject) == (
        "bad_signature", f"checkpoint {signed.id}")
    path.write_text("not json\n")
    with pytest.raises(InvalidInput, match=f"{path.name}:1 is not a checkpoint line"):
        scheduled.verify_ledger(checkpoints=directory)
    with pytest.raises(InvalidInput, match="no checkpoint directory"):
        scheduled.verify_ledger(checkpoints=tmp_path / "absent")


def test_files_are_checked_with_the_trusted_key_only(scheduled: Client, tmp_path: Path) -> None:
    lookups(scheduled, 1)
    scheduled.checkpoint()
    other = tmp_path / "other.pem"
    create_signing_key(other)
    report = scheduled.verify_ledger(public_key=other, checkpoints=scheduled.settings.resolved_checkpoint_dir)
    assert report.problem is not None and report.problem.kind == "bad_signature"


def test_a_scheduled_checkpoint_checks_the_events_after_the_newest(scheduled: Client) -> None:
    """The schedule verifies the events after the newest checkpoint: a changed one is not signed, on the
    schedule or on demand, and signing resumes once the chain holds again."""
    from sqlalchemy import select, update

    from xai_gov.store.orm import AuditEventRow

    signer = AutoCheckpointer(scheduled.audit, poll_seconds=60)
    lookups(scheduled, 5)
    first = signer.run_once()
    assert first is not None
    lookups(scheduled, 5)
    changed = AuditEventRow.seq == first.seq + 3
    with scheduled.database.session() as session:
        subject = session.scalar(select(AuditEventRow.subject).where(changed))
        session.execute(update(AuditEventRow).where(changed).values(subject="trainer=somebody"))
    assert signer.run_once() is None
    assert signer.last_error is not None and f"event {first.seq + 3}" in signer.last_error
    with pytest.raises(InvalidInput, match="does not verify"):
        scheduled.checkpoint()
    with scheduled.database.session() as session:
        session.execute(update(AuditEventRow).where(changed).values(subject=subject))
    assert signer.run_once() is not None and scheduled.verify_ledger().ok
