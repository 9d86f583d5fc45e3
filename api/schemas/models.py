from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xai_gov.registry.models import AliasMove, ModelSummary, ModelVersion


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
