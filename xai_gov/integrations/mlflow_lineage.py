"""An MLflow run, read into the pieces of a lineage record.

Everything MLflow keeps about the run that lineage has a place for: the code
commit and repository (source tags), the trainer (``mlflow.user``), start and
end, the params typed back where they parse, the metrics, the logged input
datasets, and the model's own requirements as its environment. A field MLflow
does not have is recorded missing with the reason; nothing is guessed.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pandas as pd

from xai_gov.lineage.datahash import hash_frame, read_table

COMMIT_TAG = "mlflow.source.git.commit"
REPO_TAGS = ("mlflow.source.git.repoURL", "mlflow.gitRepoURL")
SOURCE_NAME_TAG = "mlflow.source.name"
USER_TAG = "mlflow.user"
CONTEXT_TAG = "mlflow.data.context"
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")
_SEED_KEYS = ("random_state", "seed", "random_seed")


@dataclass(frozen=True)
class LoggedDataset:
    """One input dataset the run logged, and what could be read of its data here."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: dict[str, Any] | None
    profile: dict[str, Any] | None
    context: str | None
    local_path: Path | None = None     # the data's file, when its source is a file reachable from here
    data_sha256: str | None = None     # xai-gov's canonical hash of that file
    rows: int | None = None
    missing: str | None = None         # why the data could not be read, when it could not

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "digest": self.digest, "source_type": self.source_type, "source": self.source,
               "schema": self.schema, "profile": self.profile, "context": self.context,
               "data_sha256": self.data_sha256, "rows": self.rows}
        if self.missing:
            out["missing"] = self.missing
        return out


@dataclass(frozen=True)
class RunLineage:
    """Lineage fields read from one MLflow run (``missing`` says why a field is absent)."""

    run_id: str
    run_name: str | None
    experiment_id: str
    repository: str | None
    commit: str | None
    source_name: str | None
    trainer: str | None
    started_at: datetime | None
    ended_at: datetime | None
    hyperparameters: dict[str, Any]
    seeds: dict[str, Any]
    metrics: dict[str, Any]
    datasets: tuple[LoggedDataset, ...]
    missing: dict[str, str] = field(default_factory=dict)

    def training_dataset(self) -> LoggedDataset | None:
        """The dataset logged with context "training", else the only dataset logged."""
        training = [d for d in self.datasets if d.context == "training"]
        if training:
            return training[0]
        return self.datasets[0] if len(self.datasets) == 1 else None


def read_run(run: Any) -> RunLineage:
    """Lineage fields from an ``mlflow.entities.Run``."""
    info, data = run.info, run.data
    tags: dict[str, str] = dict(data.tags)
    missing: dict[str, str] = {}
    commit = tags.get(COMMIT_TAG) or None
    if commit is None:
        missing["code_commit"] = (f"MLflow run {info.run_id} has no {COMMIT_TAG} tag: it was not started from "
                                  "a git checkout, or the tag was not logged")
    repository = next((tags[t] for t in REPO_TAGS if tags.get(t)), None)
    source_name = tags.get(SOURCE_NAME_TAG) or None
    if repository is None:
        missing["code_repository"] = (f"MLflow run {info.run_id} has no {REPO_TAGS[0]} tag"
                                      + (f"; its source is {source_name}" if source_name else ""))
    missing["code_dirty"] = "MLflow does not record whether the checkout had uncommitted changes"
    trainer = tags.get(USER_TAG) or getattr(info, "user_id", None) or None
    if trainer is None:
        missing["trainer"] = f"MLflow run {info.run_id} has no {USER_TAG} tag"
    started = _from_millis(info.start_time)
    ended = _from_millis(info.end_time)
    if ended is None:
        missing["training_ended_at"] = f"MLflow run {info.run_id} has not ended (status {info.status})"
    hyperparameters = {key: typed_param(value) for key, value in sorted(data.params.items())}
    seeds = {key: value for key, value in hyperparameters.items()
             if key.rsplit(".", 1)[-1].rsplit("__", 1)[-1] in _SEED_KEYS and isinstance(value, int)}
    if not seeds:
        missing["seeds"] = f"MLflow run {info.run_id} logged no param named like random_state or seed"
    datasets = tuple(_dataset(item) for item in (getattr(getattr(run, "inputs", None), "dataset_inputs", None) or ()))
    return RunLineage(run_id=info.run_id, run_name=getattr(info, "run_name", None), experiment_id=info.experiment_id,
                      repository=repository, commit=commit, source_name=source_name, trainer=trainer,
                      started_at=started, ended_at=ended, hyperparameters=hyperparameters, seeds=seeds,
                      metrics=dict(sorted(data.metrics.items())), datasets=datasets, missing=missing)


