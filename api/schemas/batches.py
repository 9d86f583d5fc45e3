from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.explanations import EXAMPLE_APPLICANT
from xai_gov.batch.jobs import MAX_ROWS, BatchJob
from xai_gov.explain import methods as registry


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "model": "credit-risk@production", "decisions": [{"decision_id": "LOAN-2026-0042", **EXAMPLE_APPLICANT}],
        "methods": ["lime", "anchor", "shap"], "seed": 0}]})

    model: str = Field(min_length=1, max_length=220, description="name@version or name@alias (pinned when the "
                                                                 "job is submitted)")
    decisions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ROWS,
                                            description="one object per decision: `decision_id` and every feature")
    methods: list[str] | None = Field(default=None, min_length=1, max_length=len(registry.names()),
                                      description=registry.choice_words())
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict, description=registry.parameter_words())


class BatchJobOut(BaseModel):
    """A batch job: its state (queued, running, finished, failed), progress, and at the end its summary
    (done, skipped as already explained, failed rows with `line` = position in `decisions`, from 1)."""

    id: str
    model: str
    requested_by: str
    state: str
    submitted_at: str
    started_at: str | None
    finished_at: str | None
    progress: dict[str, int]
    summary: dict[str, Any] | None
    error: dict[str, Any] | None

    @classmethod
    def from_domain(cls, job: BatchJob) -> BatchJobOut:
        return cls(**job.to_dict())
