from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from xai_gov.lineage.capture import build_lineage, capture_environment, capture_git, training_run


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "training-code"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "owner@bank.example")
    git(repo, "config", "user.name", "Owner")
    (repo / "train.py").write_text("print('fit')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-qm", "train")
    git(repo, "remote", "add", "origin", "https://git.bank.example/risk/credit.git")
    return repo


def test_git_state_is_read_from_the_checkout(checkout: Path) -> None:
    state = capture_git(checkout / "train.py")
    assert state.commit == git(checkout, "rev-parse", "HEAD")
    assert state.repository == "https://git.bank.example/risk/credit.git"
    assert state.dirty is False
    assert state.missing == {}


def test_uncommitted_and_untracked_code_is_dirty(checkout: Path) -> None:
    (checkout / "features.py").write_text("x = 1\n")
    assert capture_git(checkout).dirty is True


def test_outside_a_checkout_git_fields_are_missing_with_the_reason(tmp_path: Path) -> None:
    record = build_lineage(data_sha256=None, data_rows=None, code_path=tmp_path)
    assert record.code_commit is None and record.code_repository is None and record.code_dirty is None
    assert record.missing["code_commit"] == f"not a git checkout with commits: {tmp_path.resolve()}"


def test_given_values_win_and_nothing_is_invented(checkout: Path) -> None:
    record = build_lineage(data_sha256="sha256:" + "a" * 64, data_rows=10, code_path=checkout,
                           commit="0123456789abcdef0123456789abcdef01234567", trainer="alice")
    assert record.code_commit == "0123456789abcdef0123456789abcdef01234567"
    assert record.code_repository == "https://git.bank.example/risk/credit.git"
    assert record.code_dirty is None  # the given commit is not the checkout's HEAD: its state is unknown
    assert set(record.missing) == {"code_dirty", "data_source_uri", "training_started_at", "training_ended_at",
                                   "hyperparameters", "seeds", "metrics", "parent_version", "approver"}


def test_training_run_records_utc_start_and_end() -> None:
    before = datetime.now(UTC)
    with training_run() as run:
        pass
    assert run.started_at is not None and run.ended_at is not None
    assert before <= run.started_at <= run.ended_at <= datetime.now(UTC)
    record = build_lineage(data_sha256=None, data_rows=None, run=run)
    assert record.training_started_at == run.started_at
    assert "training_started_at" not in record.missing


def test_environment_lists_python_and_packages() -> None:
    environment = capture_environment()
    assert environment["python"].count(".") == 2
    assert "scikit-learn" in environment["packages"] and "pandas" in environment["packages"]
