"""The Python SDK: a ``Client`` over one data directory or database, and module-level shortcuts.

    import xai_gov
    version = xai_gov.register(pipeline, X_train, y_train, name="credit-risk", trainer="alice",
                               adverse_class="bad", run=run, metrics={"auc": 0.79})
    xai_gov.lineage("credit-risk@1")
    xai_gov.lineage_by_data_hash(version.lineage.data_sha256)

The CLI and the API call the same services, so all three answer the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from xai_gov.actors import Actor, Role
from xai_gov.audit.checkpoints import CheckpointSchedule
from xai_gov.audit.service import AuditService, Checkpoint, VerifyReport
from xai_gov.audit.signing import create_signing_key
from xai_gov.auth.keys import KeyService
from xai_gov.batch.jobs import BatchJobs
from xai_gov.batch.rows import BatchRow, read_decisions
from xai_gov.batch.runners import make_runner
from xai_gov.batch.service import BatchProgress, BatchSummary, explain_batch
from xai_gov.config import Settings
from xai_gov.errors import InvalidInput
from xai_gov.explain.engine import ExplainOptions, Progress
from xai_gov.explain.pool import ExplainPool
from xai_gov.explain.reasons import REASON_CODES_FILE, ReasonMap
from xai_gov.explain.records import ExplanationRecord
from xai_gov.explain.service import ExplanationService, ReplayReport
from xai_gov.lineage.capture import (
    TrainingRun,
    build_lineage,
    estimator_hyperparameters,
    estimator_seeds,
    local_file,
)
from xai_gov.lineage.datahash import hash_frame
from xai_gov.lineage.models import LineageRecord, LineageView
from xai_gov.lineage.service import DateField, LineageService
from xai_gov.monitoring.models import MonitoringReport
from xai_gov.monitoring.service import MonitoringService
from xai_gov.policies.fair_use import check_explanation_cost
from xai_gov.policies.models import load_policy
from xai_gov.registry.adapters import ModelAdapter, PythonAdapter, Serialization, SklearnAdapter
from xai_gov.registry.artifacts import ArtifactStore
from xai_gov.registry.declarations import Declarations
from xai_gov.registry.intake import Registration
from xai_gov.registry.intake import register as register_version
from xai_gov.registry.models import AliasMove, ModelSummary, ModelVersion
from xai_gov.registry.schema import FeatureSchema
from xai_gov.registry.service import RegistryService
from xai_gov.reports.service import PacketCheck, PacketService
from xai_gov.reports.signing import DocumentSigner
from xai_gov.store.db import Database
from xai_gov.store.ledger import AuditEvent

BACKGROUND_SEED = 0


class Client:
    """Everything xai-gov keeps, in one data directory (SQLite) or one PostgreSQL database."""

    def __init__(self, settings: Settings | None = None, *, home: str | Path | None = None,
                 database_url: str | None = None, migrate: bool = True) -> None:
        settings = settings or Settings()
        overrides: dict[str, Any] = {}
        if home is not None:
            overrides["home"] = Path(home)
        if database_url is not None:
            overrides["database_url"] = database_url
        self.settings = settings.model_copy(update=overrides)
        self.database = Database(self.settings.resolved_database_url)
        if migrate:
            self.database.ensure_current()
        # The policy and the reason map are read and validated now: a bad file fails at start, named.
        self.policy = load_policy(self.settings.policy_file)
        self.reason_map = ReasonMap.load(self.settings.resolved_policies_dir / REASON_CODES_FILE)
        self.artifacts = ArtifactStore(self.settings.artifacts_dir)
        self.registry = RegistryService(database=self.database, artifacts=self.artifacts, policy=self.policy,
                                        reason_map=self.reason_map, sandbox_seconds=self.settings.sandbox_seconds)
        self.lineage_service = LineageService(database=self.database)
        pool = ExplainPool(self.settings.explain_workers) if self.settings.explain_workers else None
        self.explanations = ExplanationService(database=self.database, registry=self.registry,
                                               reason_map=self.reason_map, policy=self.policy, pool=pool)
        self.registry.trial, self.registry.adopt = self.explanations.trial, self.explanations.adopt
        self.batch_jobs = BatchJobs(self.explanations, runner=lambda: make_runner(workers=self.settings.batch_workers))
        schedule = CheckpointSchedule(every_events=self.settings.checkpoint_every_events,
                                      every_minutes=self.settings.checkpoint_every_minutes,
                                      max_lag_events=self.settings.checkpoint_max_lag_events)
        self.monitoring = MonitoringService(database=self.database, registry=self.registry,
                                            explanations=self.explanations, policy=self.policy)
        self.audit = AuditService(database=self.database, signing_key_path=self.settings.signing_key_path,
                                  artifacts=self.artifacts, checkpoint_dir=self.settings.resolved_checkpoint_dir,
                                  schedule=schedule)
        self.keys = KeyService(database=self.database)
        rights = self.settings.resolved_policies_dir / self.settings.applicant_rights
        self.packets = PacketService(database=self.database, registry=self.registry, explanations=self.explanations,
                                     reason_map=self.reason_map, applicant_rights=rights,
                                     signer=DocumentSigner(self.settings.signing_key_path.parent),
                                     notice_settings=self.settings.resolved_policies_dir / self.settings.notice,
                                     monitoring=self.monitoring)

    # -- monitoring -----------------------------------------------------------------

    def monitor(self, ref: str, *, since: datetime | None = None, until: datetime | None = None,
                reference_since: datetime | None = None, reference_until: datetime | None = None,
                actor: Actor | None = None) -> MonitoringReport:
        """Monitor ``ref`` over its stored decisions in ``[since, until)``: input, prediction, explanation and
        trust drift, fair-lending metrics; the run is stored and recorded in the ledger. The reference window
        for explanation and trust drift is every earlier decision unless ``reference_since/until`` say."""
        return self.monitoring.run(ref, since=since, until=until, reference_since=reference_since,
                                   reference_until=reference_until, actor=actor or Actor.local_auditor())

    def monitoring_run(self, run_id: str, *, actor: Actor | None = None) -> MonitoringReport:
        return self.monitoring.get(run_id, actor=actor or Actor.local_auditor())

    def monitoring_runs(self, ref: str, *, limit: int = 20, actor: Actor | None = None) -> list[MonitoringReport]:
        """The version's stored monitoring runs, newest first."""
        return self.monitoring.runs(ref, limit=limit, actor=actor or Actor.local_auditor())

    # -- packets ------------------------------------------------------------------

    def export_decision(self, explanation_id: str, *, actor: Actor | None = None) -> bytes:
        """The decision packet (PDF bytes); the export is recorded in the ledger."""
        return self.packets.decision(explanation_id, actor=actor or Actor.local_auditor())

    def export_notice(self, explanation_id: str, *, actor: Actor | None = None) -> bytes:
        """The adverse action notice for the applicant (PDF bytes; an adverse decision only); recorded."""
        return self.packets.notice(explanation_id, actor=actor or Actor.local_auditor())

    def export_model(self, ref: str, *, actor: Actor | None = None) -> bytes:
        return self.packets.model(ref, actor=actor or Actor.local_auditor())

    def verify_packet(self, pdf: bytes) -> PacketCheck:
        return self.packets.verify(pdf)

    def bootstrap_admin_key(self) -> str | None:
        """The first admin key, created when none exists (``xai-gov init``); None when one exists."""
        if self.keys.has_admin():
            return None
        _, secret = self.keys.create(name="first admin", role="admin", actor=Actor("xai-gov init", Role.ADMIN))
        return secret

    # -- the audit ledger ---------------------------------------------------------

    def create_signing_key(self) -> bool:
        """Create the checkpoint signing key (outside the database) unless it exists."""
        return create_signing_key(self.settings.signing_key_path)

    def verify_ledger(self, *, public_key: Path | None = None, artifacts: bool = False,
                      checkpoints: Path | None = None) -> VerifyReport:
        """Verify the chain and every record it covers; ``artifacts`` re-hashes the stored files;
        ``checkpoints`` is a directory of checkpoint files (copied out of the store) to verify against."""
        return self.audit.verify(public_key_path=public_key, artifacts=artifacts, checkpoint_dir=checkpoints)

    def checkpoint(self, *, actor: Actor | None = None) -> Checkpoint:
        return self.audit.checkpoint(actor=actor or Actor.local_owner())

    def audit_events(self, *, after: int = 0, limit: int = 100) -> list[AuditEvent]:
        return self.audit.events(after=after, limit=limit)

    def close(self) -> None:
        self.batch_jobs.close()
        if self.explanations.pool is not None:
            self.explanations.pool.close()
        self.database.dispose()

    # -- registration ---------------------------------------------------------

    def register(
        self,
        model: Any,
        X_train: pd.DataFrame,
        y_train: Iterable[Any] | None = None,
        *,
        name: str,
        adverse_class: str | None = None,
        trainer: str | None = None,
        class_names: Sequence[str] | None = None,
        schema: FeatureSchema | None = None,
        labels: Mapping[str, str] | None = None,
        background: pd.DataFrame | None = None,
        serialization: Serialization = "skops",
        trusted_types: Sequence[str] = (),
        run: TrainingRun | None = None,
        training_started_at: datetime | None = None,
        training_ended_at: datetime | None = None,
        code_path: str | Path | None = ".",
        repository_url: str | None = None,
        commit: str | None = None,
        code_dirty: bool | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        seeds: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        parent_version: str | None = None,
        data_source_uri: str | None = None,
        data_version: str | None = None,
        description: str | None = None,
        alias: str | None = None,
        actor: Actor | None = None,
        protected: Sequence[str] | None = None,
        not_protected: Sequence[str] | None = None,
        nullable: Sequence[str] | None = None,
        reason_codes: ReasonMap | Mapping[str, Any] | str | Path | None = None,
        protected_override: str | None = None,
        class_labels: Mapping[Any, str] | None = None,
        cutoff: float | None = None,
        immutable: Sequence[str] | None = None,
        monotone: Mapping[str, str] | str | None = None,
    ) -> ModelVersion:
        """Register ``model`` as the next version of ``name``, capturing its lineage.

        ``model`` is a fitted scikit-learn estimator or Pipeline, an import path
        ``"package.module:function"``, or a ``ModelAdapter`` (e.g. ``HttpAdapter``).
        The training data (``X_train`` with ``y_train`` as a column) is hashed
        canonically; a background sample of ``settings.background_rows`` rows is
        drawn from it unless one is given. Git state is read from ``code_path``
        (default: the current directory) unless ``commit`` (and ``code_dirty``) are given. ``data_version``
        is any data-version string (DVC md5, lakeFS commit, Delta version); a local
        ``data_source_uri`` tracked by DVC also records DVC's md5 and path. ``cutoff`` is
        the bank's decision rule: decline when P(adverse_class) >= cutoff (0 < cutoff < 1,
        default 0.5).

        Declared with the version (see ``xai_gov.registry.declarations``): ``protected``
        and ``not_protected`` feature names (the policy's list is only the default, and a
        feature that looks like a protected attribute must be declared, or registered
        with ``protected_override`` saying why); ``nullable`` features; ``reason_codes``
        (a YAML/JSON file or a document: a statement per feature, or ``never_reason``);
        ``class_labels`` such as ``{0: "repaid", 1: "defaulted"}``; for counterfactual recourse,
        ``immutable`` features (never changed) and ``monotone`` ones (``{"EmploymentYears": "increasing"}``).
        """
        if not isinstance(X_train, pd.DataFrame):
            raise InvalidInput("X_train must be a pandas DataFrame with named columns", field="X_train")
        adapter = as_adapter(model, serialization=serialization, trusted_types=trusted_types)
        target = _target_name(y_train, schema)
        if schema is None:
            schema = FeatureSchema.infer(X_train, y_train, adverse_class=adverse_class, labels=labels, target=target)
        elif labels:
            schema = schema.with_labels(labels)
        training = X_train if y_train is None else X_train.assign(**{target: list(y_train)})
        if background is None:
            size = min(self.settings.background_rows, len(X_train))
            background = X_train.sample(n=size, random_state=BACKGROUND_SEED).sort_index()
        found_params = estimator_hyperparameters(getattr(adapter, "estimator", None))
        hyperparameters = {**found_params, **(hyperparameters or {})}
        lineage = build_lineage(
            data_sha256=hash_frame(training), data_rows=len(training), data_source_uri=data_source_uri,
            code_path=code_path, repository_url=repository_url, commit=commit, dirty=code_dirty, trainer=trainer,
            run=run,
            training_started_at=training_started_at, training_ended_at=training_ended_at,
            hyperparameters=hyperparameters, seeds={**estimator_seeds(found_params), **(seeds or {})},
            metrics=metrics, parent_version=parent_version, data_version=data_version,
            data_file=local_file(data_source_uri),
        )
        declarations = Declarations.build(protected=protected, not_protected=not_protected, nullable=nullable,
                                          reason_codes=reason_codes, protected_override=protected_override,
                                          class_labels=class_labels, immutable=immutable, monotone=monotone)
        return register_version(self.registry, Registration(
            name=name, adapter=adapter, schema=schema, background=background, lineage=lineage,
            declarations=declarations, description=description, alias=alias, cutoff=cutoff, class_names=class_names,
            adverse_class=adverse_class), actor=actor or Actor.local_owner())

    def register_adapter(self, *, name: str, adapter: ModelAdapter, schema: FeatureSchema, background: pd.DataFrame,
                         lineage: LineageRecord, description: str | None = None, alias: str | None = None,
                         actor: Actor | None = None, declarations: Declarations | None = None,
                         cutoff: float | None = None) -> ModelVersion:
        """Register a ready adapter with a ready lineage record."""
        return register_version(self.registry, Registration(
            name=name, adapter=adapter, schema=schema, background=background, lineage=lineage,
            declarations=declarations, description=description, alias=alias, cutoff=cutoff),
            actor=actor or Actor.local_owner())

    def import_mlflow(self, model_uri: str, *, tracking_uri: str | None = None, name: str | None = None,
                      adverse_class: str | None = None, class_names: Sequence[str] = (),
                      flavour: Literal["auto", "sklearn", "pyfunc"] = "auto", trusted_types: Sequence[str] = (),
                      serve_url: str | None = None, background: pd.DataFrame | None = None,
                      schema: FeatureSchema | None = None, target: str | None = None,
                      data_version: str | None = None, parent_version: str | None = None,
                      description: str | None = None, alias: str | None = None,
                      actor: Actor | None = None, protected: Sequence[str] | None = None,
                      not_protected: Sequence[str] | None = None, nullable: Sequence[str] | None = None,
                      reason_codes: ReasonMap | Mapping[str, Any] | str | Path | None = None,
                      protected_override: str | None = None, class_labels: Mapping[Any, str] | None = None,
                      cutoff: float | None = None, immutable: Sequence[str] | None = None,
                      monotone: Mapping[str, str] | str | None = None) -> ModelVersion:
        """Register an MLflow model (``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``runs:/RUN_ID/PATH``).

        The model, its lineage (commit, trainer, times, params, metrics, datasets,
        requirements) and a back-reference to the run come from the tracking store
        at ``tracking_uri`` (default ``MLFLOW_TRACKING_URI``); see
        ``xai_gov.integrations.mlflow``. Needs the ``mlflow`` extra. What MLflow does
        not know is declared as in ``register``: protected and nullable features, the
        reason-code map, class labels, the decision rule's ``cutoff``, immutable and monotone features.
        """
        from xai_gov.integrations.mlflow import MlflowImport, import_mlflow_model

        request = MlflowImport(
            model_uri=model_uri, tracking_uri=tracking_uri, name=name, adverse_class=adverse_class,
            class_names=tuple(class_names), flavour=flavour, trusted_types=tuple(trusted_types), serve_url=serve_url,
            background=background, schema=schema, target=target, data_version=data_version,
            parent_version=parent_version, description=description, alias=alias, cutoff=cutoff,
            declarations=Declarations.build(protected=protected, not_protected=not_protected, nullable=nullable,
                                            reason_codes=reason_codes, protected_override=protected_override,
                                            class_labels=class_labels, immutable=immutable, monotone=monotone))
        return import_mlflow_model(registry=self.registry, request=request, actor=actor or Actor.local_owner(),
                                   background_rows=self.settings.background_rows)

    # -- registry reads and alias moves -----------------------------------------

    def get_model(self, ref: str) -> ModelVersion:
        return self.registry.get(ref)

    def list_models(self) -> list[ModelSummary]:
        return self.registry.list_models()

    def list_versions(self, name: str) -> list[ModelVersion]:
        return self.registry.list_versions(name)

    def move_alias(self, name: str, alias: str, version: int, *, actor: Actor | None = None) -> AliasMove:
        return self.registry.move_alias(name=name, alias=alias, version=version, actor=actor or Actor.local_owner())

    def alias_history(self, name: str) -> list[AliasMove]:
        return self.registry.alias_history(name)

    def approve(self, ref: str, *, note: str | None = None, actor: Actor | None = None) -> ModelVersion:
        """Approve a version for production as a second person (an owner or approver who did not register it)."""
        return self.registry.approve(ref, actor=actor or Actor.local_owner(), note=note)

    def load_model(self, ref: str) -> ModelAdapter:
        """The version's predict function (artifact hash checked)."""
        return self.registry.load_adapter(self.registry.get(ref))

    # -- explanations ----------------------------------------------------------------

    def explain(self, model: str, instance: Mapping[str, Any], *, decision_id: str,
                methods: Iterable[str] | None = None, seed: int = 0, requested_by: str | None = None,
                parameters: Mapping[str, Any] | None = None, progress: Progress | None = None,
                bank_decision: str | None = None, what_counted_against: bool = False,
                re_explain: bool = False, role: Role | str | None = None) -> ExplanationRecord:
        """Explain one decision of ``model`` (``name@version`` or ``name@alias``) and store the record.

        ``methods`` is any of lime, anchor, shap, counterfactual (default: all, the counterfactual only for
        an applicant the version's rule declines; named for one it approves, it is refused); ``parameters`` may hold
        ``{"lime": {...}, "anchor": {...}}`` overrides (see LimeParams, AnchorParams).
        The decision is the version's rule unless ``bank_decision`` (a class name) says what the bank
        actually decided. A decision id is explained once: ``re_explain=True`` explains it again,
        linked to the earlier record; otherwise a second explanation is a ``Conflict``.
        ``what_counted_against`` gives a favourable decision the features that pushed toward the
        adverse class (an adverse decision always has its principal reasons). With a ``role`` (the API
        passes the caller's), the policy's fair-use caps for it apply.
        """
        options = ExplainOptions.build(methods, seed, **dict(parameters or {}))
        check_explanation_cost(self.policy, role, options.parameters())  # before any work
        return self.explanations.explain(model=model, instance=dict(instance), decision_id=decision_id,
                                         requested_by=requested_by or Actor.local_owner().name, options=options,
                                         progress=progress, bank_decision=bank_decision,
                                         what_counted_against=what_counted_against, re_explain=re_explain)

    def explain_batch(self, model: str, decisions: str | Path | list[BatchRow], *,
                      decision_id_column: str = "decision_id", methods: Iterable[str] | None = None,
                      seed: int = 0, parameters: Mapping[str, Any] | None = None, requested_by: str | None = None,
                      workers: int | None = None, scheduler: str | None = None, dask_local: int | None = None,
                      progress: Callable[[BatchProgress], None] | None = None) -> BatchSummary:
        """Explain every decision of a CSV file (or rows) not explained yet, and store each record.

        Computed on a local process pool (``workers``, default the number of cores), or on Dask
        (``scheduler="tcp://host:8786"`` or ``dask_local=N``); records are stored by this process. Resumable:
        decision ids already explained are skipped, so a rerun continues where a stopped batch ended.
        """
        options = ExplainOptions.build(methods, seed, **dict(parameters or {}))
        if not isinstance(decisions, list):
            schema = self.registry.get(model).schema
            decisions = read_decisions(Path(decisions), schema=schema, decision_id_column=decision_id_column)
        runner = make_runner(workers=workers, scheduler=scheduler, dask_local=dask_local)
        try:
            return explain_batch(self.explanations, model, decisions, options=options,
                                 requested_by=requested_by or Actor.local_owner().name, runner=runner,
                                 progress=progress)
        finally:
            runner.close()

    def get_explanation(self, explanation_id: str) -> ExplanationRecord:
        return self.explanations.get(explanation_id)

    def find_explanations(self, **filters: Any) -> list[ExplanationRecord]:
        """By decision_id, model, requested_by, since, until; limit and offset page."""
        return self.explanations.find(**filters)

    def replay(self, explanation_id: str, *, progress: Progress | None = None) -> ReplayReport:
        return self.explanations.replay(explanation_id, progress=progress)

    def lineage_by_decision(self, decision_id: str, *, actor: Actor | None = None) -> list[LineageView]:
        return self.explanations.lineage_of_decision(decision_id, actor=_name(actor))

    # -- lineage -------------------------------------------------------------------

    # Every lookup is recorded in the audit ledger with who asked (default: the local user).

    def lineage(self, ref: str, *, actor: Actor | None = None) -> LineageView:
        return self.lineage_service.of_version(ref, actor=_name(actor))

    def lineage_by_data_hash(self, data_sha256: str, *, actor: Actor | None = None) -> list[LineageView]:
        return self.lineage_service.find(data_sha256=data_sha256, actor=_name(actor))

    def lineage_by_commit(self, commit: str, *, actor: Actor | None = None) -> list[LineageView]:
        return self.lineage_service.find(commit=commit, actor=_name(actor))

    def lineage_by_trainer(self, trainer: str, *, actor: Actor | None = None) -> list[LineageView]:
        return self.lineage_service.find(trainer=trainer, actor=_name(actor))

    def lineage_by_mlflow_run(self, run_id: str, *, actor: Actor | None = None) -> list[LineageView]:
        """Versions imported from this MLflow run; NotFound when none was."""
        return self.lineage_service.find(mlflow_run_id=run_id, actor=_name(actor))

    def lineage_by_dataset_digest(self, digest: str, *, actor: Actor | None = None) -> list[LineageView]:
        """Versions trained on data with this MLflow dataset digest, DVC md5 or data version; NotFound if none."""
        return self.lineage_service.find(dataset_digest=digest, actor=_name(actor))

    def lineage_between(self, since: datetime | None = None, until: datetime | None = None, *,
                        date_field: DateField = "registered", actor: Actor | None = None) -> list[LineageView]:
        return self.lineage_service.find(since=since, until=until, date_field=date_field, actor=_name(actor))

    def find_lineage(self, *, actor: Actor | None = None, **filters: Any) -> list[LineageView]:
        """Any combination of data_sha256, commit, trainer, since, until, date_field, mlflow_run_id,
        dataset_digest."""
        return self.lineage_service.find(**filters, actor=_name(actor))


