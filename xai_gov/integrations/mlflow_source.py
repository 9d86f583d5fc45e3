"""Reaching an MLflow tracking store and registry: model URIs, the run behind a model, its files.

Every MLflow call goes through ``MlflowSource``, which checks the tracking URI
first (a SQLite file or a local directory that does not exist is refused, never
created) and turns MLflow's errors into xai-gov's, naming the URI.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from xai_gov.errors import InvalidInput, NotFound, XaiGovError

_MODEL_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)/?$")
_MODEL_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[\w-]+)/?$")
_RUN = re.compile(r"^runs:/(?P<run_id>[0-9a-zA-Z]+)/(?P<path>.+)$")
_LOCK = threading.Lock()
_HTTP_SETTINGS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
                  "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
_RESTORED = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@dataclass(frozen=True)
class ModelUri:
    """A parsed ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``runs:/RUN_ID/PATH``."""

    uri: str
    registered_name: str | None = None
    version: int | None = None
    alias: str | None = None
    run_id: str | None = None
    path: str | None = None

    @classmethod
    def parse(cls, uri: str) -> ModelUri:
        text = uri.strip()
        if match := _MODEL_VERSION.match(text):
            return cls(text, registered_name=match["name"], version=int(match["version"]))
        if match := _MODEL_ALIAS.match(text):
            return cls(text, registered_name=match["name"], alias=match["alias"])
        if match := _RUN.match(text):
            return cls(text, run_id=match["run_id"], path=match["path"].strip("/"))
        raise InvalidInput(f"{uri!r} is not an MLflow model URI: use models:/NAME/VERSION, models:/NAME@ALIAS "
                           "or runs:/RUN_ID/PATH", field="model_uri")


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model URI led: the registry entry (if any), the run, and the URI to download."""

    uri: ModelUri
    run_id: str
    download_uri: str
    registered_name: str | None
    version: int | None
    source: str | None
    logged_model_id: str | None


class MlflowSource:
    """One tracking store (and its registry), reached through MLflow's client."""

    def __init__(self, tracking_uri: str | None) -> None:
        uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            raise InvalidInput("no MLflow tracking URI: pass --tracking-uri (tracking_uri=) or set "
                               "MLFLOW_TRACKING_URI", field="tracking_uri")
        self.tracking_uri = _checked_tracking_uri(uri)
        # MLflow 3 sends usage telemetry to its makers unless told not to; xai-gov talks to nobody
        # but the tracking store it is given (an explicit setting by the user is kept).
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise InvalidInput("importing from MLflow needs the mlflow extra: pip install 'xai-gov[mlflow]'",
                               field="tracking_uri") from exc
        self.client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    @contextmanager
    def using(self) -> Iterator[None]:
        """A remote store asked once, briefly (MLflow retries for minutes by default), quietly; then restored."""
        with _LOCK:  # the settings are process-wide environment variables: imports take turns
            # MLflow's download leaves its registry URI behind in MLFLOW_REGISTRY_URI: put back what was there.
            before = {name: os.environ.get(name) for name in (*_HTTP_SETTINGS, *_RESTORED)}
            os.environ.update(_HTTP_SETTINGS)
            try:
                yield
            finally:
                for name, value in before.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value

    def resolve(self, uri: ModelUri) -> ResolvedModel:
        """The run and registry entry behind a model URI; an unknown one is NotFound naming it."""
        with self.using(), self._errors(uri.uri):
            if uri.run_id is not None:
                self.client.get_run(uri.run_id)
                return ResolvedModel(uri=uri, run_id=uri.run_id, download_uri=uri.uri, registered_name=None,
                                     version=None, source=uri.uri, logged_model_id=None)
            name = uri.registered_name
            assert name is not None  # a models:/ URI always names its registered model (ModelUri.parse)
            if uri.alias is not None:
                entry = self.client.get_model_version_by_alias(name, uri.alias)
            else:
                entry = self.client.get_model_version(name, str(uri.version))
            if not entry.run_id:
                raise InvalidInput(f"MLflow model version {uri.uri} names no run: its lineage cannot be read",
                                   field="model_uri")
            return ResolvedModel(uri=uri, run_id=entry.run_id, download_uri=f"models:/{entry.name}/{entry.version}",
                                 registered_name=entry.name, version=int(entry.version), source=entry.source,
                                 logged_model_id=getattr(entry, "model_id", None))

    def run(self, run_id: str, *, uri: str) -> Any:
        with self.using(), self._errors(uri):
            return self.client.get_run(run_id)

    def download(self, resolved: ResolvedModel, destination: Path) -> Path:
        """The model's directory (with its MLmodel file), downloaded under ``destination``."""
        import mlflow.artifacts

        with self.using(), self._errors(resolved.uri.uri), self._global_uris():
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=resolved.download_uri,
                                                             dst_path=str(destination),
                                                             tracking_uri=self.tracking_uri,
                                                             registry_uri=self.tracking_uri))
        if not (local / "MLmodel").is_file():
            raise InvalidInput(f"{resolved.uri.uri} is not an MLflow model: it has no MLmodel file",
                               field="model_uri")
        return local

    @contextmanager
    def _global_uris(self) -> Iterator[None]:
        """MLflow's process-wide URIs pointed at this store, then put back (call inside ``using``).

        Resolving ``models:/`` while downloading reads the global registry URI whatever
        ``registry_uri`` says, so the globals are set for the download and restored after.
        """
        import mlflow
        from mlflow.tracking._model_registry import utils as registry_utils
        from mlflow.tracking._tracking_service import utils as tracking_utils

        before = (tracking_utils._tracking_uri, registry_utils._registry_uri)
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        try:
            yield
        finally:
            tracking_utils._tracking_uri, registry_utils._registry_uri = before

    @contextmanager
    def _errors(self, uri: str) -> Iterator[None]:
        from mlflow.exceptions import MlflowException

        try:
            yield
        except XaiGovError:
            raise
        except MlflowException as exc:
            code = getattr(exc, "error_code", "")
            message = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0][:300]
            if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
                raise NotFound(f"{uri} is not in the MLflow store at {self.tracking_uri}: {message}",
                               code="mlflow_not_found", field="model_uri") from exc
            raise InvalidInput(f"the MLflow store at {self.tracking_uri} failed on {uri}: {message}",
                               field="tracking_uri") from exc
        except OSError as exc:
            raise InvalidInput(f"cannot read {uri} from the MLflow store at {self.tracking_uri}: {exc}",
                               field="tracking_uri") from exc


def _checked_tracking_uri(uri: str) -> str:
    """A local store must exist already: MLflow would otherwise create an empty one and find nothing."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if path and path != ":memory:" and not Path(unquote(path)).is_file():
            raise InvalidInput(f"MLflow tracking URI {uri}: no such SQLite database {path}", field="tracking_uri")
    elif parsed.scheme in ("", "file"):
        directory = Path(unquote(parsed.path) if parsed.scheme == "file" else uri)
        if not directory.is_dir():
            raise InvalidInput(f"MLflow tracking URI {uri}: no such directory", field="tracking_uri")
    elif parsed.scheme.split("+")[0] not in ("http", "https", "databricks", "postgresql", "mysql", "mssql"):
        raise InvalidInput(f"MLflow tracking URI {uri}: unsupported scheme {parsed.scheme!r}", field="tracking_uri")
    return uri
