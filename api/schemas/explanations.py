from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator

from xai_gov.explain import methods as registry
from xai_gov.explain.records import ExplanationRecord
from xai_gov.registry.models import REF_PATTERN
from xai_gov.validation import TEXT_PATTERN

#: The registered methods' names (xai_gov.explain.methods), as the schema's enum; a str to the type checker.
if TYPE_CHECKING:
    Method = str
else:
    Method = Literal[registry.names()]

EXAMPLE_APPLICANT: dict[str, Any] = {
    "checking_account": "below 0 DM", "duration_months": 24, "credit_history": "existing credits paid back duly so far",
    "purpose": "new car", "credit_amount": 4870, "savings": "below 100 DM", "employment_since": "1 to 4 years",
    "installment_rate": 3, "personal_status_sex": "male, single", "other_debtors": "none", "residence_since": 4,
    "property": "unknown or no property", "age": 53, "other_installment_plans": "none", "housing": "for free",
    "existing_credits": 2, "job": "skilled employee or official", "dependents": 2, "telephone": "none",
    "foreign_worker": "yes",
}


class ExplainIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "model": "credit-risk@production", "decision_id": "LOAN-2026-0042", "instance": EXAMPLE_APPLICANT,
        "methods": ["lime", "anchor", "shap"], "seed": 0}]})

    model: str = Field(min_length=1, max_length=301, pattern=REF_PATTERN, description="name@version or name@alias")
    decision_id: str = Field(min_length=1, max_length=200, pattern=TEXT_PATTERN,
                             description="The bank's id of the decision (no control characters)")
    instance: dict[Annotated[str, StringConstraints(max_length=200, pattern=TEXT_PATTERN)], Any] = Field(
        description="The applicant as entered: feature name -> value (text or a number up to 2**53 in magnitude)")
    methods: list[Method] | None = Field(default=None, min_length=1, max_length=len(registry.names()),
                                         description=registry.choice_words())
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict, description=registry.parameter_words())
    bank_decision: str | None = Field(default=None, max_length=200, pattern=TEXT_PATTERN,
                                      description="The class the bank actually decided, if it overrode the rule")
    what_counted_against: bool = Field(default=False, description="A favourable decision: list what pushed "
                                                                  "toward the adverse class too")
    re_explain: bool = Field(default=False, description="Explain again a decision id explained before (else 409)")

    @field_validator("instance")
    @classmethod
    def _finite(cls, instance: dict[str, Any]) -> dict[str, Any]:
        for name, value in instance.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"feature {name!r} is not a finite number")
        return instance


class _ExplanationFields(BaseModel):
    """One stored explanation record (see the README for every field); each method's section is added from
    the registry (``ExplanationOut``)."""

    id: str
    model: str
    version: int
    decision_id: str
    requested_by: str
    requested_at: str
    instance: dict[str, Any]
    instance_sha256: str
    prediction: dict[str, Any]
    methods: list[str]
    schema_version: int = Field(default=1, description="The form the record is written and hashed in (1: before "
                                                      "forms were versioned)")
    scores: dict[str, Any]
    reasons: list[dict[str, Any]]
    withheld_reasons: list[str]
    verdict: dict[str, Any] | None
    seed: int
    parameters: dict[str, Any]
    library_versions: dict[str, str]
    background_sha256: str
    reason_map: str
    timings: dict[str, float]
    replay_of: str | None
    decision: dict[str, Any] | None = Field(default=None, description="The rule, the bank's decision, the outcome")
    re_explains: str | None = None
    cautions: list[dict[str, Any]] | None = None
    record_sha256: str
    quality: list[dict[str, Any]] = Field(
        description="Quality at a glance: fidelity, stability, sparsity and coverage, one row each, with whether "
                    "the policy is met. Derived from scores and verdict; not part of the hashed record.")

    @classmethod
    def from_domain(cls, record: ExplanationRecord) -> _ExplanationFields:
        quality = [row.to_dict() for row in record.quality_at_a_glance()]
        return cls.model_validate({**record.to_dict(), "quality": quality})


#: The record as the API returns it: a section per registered method, null where the method did not run
#: (to the type checker, the fields every record has).
if TYPE_CHECKING:
    ExplanationOut = _ExplanationFields
else:
    ExplanationOut = create_model(
        "ExplanationOut", __base__=_ExplanationFields, __doc__=_ExplanationFields.__doc__,
        **{m.section: (dict[str, Any] | None, Field(default=None, description=f"{m.title}: {m.summary}"))
           for m in registry.registered()})


class ExplanationPage(BaseModel):
    items: list[ExplanationOut]
    limit: int
    offset: int


class ReplayOut(BaseModel):
    explanation_id: str
    matches: bool
    same_library_versions: bool
    fields: list[dict[str, Any]]