def _name(actor: Actor | None) -> str:
    return (actor or Actor.local_owner()).name


def as_adapter(model: Any, *, serialization: Serialization = "skops",
               trusted_types: Sequence[str] = ()) -> ModelAdapter:
    if isinstance(model, ModelAdapter):
        return model
    if isinstance(model, str):
        return PythonAdapter(model)
    if hasattr(model, "predict_proba"):
        return SklearnAdapter(model, serialization=serialization, trusted_types=trusted_types)
    raise InvalidInput(f"cannot register a {type(model).__name__}: give a fitted estimator with predict_proba, "
                       "an import path 'package.module:function', or a ModelAdapter", field="model")


def _target_name(y_train: Iterable[Any] | None, schema: FeatureSchema | None) -> str:
    name = getattr(y_train, "name", None) or (schema.target if schema else None)
    return str(name) if name is not None else "target"


# -- module-level shortcuts over one default client -------------------------------------

_default: Client | None = None


def connect(settings: Settings | None = None, **kwargs: Any) -> Client:
    """Open (and make the default) the client for a data directory or database URL."""
    global _default
    _default = Client(settings, **kwargs)
    return _default


def default_client() -> Client:
    global _default
    if _default is None:
        _default = Client()
    return _default


def register(model: Any, X_train: pd.DataFrame, y_train: Iterable[Any] | None = None, **kwargs: Any) -> ModelVersion:
    return default_client().register(model, X_train, y_train, **kwargs)


