"""Import a model version from MLflow: one core function behind ``xai-gov import mlflow``, the SDK and the API.

    import_mlflow_model(registry=..., request=MlflowImport("models:/credit-risk/3", adverse_class="bad"), ...)

It resolves the model URI in MLflow's registry (or a run), loads the model —
the ``sklearn`` flavour as an sklearn adapter stored through skops with the
trusted types given, the ``python_function`` flavour as a pyfunc adapter (for
the roles that may load pickles), or not at all when ``serve_url`` points at a
scoring endpoint (HTTP adapter, MLflow's protocol) — and fills the lineage from
the run (see ``mlflow_lineage``) with a back-reference to the tracking store, the
run and the registered version. The background sample comes from the run's
logged training dataset when it can be read here, else from the one given.
Everything is checked before anything is written.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from xai_gov.actors import Actor
from xai_gov.auth.permissions import Permission, allowed, holders, require
from xai_gov.errors import InvalidInput, PermissionDenied
from xai_gov.integrations.mlflow_lineage import (
    LoggedDataset,
    RunLineage,
    environment_from_requirements,
    read_dataset_frame,
    read_run,
)
from xai_gov.integrations.mlflow_source import MlflowSource, ModelUri, ResolvedModel
from xai_gov.lineage.capture import build_lineage
from xai_gov.lineage.models import LineageRecord
from xai_gov.registry.adapters import HttpAdapter, ModelAdapter, SklearnAdapter
from xai_gov.registry.declarations import Declarations
from xai_gov.registry.intake import Registration, register
from xai_gov.registry.models import ModelVersion
from xai_gov.registry.schema import FeatureSchema
from xai_gov.registry.service import RegistryService

Flavour = Literal["auto", "sklearn", "pyfunc"]
BACKGROUND_SEED = 0
_PICKLE_FORMATS = frozenset({"pickle", "cloudpickle"})


@dataclass(frozen=True)
class MlflowImport:
    """What to import, and what MLflow cannot say (the adverse class; classes of a served model)."""

    model_uri: str
    tracking_uri: str | None = None           # default: MLFLOW_TRACKING_URI
    name: str | None = None                   # xai-gov model name; default the registered model's name
    adverse_class: str | None = None
    class_names: tuple[str, ...] = ()
    flavour: Flavour = "auto"
    trusted_types: tuple[str, ...] = ()
    serve_url: str | None = None              # a scoring endpoint serving this model (MLflow protocol)
    background: pd.DataFrame | None = None    # used when the run's training dataset cannot be read here
    schema: FeatureSchema | None = None       # default: inferred from the training data (or background)
    target: str | None = None                 # the label column; default: the dataset's column the model lacks
    data_version: str | None = None
    parent_version: str | None = None
    description: str | None = None
    alias: str | None = None
    # What only the bank can say, declared as for any registration (xai_gov.registry.declarations):
    # protected and nullable features, the reason-code map, class labels; and the decision rule's cutoff.
    declarations: Declarations | None = None
    cutoff: float | None = None


def import_mlflow_model(*, registry: RegistryService, request: MlflowImport, actor: Actor,
                        background_rows: int = 200) -> ModelVersion:
    """Register the MLflow model ``request.model_uri`` as the next version of its name, with its lineage."""
    require(actor, Permission.WRITE_MODELS)
    if request.flavour not in ("auto", "sklearn", "pyfunc"):
        raise InvalidInput(f"flavour {request.flavour!r}: use auto, sklearn or pyfunc", field="flavour")
    uri = ModelUri.parse(request.model_uri)
    name = request.name or uri.registered_name
    if not name:
        raise InvalidInput(f"{uri.uri} is not a registered model: name the xai-gov model (--name)", field="name")
    source = MlflowSource(request.tracking_uri)
    resolved = source.resolve(uri)
    run = read_run(source.run(resolved.run_id, uri=uri.uri))
    with tempfile.TemporaryDirectory(prefix="xai-gov-mlflow-") as scratch:
        model_dir = source.download(resolved, Path(scratch))
        mlmodel = _read_mlmodel(model_dir)
        adapter, flavour = _adapter(request, model_dir, mlmodel, actor)
        training = run.training_dataset()
        frame = read_dataset_frame(training) if training is not None else None
        features = _signature_inputs(mlmodel)
        target = _target(request.target, frame, features)
        background = _background(request.background, frame, target, background_rows, training)
        schema = _schema(request, frame, background, target, adapter)
        lineage = _lineage(request, source, resolved, run, training, model_dir, mlmodel, flavour)
    return register(registry, Registration(
        name=name, adapter=adapter, schema=schema, background=background, lineage=lineage,
        declarations=request.declarations, description=request.description, alias=request.alias,
        cutoff=request.cutoff), actor=actor)


# -- the model ------------------------------------------------------------------


def _adapter(request: MlflowImport, model_dir: Path, mlmodel: dict[str, Any],
             actor: Actor) -> tuple[ModelAdapter, str]:
    flavors = mlmodel.get("flavors") or {}
    if request.serve_url:
        return HttpAdapter(request.serve_url, protocol="mlflow"), "served"
    sklearn_flavour = flavors.get("sklearn")
    if sklearn_flavour is not None and request.flavour in ("auto", "sklearn"):
        return _sklearn(model_dir, sklearn_flavour, request.trusted_types, actor), "sklearn"
    if request.flavour == "sklearn":
        raise InvalidInput(f"{request.model_uri} has no sklearn flavour (it has: {', '.join(flavors)})",
                           field="flavour")
    if "python_function" not in flavors:
        raise InvalidInput(f"{request.model_uri} has neither an sklearn nor a python_function flavour (it has: "
                           f"{', '.join(flavors) or 'none'}): serve it and pass its scoring URL (--serve-url)",
                           field="flavour")
    _check_may_load_pickles(actor, f"{request.model_uri} is a python_function model")
    from xai_gov.integrations.mlflow_pyfunc import MlflowPyfuncAdapter

    return MlflowPyfuncAdapter.from_directory(model_dir), "python_function"


def _sklearn(model_dir: Path, flavour: Mapping[str, Any], trusted: Sequence[str], actor: Actor) -> SklearnAdapter:
    serialization = str(flavour.get("serialization_format") or "pickle")
    model_file = model_dir / str(flavour.get("pickled_model") or "")
    if serialization == "skops":
        # Read with xai-gov's own skops check: only default-safe types and those the owner trusts load,
        # whatever MLflow's MLmodel says it trusts. The file is stored exactly as MLflow logged it.
        try:
            data = model_file.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"the sklearn flavour's file {model_file.name} does not read: {exc}",
                               field="model_uri") from exc
        return SklearnAdapter.load(data, serialization="skops", trusted_types=trusted)
    if serialization not in _PICKLE_FORMATS:
        raise InvalidInput(f"unknown sklearn serialization {serialization!r} in the MLmodel file", field="flavour")
    # A pickled sklearn model runs code when loaded: the owner's call. It is then kept as skops.
    _check_may_load_pickles(actor, f"the sklearn flavour is stored with {serialization}")
    import mlflow.sklearn

    try:
        estimator = mlflow.sklearn.load_model(str(model_dir))
    except Exception as exc:  # unpickling raises anything
        raise InvalidInput(f"the MLflow sklearn model does not load: {type(exc).__name__}: {exc}",
                           field="model_uri") from exc
    return SklearnAdapter(estimator, serialization="skops", trusted_types=trusted)


def _check_may_load_pickles(actor: Actor, what: str) -> None:
    if not allowed(actor, Permission.REGISTER_CODE_ARTIFACTS):
        raise PermissionDenied(f"{what}: loading it runs arbitrary code (pickle), which only "
                               f"{holders(Permission.REGISTER_CODE_ARTIFACTS)} may do "
                               f"({actor.name} is {actor.role.value})", field="flavour")


def _read_mlmodel(model_dir: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load((model_dir / "MLmodel").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"the model's MLmodel file does not read: {exc}", field="model_uri") from exc
    return document if isinstance(document, dict) else {}


def _signature_inputs(mlmodel: dict[str, Any]) -> list[str] | None:
    inputs = (mlmodel.get("signature") or {}).get("inputs")
    try:
        columns = json.loads(inputs) if isinstance(inputs, str) else None
    except json.JSONDecodeError:
        return None
    names = [c.get("name") for c in columns or () if isinstance(c, dict)]
    return [str(n) for n in names if n] or None


# -- data: target, background, schema --------------------------------------------


def _target(given: str | None, frame: pd.DataFrame | None, features: list[str] | None) -> str | None:
    if frame is None:
        return given
    if given is not None:
        if given not in frame.columns:
            raise InvalidInput(f"target {given!r} is not a column of the training dataset", field="target")
        return given
    if features is not None:
        extra = [str(c) for c in frame.columns if str(c) not in features]
        if len(extra) == 1:
            return extra[0]
    raise InvalidInput("name the label column of the training dataset (--target): the model's signature does not "
                       "single it out", field="target")


def _background(given: pd.DataFrame | None, frame: pd.DataFrame | None, target: str | None, rows: int,
                training: LoggedDataset | None) -> pd.DataFrame:
    if given is not None:
        return given
    if frame is None:
        why = training.missing if training is not None else "the run logged no training dataset"
        raise InvalidInput(f"no background sample: {why}. Give one (--background, a CSV of training rows)",
                           field="background")
    features = frame.drop(columns=[target]) if target is not None else frame
    return features.sample(n=min(rows, len(features)), random_state=BACKGROUND_SEED).sort_index()


def _schema(request: MlflowImport, frame: pd.DataFrame | None, background: pd.DataFrame, target: str | None,
            adapter: ModelAdapter) -> FeatureSchema:
    if request.schema is not None:
        schema = request.schema
    elif frame is not None and target is not None:
        schema = FeatureSchema.infer(frame.drop(columns=[target]), frame[target], target=target)
    else:
        schema = FeatureSchema.infer(background)
    classes = request.class_names or adapter.class_names() or schema.class_names
    return schema.with_classes(tuple(classes), request.adverse_class or schema.adverse_class)


# -- lineage ------------------------------------------------------------------------


def _lineage(request: MlflowImport, source: MlflowSource, resolved: ResolvedModel, run: RunLineage,
             training: LoggedDataset | None, model_dir: Path, mlmodel: dict[str, Any], flavour: str) -> LineageRecord:
    reasons = dict(run.missing)
    if training is None:
        reasons["data_sha256"] = (f"MLflow run {run.run_id} logged no training dataset" if not run.datasets else
                                  f"MLflow run {run.run_id} logged {len(run.datasets)} datasets, none with "
                                  "context 'training'")
    elif training.data_sha256 is None:
        reasons["data_sha256"] = f"training dataset {training.name!r} (digest {training.digest}): {training.missing}"
    back_reference = {
        "tracking_uri": source.tracking_uri, "run_id": run.run_id, "run_name": run.run_name,
        "experiment_id": run.experiment_id, "model_uri": request.model_uri,
        "registered_model": resolved.registered_name, "model_version": resolved.version,
        "model_source": resolved.source, "logged_model_id": resolved.logged_model_id, "flavour": flavour,
        "source_name": run.source_name, "serve_url": request.serve_url,
    }
    data_uri = str(training.local_path) if training is not None and training.local_path is not None else None
    return build_lineage(
        data_sha256=training.data_sha256 if training else None, data_rows=training.rows if training else None,
        data_source_uri=data_uri or (training.source if training else None), code_path=None,
        repository_url=run.repository, commit=run.commit, trainer=run.trainer,
        training_started_at=run.started_at, training_ended_at=run.ended_at, hyperparameters=run.hyperparameters,
        seeds=run.seeds, metrics=run.metrics, parent_version=request.parent_version,
        environment=environment_from_requirements(model_dir, mlmodel), data_version=request.data_version,
        data_file=training.local_path if training else None,
        mlflow={k: v for k, v in back_reference.items() if v is not None},
        datasets=tuple(d.to_dict() for d in run.datasets), missing_reasons=reasons)
