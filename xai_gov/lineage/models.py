"""The lineage record of a model version (DESIGN §5).

A field that could not be captured is ``None`` and is named in ``missing`` with
the reason; nothing is ever guessed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xai_gov.timeutil import format_utc, parse_utc

if TYPE_CHECKING:  # registry.models holds a LineageRecord: imported for the annotation only
    from xai_gov.registry.models import ModelVersion

#: Fields a lineage record can carry; ``missing`` may name any of them.
LINEAGE_FIELDS: tuple[str, ...] = (
    "code_repository", "code_commit", "code_dirty",
    "data_sha256", "data_rows", "data_source_uri",
    "trainer", "training_started_at", "training_ended_at",
    "hyperparameters", "seeds", "metrics", "environment",
    "parent_version", "approver", "data_version",
)

#: Where the model came from outside xai-gov, kept as documents (one JSON column): the MLflow run and
#: model it was imported from, the datasets MLflow logged, DVC's entry for the training file, and the
#: Metaflow task it was registered in. Each is empty when it does not apply.
EXTERNAL_FIELDS: tuple[str, ...] = ("mlflow", "datasets", "dvc", "metaflow")

#: Added after the first release: left out of ``to_dict`` while empty, so the records (and ledger
#: hashes) of versions registered before them stay exactly as they were.
_OPTIONAL_FIELDS: tuple[str, ...] = ("data_version", *EXTERNAL_FIELDS)

#: What ``missing`` says of the approver until a second person approves the version.
NOT_APPROVED = "not approved yet"


@dataclass(frozen=True)
class LineageRecord:
    code_repository: str | None = None
    code_commit: str | None = None
    code_dirty: bool | None = None
    data_sha256: str | None = None
    data_rows: int | None = None
    data_source_uri: str | None = None
    trainer: str | None = None
    training_started_at: datetime | None = None
    training_ended_at: datetime | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    parent_version: str | None = None
    approver: str | None = None
    missing: dict[str, str] = field(default_factory=dict)
    data_version: str | None = None  # any data-version string (DVC md5, lakeFS commit, Delta version)
    mlflow: dict[str, Any] = field(default_factory=dict)  # back-reference: tracking URI, run, model
    datasets: tuple[dict[str, Any], ...] = ()  # MLflow's logged inputs: name, digest, source, schema, hash
    dvc: dict[str, Any] = field(default_factory=dict)  # DVC's md5 and path of the training file
    metaflow: dict[str, Any] = field(default_factory=dict)  # flow, run, step, task ids

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("training_started_at", "training_ended_at"):
            out[key] = format_utc(out[key])
        out["datasets"] = [dict(d) for d in self.datasets]
        for key in _OPTIONAL_FIELDS:
            if not out[key]:
                del out[key]
        return out

    def external(self) -> dict[str, Any]:
        """The external references, as stored (one JSON document)."""
        return {key: value for key, value in (("mlflow", self.mlflow), ("datasets", [dict(d) for d in self.datasets]),
                                              ("dvc", self.dvc), ("metaflow", self.metaflow)) if value}

    def data_references(self) -> list[tuple[str, str]]:
        """(kind, value) of every external identifier of the training data, for lookups."""
        refs = [("mlflow_digest", str(d["digest"])) for d in self.datasets if d.get("digest")]
        if self.dvc.get("md5"):
            refs.append(("dvc_md5", str(self.dvc["md5"])))
        if self.data_version:
            refs.append(("data_version", self.data_version))
        return list(dict.fromkeys(refs))

    def as_registered(self) -> LineageRecord:
        """The record as it was at registration: the approver is set later, by a second person."""
        if self.approver is None:
            return self
        return replace(self, approver=None, missing={**self.missing, "approver": NOT_APPROVED})

    def approved_by(self, approver: str) -> LineageRecord:
        return replace(self, approver=approver, missing={k: v for k, v in self.missing.items() if k != "approver"})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineageRecord:
        values: dict[str, Any] = {key: data.get(key) for key in LINEAGE_FIELDS}
        for key in ("training_started_at", "training_ended_at"):
            values[key] = parse_utc(values[key], field=key)
        for key in ("hyperparameters", "seeds", "metrics", "environment"):
            values[key] = dict(values[key] or {})
        return cls(**values, missing=dict(data.get("missing") or {}), **external_fields(data))


@dataclass(frozen=True)
class LineageView:
    """A model version's lineage as a lookup answers it."""

    model: str
    version: int
    registered_at: datetime
    registered_by: str
    lineage: LineageRecord
    decision_rule: dict[str, Any] | None = None  # the version's decision rule, where one was registered
    explanations: tuple[str, ...] = ()  # in a lookup by decision id: this version's explanations of it
    #: why the version was registered without declaring a feature that looks protected (age, sex, ...) either
    #: way: the registrant's own words, given at registration (``registered_by``, ``registered_at``)
    protected_override: str | None = None

    @classmethod
    def of(cls, version: ModelVersion, *, explanations: tuple[str, ...] = ()) -> LineageView:
        """The view of a registered version (``explanations``: in a lookup by decision id)."""
        return cls(model=version.name, version=version.version, registered_at=version.registered_at,
                   registered_by=version.registered_by, lineage=version.lineage,
                   decision_rule=version.decision_rule.to_dict() if version.decision_rule else None,
                   explanations=explanations, protected_override=version.schema.protected_override)

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "ref": self.ref,
                "registered_at": format_utc(self.registered_at), "registered_by": self.registered_by,
                "lineage": self.lineage.to_dict(), "decision_rule": self.decision_rule,
                **({"protected_override": self.protected_override} if self.protected_override else {}),
                **({"explanations": list(self.explanations)} if self.explanations else {})}


def external_fields(document: dict[str, Any] | None) -> dict[str, Any]:
    """LineageRecord keyword arguments from an external-references document (missing keys: empty)."""
    document = document or {}
    return {"mlflow": dict(document.get("mlflow") or {}),
            "datasets": tuple(dict(d) for d in document.get("datasets") or ()),
            "dvc": dict(document.get("dvc") or {}), "metaflow": dict(document.get("metaflow") or {})}


def external_rows(record: LineageRecord) -> list[tuple[str, str]]:
    """(label, text) rows for what came from outside (MLflow, DVC, Metaflow), only where there is something.

    The CLI and the packets print the same rows.
    """
    rows = []
    if record.data_version:
        rows.append(("data version", record.data_version))
    if record.dvc:
        rows.append(("DVC", f"md5 {record.dvc.get('md5')} of {record.dvc.get('path')} "
                            f"({record.dvc.get('recorded_in')})"))
    if record.mlflow:
        m = record.mlflow
        registered = f"{m['registered_model']} v{m['model_version']}, " if m.get("registered_model") else ""
        rows.append(("MLflow", f"{registered}run {m.get('run_id')} at {m.get('tracking_uri')} ({m.get('model_uri')})"))
    for dataset in record.datasets:
        digest = dataset.get("data_sha256") or f"data not read: {dataset.get('missing')}"
        rows.append((f"dataset ({dataset.get('context') or '-'})",
                     f"{dataset.get('name')} digest {dataset.get('digest')}; {digest}"))
    if record.metaflow:
        rows.append(("Metaflow", str(record.metaflow.get("pathspec") or record.metaflow)))
    return rows