def get_model(ref: str) -> ModelVersion:
    return default_client().get_model(ref)


def list_models() -> list[ModelSummary]:
    return default_client().list_models()


def move_alias(name: str, alias: str, version: int) -> AliasMove:
    return default_client().move_alias(name, alias, version)


def approve(ref: str, *, note: str | None = None) -> ModelVersion:
    return default_client().approve(ref, note=note)


def lineage(ref: str) -> LineageView:
    return default_client().lineage(ref)


def lineage_by_data_hash(data_sha256: str) -> list[LineageView]:
    return default_client().lineage_by_data_hash(data_sha256)


def lineage_by_commit(commit: str) -> list[LineageView]:
    return default_client().lineage_by_commit(commit)


def lineage_by_trainer(trainer: str) -> list[LineageView]:
    return default_client().lineage_by_trainer(trainer)


def lineage_between(since: datetime | None = None, until: datetime | None = None,
                    *, date_field: DateField = "registered") -> list[LineageView]:
    return default_client().lineage_between(since, until, date_field=date_field)


def import_mlflow(model_uri: str, **kwargs: Any) -> ModelVersion:
    return default_client().import_mlflow(model_uri, **kwargs)


def lineage_by_mlflow_run(run_id: str) -> list[LineageView]:
    return default_client().lineage_by_mlflow_run(run_id)


def lineage_by_dataset_digest(digest: str) -> list[LineageView]:
    return default_client().lineage_by_dataset_digest(digest)


def explain(model: str, instance: Mapping[str, Any], *, decision_id: str, methods: Iterable[str] | None = None,
            **kwargs: Any) -> ExplanationRecord:
    return default_client().explain(model, instance, decision_id=decision_id, methods=methods, **kwargs)


def get_explanation(explanation_id: str) -> ExplanationRecord:
    return default_client().get_explanation(explanation_id)


def replay(explanation_id: str) -> ReplayReport:
    return default_client().replay(explanation_id)


def lineage_by_decision(decision_id: str) -> list[LineageView]:
    return default_client().lineage_by_decision(decision_id)


def verify_ledger() -> VerifyReport:
    return default_client().verify_ledger()


def monitor(ref: str, *, since: datetime | None = None, until: datetime | None = None,
            **kwargs: Any) -> MonitoringReport:
    return default_client().monitor(ref, since=since, until=until, **kwargs)