def typed_param(value: str) -> Any:
    """An MLflow param (always a string) back as the Python literal it was, where it parses.

    ``"300"`` -> 300, ``"0.05"`` -> 0.05, ``"True"`` -> True, ``"None"`` -> None,
    ``"[1, 2]"`` -> [1, 2]; anything else (``"log_loss"``, ``"nan"``) stays a string.
    Only literals are parsed (``ast.literal_eval``): nothing is executed.
    """
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text in ("None", "null"):
        return None
    if len(text) > 10_000:
        return value
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value
    try:
        json.dumps(parsed, allow_nan=False)  # keep only what lineage can store as JSON
    except (TypeError, ValueError):
        return value
    return list(parsed) if isinstance(parsed, tuple) else parsed


def read_dataset_frame(dataset: LoggedDataset) -> pd.DataFrame | None:
    """The dataset's rows when its source is a local file, else None."""
    return read_table(dataset.local_path) if dataset.local_path is not None else None


def _dataset(item: Any) -> LoggedDataset:
    dataset = item.dataset
    context = next((tag.value for tag in (item.tags or ()) if tag.key == CONTEXT_TAG), None)
    base = {"name": dataset.name, "digest": dataset.digest, "source_type": dataset.source_type,
            "source": dataset.source, "schema": _json(dataset.schema), "profile": _json(dataset.profile),
            "context": context}
    path, reason = _local_file(dataset.source_type, dataset.source)
    if path is None:
        return LoggedDataset(**base, missing=reason)
    try:
        frame = read_table(path)
        digest = hash_frame(frame)
    except Exception as exc:  # a file that does not read as a table: recorded, not fatal
        return LoggedDataset(**base, local_path=None, missing=f"{path} does not read as a table: {exc}")
    return LoggedDataset(**base, local_path=path, data_sha256=digest, rows=len(frame))


def _local_file(source_type: str, source: str) -> tuple[Path | None, str]:
    """The local file a dataset source names, or None and why not."""
    try:
        document = json.loads(source) if source else {}
    except json.JSONDecodeError:
        document = {"uri": source}
    uri = document.get("uri") or document.get("path") if isinstance(document, dict) else None
    if not uri:
        return None, f"the dataset's source ({source_type}) names no file: {source[:200]}"
    parsed = urlparse(str(uri))
    if parsed.scheme not in ("", "file"):
        return None, f"the dataset's source {uri} is not reachable from here (only local files are read)"
    path = Path(unquote(parsed.path) if parsed.scheme == "file" else str(uri))
    if not path.is_file():
        return None, f"the dataset's source file {path} does not exist here"
    return path, ""


def _json(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"text": text[:2000]}
    return value if isinstance(value, dict) else {"value": value}


def _from_millis(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)


def environment_from_requirements(model_dir: Path, mlmodel: dict[str, Any]) -> dict[str, Any]:
    """The model's environment as MLflow logged it: requirements.txt, python_env.yaml, MLmodel versions."""
    import yaml

    requirements: list[str] = []
    path = model_dir / "requirements.txt"
    if path.is_file():
        requirements = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                        if line.strip() and not line.lstrip().startswith("#")]
    packages = {}
    for line in requirements:
        match = _REQUIREMENT.match(line)
        if match:
            packages[match.group(1).lower().replace("_", "-")] = match.group(2)
    python = None
    env_file = model_dir / "python_env.yaml"
    if env_file.is_file():
        try:
            python = (yaml.safe_load(env_file.read_text(encoding="utf-8")) or {}).get("python")
        except yaml.YAMLError:
            python = None
    flavors = mlmodel.get("flavors") or {}
    python = python or (flavors.get("python_function") or {}).get("python_version")
    if mlmodel.get("mlflow_version"):
        packages.setdefault("mlflow", str(mlmodel["mlflow_version"]))
    sklearn_version = (flavors.get("sklearn") or {}).get("sklearn_version")
    if sklearn_version:
        packages.setdefault("scikit-learn", str(sklearn_version))
    return {"source": "the MLflow model's requirements.txt and MLmodel", "python": python,
            "packages": dict(sorted(packages.items())), "requirements": requirements}
