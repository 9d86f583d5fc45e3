"""ORM rows. They never leave ``xai_gov.store``: repositories turn them into domain objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from xai_gov.timeutil import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite keeps no zone), always returned timezone-aware."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class ArtifactRow(Base):
    """A content-addressed blob under ``<home>/artifacts/<sha256>``."""

    __tablename__ = "artifacts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class RegisteredModelRow(Base):
    __tablename__ = "registered_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))

    versions: Mapped[list[ModelVersionRow]] = relationship(back_populates="model", order_by="ModelVersionRow.version")
    aliases: Mapped[list[AliasRow]] = relationship(back_populates="model")


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id"))
    version: Mapped[int] = mapped_column(Integer)
    adapter_spec: Mapped[dict[str, Any]]
    artifact_sha256: Mapped[str | None] = mapped_column(ForeignKey("artifacts.sha256"))
    feature_schema: Mapped[dict[str, Any]]
    background_sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    background_rows: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime]
    registered_by: Mapped[str] = mapped_column(String(200))
    decision_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    model: Mapped[RegisteredModelRow] = relationship(back_populates="versions")
    lineage: Mapped[LineageRow] = relationship(back_populates="model_version", uselist=False)


class LineageRow(Base):
    __tablename__ = "lineage_records"
    __table_args__ = (
        Index("ix_lineage_records_code_commit", "code_commit"),
        Index("ix_lineage_records_data_sha256", "data_sha256"),
        Index("ix_lineage_records_trainer", "trainer"),
        Index("ix_lineage_records_training_started_at", "training_started_at"),
        Index("ix_lineage_records_mlflow_run_id", "mlflow_run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), unique=True)
    code_repository: Mapped[str | None] = mapped_column(Text)
    code_commit: Mapped[str | None] = mapped_column(String(64))
    code_dirty: Mapped[bool | None] = mapped_column(Boolean)
    data_sha256: Mapped[str | None] = mapped_column(String(80))
    data_rows: Mapped[int | None] = mapped_column(BigInteger)
    data_source_uri: Mapped[str | None] = mapped_column(Text)
    trainer: Mapped[str | None] = mapped_column(String(200))
    training_started_at: Mapped[datetime | None]
    training_ended_at: Mapped[datetime | None]
    hyperparameters: Mapped[dict[str, Any]]
    seeds: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    environment: Mapped[dict[str, Any]]
    parent_version: Mapped[str | None] = mapped_column(String(220))
    approver: Mapped[str | None] = mapped_column(String(200))
    missing: Mapped[dict[str, Any]]
    data_version: Mapped[str | None] = mapped_column(Text)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))  # from ``external``, indexed for lookups
    external: Mapped[dict[str, Any] | None]  # mlflow, datasets, dvc, metaflow (LineageRecord.external())

    model_version: Mapped[ModelVersionRow] = relationship(back_populates="lineage")
    data_refs: Mapped[list[LineageDataRefRow]] = relationship(back_populates="lineage")


class LineageDataRefRow(Base):
    """An external identifier of a version's training data: an MLflow dataset digest, DVC md5, data version."""

    __tablename__ = "lineage_data_refs"
    __table_args__ = (Index("ix_lineage_data_refs_value", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lineage_id: Mapped[int] = mapped_column(ForeignKey("lineage_records.id"))
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(200))

    lineage: Mapped[LineageRow] = relationship(back_populates="data_refs")


class AliasRow(Base):
    """Where an alias of a model points now."""

    __tablename__ = "model_aliases"

    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))

    model: Mapped[RegisteredModelRow] = relationship(back_populates="aliases")
    model_version: Mapped[ModelVersionRow] = relationship()


class AliasEventRow(Base):
    """Every move of an alias: who moved it where, and when."""

    __tablename__ = "alias_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id"))
    alias: Mapped[str] = mapped_column(String(100))
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    moved_at: Mapped[datetime]


class ExplanationRow(Base):
    """One stored explanation: the record as JSON plus the columns it is looked up by."""

    __tablename__ = "explanations"
    __table_args__ = (
        Index("ix_explanations_decision_id", "decision_id"),
        Index("ix_explanations_requested_at", "requested_at"),
        Index("ix_explanations_requested_by", "requested_by"),
        # A decision id is explained once; later explanations of it are re-explanations, which name the
        # one they re-explain. The index makes this hold under concurrent requests on both databases.
        Index("uq_explanations_decision_id_first", "decision_id", unique=True,
              sqlite_where=text("re_explains IS NULL"), postgresql_where=text("re_explains IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    decision_id: Mapped[str] = mapped_column(String(200))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    instance_sha256: Mapped[str] = mapped_column(String(64))
    record: Mapped[dict[str, Any]]
    record_sha256: Mapped[str] = mapped_column(String(64))
    re_explains: Mapped[str | None] = mapped_column(String(32), nullable=True)

    model_version: Mapped[ModelVersionRow] = relationship()


class AuditEventRow(Base):
    """One ledger event; ``seq`` is assigned by the appender under a lock, never by the database."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject"), Index("ix_audit_events_action", "action"))

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]]
    payload_sha256: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpointRow(Base):
    """An Ed25519 signature over the chain head at ``seq``; the private key never enters the database."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    signed_by: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))


class ApiKeyRow(Base):
    """An API key: only its SHA-256 is kept; the key itself is shown once, when created."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class MonitoringRunRow(Base):
    """One monitoring run: its window, the hashes of what it read, its results and the policy verdict."""

    __tablename__ = "monitoring_runs"
    __table_args__ = (Index("ix_monitoring_runs_model_version_id", "model_version_id"),
                      Index("ix_monitoring_runs_run_at", "run_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    run_at: Mapped[datetime]
    run_by: Mapped[str] = mapped_column(String(200))
    window_since: Mapped[datetime | None]
    window_until: Mapped[datetime]
    decisions: Mapped[int] = mapped_column(Integer)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16))
    record: Mapped[dict[str, Any]]
    record_sha256: Mapped[str] = mapped_column(String(64))


class BatchJobRow(Base):
    """A batch job the service runs: its stored form (``BatchJob.to_dict()``), written by the process that
    runs it as the job moves, so any service process can answer for it. ``heartbeat_at``: when that process
    last said it was alive (a job whose process stopped is then reported as interrupted)."""

    __tablename__ = "batch_jobs"
    __table_args__ = (Index("ix_batch_jobs_submitted_at", "submitted_at"),
                      Index("ix_batch_jobs_requested_by", "requested_by"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    job: Mapped[dict[str, Any]]
