"""Capture lineage automatically: the code's git checkout, the environment, the run's times.

Whatever cannot be read is reported missing with the reason; nothing is guessed.
"""

from __future__ import annotations

import json
import math
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from xai_gov.lineage.dvc import dvc_version
from xai_gov.lineage.metaflow import metaflow_ids
from xai_gov.lineage.models import NOT_APPROVED, LineageRecord
from xai_gov.timeutil import as_utc, utcnow


@dataclass(frozen=True)
class CodeState:
    repository: str | None
    commit: str | None
    dirty: bool | None
    missing: dict[str, str] = field(default_factory=dict)


def capture_git(path: str | Path) -> CodeState:
    """Remote URL of ``origin``, HEAD commit and dirty flag of the checkout holding ``path``."""
    path = Path(path)
    directory = (path if path.is_dir() else path.parent).resolve()
    if shutil.which("git") is None:
        reason = "git is not installed"
        return CodeState(None, None, None, {"code_repository": reason, "code_commit": reason, "code_dirty": reason})
    commit = _git(directory, "rev-parse", "HEAD")
    if commit is None:
        reason = f"not a git checkout with commits: {directory}"
        return CodeState(None, None, None, {"code_repository": reason, "code_commit": reason, "code_dirty": reason})
    missing: dict[str, str] = {}
    repository = _git(directory, "remote", "get-url", "origin")
    if repository is None:
        repository = None
        missing["code_repository"] = f"the checkout at {directory} has no remote named origin"
    # Untracked files count: training code never committed is exactly what an auditor must see.
    status = _git(directory, "status", "--porcelain")
    dirty = None if status is None else bool(status)
    if dirty is None:
        missing["code_dirty"] = "git status failed"
    return CodeState(repository, commit, dirty, missing)


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def capture_environment() -> dict[str, Any]:
    """Python version, platform, and every installed distribution with its version."""
    packages = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            packages[name.lower()] = distribution.version
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "executable": sys.executable,
            "packages": dict(sorted(packages.items()))}


@dataclass
class TrainingRun:
    """Start and end of a training run, in UTC, recorded around the ``fit``."""

    started_at: datetime | None = None
    ended_at: datetime | None = None


@contextmanager
def training_run() -> Iterator[TrainingRun]:
    """``with xai_gov.training_run() as run: model.fit(X, y)``, then pass ``run=run`` to register."""
    run = TrainingRun(started_at=utcnow())
    try:
        yield run
    finally:
        run.ended_at = utcnow()


def estimator_hyperparameters(estimator: Any) -> dict[str, Any]:
    """An sklearn estimator's parameters that are plain JSON values (nested steps included).

    A float that JSON cannot hold is stored as text: NaN as ``"NaN"``, infinities as
    ``"Infinity"`` / ``"-Infinity"`` (``json_safe``)."""
    get_params = getattr(estimator, "get_params", None)
    if get_params is None:
        return {}
    params = get_params(deep=True)
    return {key: json_safe(value) for key, value in sorted(params.items()) if _is_plain_json(value)}


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (numpy's too) as the text JSON would need: "NaN", "Infinity",
    "-Infinity". Registration stores hyperparameters, seeds and metrics in this form."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def estimator_seeds(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in hyperparameters.items()
            if key.endswith("random_state") and value is not None}


def _is_plain_json(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return True
    if isinstance(value, (list, tuple)):
        try:
            json.dumps(json_safe(value), allow_nan=False)
        except (TypeError, ValueError):
            return False
        return True
    return False


def local_file(uri: str | None) -> Path | None:
    """The local file a data source URI names (a path or file://), else None: DVC is looked up beside it."""
    if not uri:
        return None
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    elif "://" in uri:
        return None
    return Path(uri) if Path(uri).is_file() else None


def build_lineage(
    *,
    data_sha256: str | None,
    data_rows: int | None,
    data_source_uri: str | None = None,
    code_path: str | Path | None = None,
    repository_url: str | None = None,
    commit: str | None = None,
    dirty: bool | None = None,
    trainer: str | None = None,
    run: TrainingRun | None = None,
    training_started_at: datetime | None = None,
    training_ended_at: datetime | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    seeds: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    parent_version: str | None = None,
    environment: Mapping[str, Any] | None = None,
    data_version: str | None = None,
    data_file: str | Path | None = None,
    mlflow: Mapping[str, Any] | None = None,
    datasets: tuple[Mapping[str, Any], ...] = (),
    missing_reasons: Mapping[str, str] | None = None,
) -> LineageRecord:
    """A lineage record from what was given, filling the rest from git and the environment.

    What was given wins over what is read; a field neither given nor readable is
    recorded in ``missing`` with the reason (``missing_reasons`` says why, where the
    caller knows better than "not given"). A local ``data_file`` tracked by DVC adds
    DVC's md5 and path; inside a Metaflow task its ids are recorded.
    """
    if data_version is not None and not str(data_version).strip():
        data_version = None
    dvc = dvc_version(data_file) if data_file is not None and Path(data_file).exists() else None
    flow = metaflow_ids()
    missing: dict[str, str] = {}
    read = capture_git(code_path) if code_path is not None and None in (repository_url, commit, dirty) else None
    if read is not None:
        same_checkout = commit is None or commit == read.commit
        repository_url = repository_url if repository_url is not None else read.repository
        dirty = dirty if dirty is not None else (read.dirty if same_checkout else None)
        commit = commit if commit is not None else read.commit
    for key, value in (("code_repository", repository_url), ("code_commit", commit), ("code_dirty", dirty)):
        if value is None:
            missing[key] = read.missing.get(key, "not given") if read is not None else "no code path or value given"
    started = training_started_at or (run.started_at if run else None)
    ended = training_ended_at or (run.ended_at if run else None)
    given = {
        "data_sha256": data_sha256, "data_rows": data_rows, "data_source_uri": data_source_uri, "trainer": trainer,
        "training_started_at": started, "training_ended_at": ended, "parent_version": parent_version,
    }
    for key, known in given.items():
        if known is None:
            missing[key] = "not given"
    for key, document in (("hyperparameters", hyperparameters), ("seeds", seeds), ("metrics", metrics)):
        if not document:
            missing[key] = "not given"
    missing["approver"] = NOT_APPROVED
    for key, reason in (missing_reasons or {}).items():
        if key in missing:
            missing[key] = reason
    return LineageRecord(
        code_repository=repository_url, code_commit=commit, code_dirty=dirty,
        data_sha256=data_sha256, data_rows=data_rows, data_source_uri=data_source_uri, trainer=trainer,
        training_started_at=as_utc(started) if started else None, training_ended_at=as_utc(ended) if ended else None,
        hyperparameters=json_safe(dict(hyperparameters or {})), seeds=json_safe(dict(seeds or {})),
        metrics=json_safe(dict(metrics or {})),
        environment=dict(environment) if environment is not None else capture_environment(),
        parent_version=parent_version, approver=None, missing=dict(sorted(missing.items())),
        data_version=str(data_version).strip() if data_version is not None else None, mlflow=dict(mlflow or {}),
        datasets=tuple(dict(d) for d in datasets), dvc=dvc.to_dict() if dvc else {},
        metaflow=flow.to_dict() if flow else {},
    )
