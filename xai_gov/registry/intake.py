"""Registration: what arrives as files or bytes (the CLI's paths, the API's uploads), and the one
function every registration goes through.

One place turns a model source, a schema document, a background CSV and a
lineage document into the adapter, schema, frame and lineage record the
registry takes, so the CLI and the API accept exactly the same things; and
``register`` puts a ``Registration`` together the same way for the SDK, the CLI,
the API and the MLflow import (the classes named, the version registered, the
alias pointed at it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from xai_gov.actors import Actor
from xai_gov.errors import InvalidInput, XaiGovError
from xai_gov.explain.reasons import ReasonMap
from xai_gov.lineage.capture import build_lineage
from xai_gov.lineage.models import LineageRecord
from xai_gov.lineage.service import normalise_data_hash
from xai_gov.registry.adapters import PICKLE_FORMATS, HttpAdapter, ModelAdapter, PythonAdapter, SklearnAdapter
from xai_gov.registry.declarations import Declarations
from xai_gov.registry.models import ModelVersion
from xai_gov.registry.sandbox import PickledArtifact
from xai_gov.registry.schema import FeatureSchema
from xai_gov.registry.service import RegistryService
from xai_gov.timeutil import parse_utc

#: Lineage document keys -> build_lineage arguments (short CLI-style names accepted too).
_LINEAGE_KEYS = {
    "trainer": "trainer", "code_repository": "repository_url", "repository": "repository_url",
    "code_commit": "commit", "commit": "commit", "code_dirty": "dirty", "dirty": "dirty",
    "training_started_at": "training_started_at", "started": "training_started_at",
    "training_ended_at": "training_ended_at", "ended": "training_ended_at",
    "hyperparameters": "hyperparameters", "seeds": "seeds", "metrics": "metrics",
    "data_sha256": "data_sha256", "data_rows": "data_rows", "data_source_uri": "data_source_uri",
    "parent_version": "parent_version", "data_version": "data_version", "environment": "environment",
}


ENVIRONMENT_NOT_SENT = "not sent by the client (the server's own environment is not the training environment)"


@dataclass(frozen=True)
class Registration:
    """One model version to register, whichever surface it came from."""

    name: str
    adapter: ModelAdapter
    schema: FeatureSchema
    background: pd.DataFrame
    lineage: LineageRecord
    declarations: Declarations | None = None
    description: str | None = None
    alias: str | None = None  # pointed at the new version once it is registered
    cutoff: float | None = None  # the decision rule (the registry's default when None)
    class_names: Sequence[str] | None = None  # overrides the schema's, in predict_proba's order
    adverse_class: str | None = None  # overrides the schema's


def register(registry: RegistryService, registration: Registration, *, actor: Actor) -> ModelVersion:
    """Register ``registration`` as the next version of its name (and point its alias at it): the one
    function the SDK, the CLI, the API and the MLflow import register through."""
    r = registration
    schema = r.schema
    if r.class_names is not None or r.adverse_class is not None:
        try:
            schema = schema.with_classes(list(r.class_names) if r.class_names else schema.class_names,
                                         r.adverse_class or schema.adverse_class)
        except XaiGovError as refused:  # the registry ledgers its own refusals; this one comes before it
            registry.record_refused_registration(actor, r.name, refused)
            raise
    version = registry.register(name=r.name, adapter=r.adapter, schema=schema, background=r.background,
                                lineage=r.lineage, actor=actor, description=r.description,
                                declarations=r.declarations, cutoff=r.cutoff)
    if r.alias is not None:
        registry.move_alias(name=r.name, alias=r.alias, version=version.version, actor=actor)
        version = registry.get(version.ref)
    return version


@dataclass(frozen=True)
class ModelSource:
    """Exactly one of: a saved scikit-learn artifact, a Python import path, an HTTP endpoint."""

    artifact: bytes | None = None
    serialization: str = "skops"
    trusted_types: tuple[str, ...] = ()
    python: str | None = None
    http: str | None = None
    protocol: str = "json"
    batch_size: int = 100_000
    timeout: float = 30.0
    retries: int = 2

    def adapter(self) -> ModelAdapter:
        given = [name for name, value in (("artifact", self.artifact), ("python", self.python), ("http", self.http))
                 if value]
        if len(given) != 1:
            raise InvalidInput("give exactly one model source: an artifact, a Python import path or an HTTP URL",
                               field="model")
        if self.artifact is not None:
            if self.serialization not in ("skops", "joblib"):
                raise InvalidInput(f"format {self.serialization!r}: use skops or joblib", field="format")
            if self.serialization in PICKLE_FORMATS:
                # Not unpickled here: registration loads it last, in a separate process (registry.sandbox).
                return PickledArtifact(self.artifact)
            return SklearnAdapter.load(self.artifact, serialization=self.serialization,  # type: ignore[arg-type]
                                       trusted_types=self.trusted_types)
        if self.python is not None:
            return PythonAdapter(self.python)
        return HttpAdapter(self.http or "", protocol=self.protocol, batch_size=self.batch_size,  # type: ignore[arg-type]
                           timeout=self.timeout, retries=self.retries)


def parse_schema(data: bytes, *, source: str = "schema") -> FeatureSchema:
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{source} is not valid JSON: {exc}", field="schema") from exc
    try:
        return FeatureSchema.from_dict(document)
    except InvalidInput as error:
        raise InvalidInput(f"{source}: {error.message}", field=error.field or "schema") from error


def parse_class_labels(items: list[str] | str | None) -> dict[str, str] | None:
    """``["0=repaid", "1=defaulted"]`` or ``"0=repaid,1=defaulted"`` (or a JSON object) -> {class: name}."""
    if not items:
        return None
    if isinstance(items, str):
        if items.strip().startswith("{"):
            try:
                document = json.loads(items)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"class_labels is not valid JSON: {exc}", field="class_labels") from exc
            if not isinstance(document, dict):
                raise InvalidInput("class_labels must be a JSON object", field="class_labels")
            return {str(k): str(v) for k, v in document.items()}
        items = items.split(",")
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidInput(f"class label {item!r} is not CLASS=NAME", field="class_labels")
        out[key.strip()] = value.strip()
    return out


def parse_reason_codes(data: bytes | None, *, source: str = "reason_codes") -> ReasonMap | None:
    """A reason-code map from uploaded YAML or JSON bytes."""
    if not data:
        return None
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source} is not valid YAML or JSON: {exc}", field="reason_codes") from exc
    return ReasonMap.from_document(document, source=source)


def parse_background(data: bytes, *, source: str = "background") -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(data))
    except Exception as exc:  # pandas raises many kinds for a bad CSV
        raise InvalidInput(f"{source} is not a readable CSV: {exc}", field="background") from exc
    if frame.empty:
        raise InvalidInput(f"{source} has no rows", field="background")
    return frame


def background_from_rows(rows: list[dict[str, Any]] | None) -> pd.DataFrame | None:
    """A background sample sent as JSON rows (None when none was sent)."""
    if rows is None:
        return None
    if not rows:
        raise InvalidInput("the background has no rows", field="background")
    return pd.DataFrame.from_records(rows)


def schema_from_document(document: dict[str, Any] | None) -> FeatureSchema | None:
    if document is None:
        return None
    try:
        return FeatureSchema.from_dict(document)
    except InvalidInput as error:
        raise InvalidInput(f"schema: {error.message}", field=error.field or "schema") from error
    except (TypeError, ValueError, AttributeError) as exc:  # a feature that is not an object, a bound not a number
        raise InvalidInput(f"schema: not a feature schema: {exc}", field="schema") from exc


def lineage_from_document(document: dict[str, Any] | None, *, code_path: str | Path | None = None,
                          capture_environment: bool = True) -> LineageRecord:
    """A lineage record from a JSON document of the fields the owner knows; git fills what it can.

    The training environment is the document's ``environment``; without one it is read from this
    process where it is the training machine (the CLI, ``capture_environment``), else recorded as
    missing: a server's own packages say nothing about how the model was trained.
    """
    document = dict(document or {})
    unknown = sorted(set(document) - set(_LINEAGE_KEYS))
    if unknown:
        raise InvalidInput(f"unknown lineage field {unknown[0]!r}; known: {', '.join(sorted(_LINEAGE_KEYS))}",
                           field=unknown[0])
    arguments: dict[str, Any] = {_LINEAGE_KEYS[key]: value for key, value in document.items()}
    for key in ("training_started_at", "training_ended_at"):
        if key in arguments:
            arguments[key] = parse_utc(arguments[key], field=key)
    if arguments.get("data_sha256") is not None:
        arguments["data_sha256"] = normalise_data_hash(str(arguments["data_sha256"]))
    for key in ("hyperparameters", "seeds", "metrics", "environment"):
        if key in arguments and not isinstance(arguments[key], dict):
            raise InvalidInput(f"lineage {key} must be an object", field=key)
    if "data_rows" in arguments and arguments["data_rows"] is not None:
        try:
            arguments["data_rows"] = int(arguments["data_rows"])
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput("lineage data_rows must be a whole number", field="data_rows") from None
        if not 0 <= arguments["data_rows"] <= 2**62:
            raise InvalidInput("lineage data_rows must be a whole number from 0 to 2**62", field="data_rows")
    sent_environment = bool(arguments.get("environment"))
    if not sent_environment and not capture_environment:
        arguments["environment"] = {}
    lineage = build_lineage(data_sha256=arguments.pop("data_sha256", None),
                            data_rows=arguments.pop("data_rows", None), code_path=code_path, **arguments)
    if not lineage.environment:
        missing = {**lineage.missing, "environment": ENVIRONMENT_NOT_SENT}
        lineage = replace(lineage, missing=dict(sorted(missing.items())))
    return lineage


def parse_lineage(data: bytes | None) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"lineage is not valid JSON: {exc}", field="lineage") from exc
    if not isinstance(document, dict):
        raise InvalidInput("lineage must be a JSON object", field="lineage")
    return document
