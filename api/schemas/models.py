from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Text
from xai_gov.registry.models import ALIAS_PATTERN, AliasMove, ModelSummary, ModelVersion
from xai_gov.validation import MULTILINE_PATTERN, TEXT_PATTERN


class ModelVersionOut(BaseModel):
    model: str
    version: int
    ref: str
    aliases: list[str]
    adapter: dict[str, Any]
    artifact_sha256: str | None
    schema_: dict[str, Any] = Field(alias="schema")
    background_sha256: str
    background_rows: int
    description: str | None
    registered_at: str
    registered_by: str
    lineage: dict[str, Any]
    decision_rule: dict[str, Any] | None = None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    @classmethod
    def from_domain(cls, version: ModelVersion) -> ModelVersionOut:
        return cls.model_validate(version.to_dict())


class ModelSummaryOut(BaseModel):
    model: str
    latest_version: int
    versions: int
    aliases: dict[str, int]
    created_at: str
    created_by: str

    @classmethod
    def from_domain(cls, summary: ModelSummary) -> ModelSummaryOut:
        return cls.model_validate(summary.to_dict())


class AliasIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 2}]})

    version: int = Field(ge=1, le=2**31 - 1, description="The version the alias will point at.")


class AliasMoveOut(BaseModel):
    model: str
    alias: str
    from_version: int | None
    to_version: int
    actor: str
    moved_at: str

    @classmethod
    def from_domain(cls, move: AliasMove) -> AliasMoveOut:
        return cls.model_validate(move.to_dict())


class MlflowImportIn(BaseModel):
    """Import a model version from MLflow (the same as ``xai-gov import mlflow``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"model_uri": "models:/credit-risk/3", "adverse_class": "bad", "trusted_types": ["sklearn.tree._tree.Tree"]}]})

    model_uri: str = Field(min_length=1, max_length=1000, pattern=TEXT_PATTERN,
                           description="models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH")
    tracking_uri: str | None = Field(None, max_length=2000, pattern=TEXT_PATTERN,
                                     description="default: the server's MLFLOW_TRACKING_URI")
    name: str | None = Field(None, max_length=200, pattern=TEXT_PATTERN,
                             description="xai-gov model name; default the registered name")
    adverse_class: str | None = Field(None, max_length=200, pattern=TEXT_PATTERN)
    class_names: list[Text] = Field(default_factory=list, max_length=100)
    flavour: Literal["auto", "sklearn", "pyfunc"] = "auto"
    trusted_types: list[Text] = Field(default_factory=list, max_length=100)
    serve_url: str | None = Field(None, max_length=2000, pattern=TEXT_PATTERN,
                                  description="a scoring endpoint serving the model")
    background: list[dict[str, Any]] | None = Field(None, max_length=100_000,
                                                    description="background rows, when the run's training "
                                                                "dataset is not reachable from the server")
    schema_: dict[str, Any] | None = Field(None, alias="schema", description="feature schema; default inferred")
    target: str | None = Field(None, max_length=200, pattern=TEXT_PATTERN)
    data_version: str | None = Field(None, max_length=200, pattern=TEXT_PATTERN)
    parent_version: str | None = Field(None, max_length=220, pattern=TEXT_PATTERN)
    description: str | None = Field(None, max_length=2000, pattern=MULTILINE_PATTERN)
    alias: str | None = Field(None, max_length=100, pattern=ALIAS_PATTERN)
    # Declared with the version, as for any registration (see POST /v1/models):
    protected: list[Text] = Field(default_factory=list, max_length=1000, description="protected features")
    not_protected: list[Text] = Field(default_factory=list, max_length=1000,
                                     description="features that look protected but are not")
    nullable: list[Text] = Field(default_factory=list, max_length=1000, description="features that may be missing")
    reason_codes: dict[str, Any] | None = Field(None, description="reason-code map document (as the YAML file)")
    protected_override: str | None = Field(None, max_length=2000, pattern=MULTILINE_PATTERN,
                                           description="why features that look protected are undeclared")
    class_labels: dict[str, Text] | None = Field(None, description='e.g. {"0": "repaid", "1": "defaulted"}')
    cutoff: float | None = Field(None, description="decline when P(adverse class) >= cutoff; default 0.5")
    immutable: list[Text] = Field(default_factory=list, max_length=1000,
                                  description="features counterfactual recourse never changes")
    monotone: dict[str, Literal["increasing", "decreasing"]] | None = Field(
        None, description='numbers recourse moves one way only, e.g. {"EmploymentYears": "increasing"}')


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "validation report VR-17"}]})

    note: str | None = Field(default=None, max_length=2000, pattern=MULTILINE_PATTERN,
                             description="Why, for the record (optional).")
