"""The monitoring part of the policy: drift thresholds, fair-lending limits, minimum sizes.

Validated with the rest of the policy file (``policies/default.yaml``, key
``monitoring``), so a bad threshold stops the SDK, CLI or service at start with
the file and the line.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Severity = Literal["warn", "fail"]
Fraction = float


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputDriftPolicy(_Strict):
    """A feature drifts when its test (KS or chi-squared) gives p < ``p_value``, or when its PSI reaches ``psi``
    on a window of at least ``psi_min_rows`` decisions (PSI is biased upward on small samples)."""

    p_value: Fraction = Field(default=0.05, gt=0, lt=1)
    psi: float = Field(default=0.25, gt=0)
    psi_bins: int = Field(default=10, ge=2, le=50)
    psi_min_rows: int = Field(default=100, ge=1)
    dataset_share: Fraction = Field(default=0.5, gt=0, le=1)
    severity: Severity = "warn"
    why: str = Field(default="The applicants differ from the data the model was trained on.", min_length=1)


class PredictionDriftPolicy(_Strict):
    p_value: Fraction = Field(default=0.05, gt=0, lt=1)
    severity: Severity = "warn"
    why: str = Field(default="The model's scores or decision rate moved away from those on its training data.",
                     min_length=1)


class ExplanationDriftPolicy(_Strict):
    """Explanation drift: fewer than ``min_top_overlap`` of the reference window's top features are still top."""

    top_n: int = Field(default=5, ge=1, le=20)
    min_top_overlap: Fraction = Field(default=0.6, ge=0, le=1)
    min_decisions: int = Field(default=10, ge=2)
    severity: Severity = "warn"
    why: str = Field(default="Different features drive the decisions now than in the reference window.",
                     min_length=1)


class TrustDriftPolicy(_Strict):
    """Trust drift: a score's distribution differs (KS p < ``p_value``) and its mean is worse, or the share of
    explanations with a policy warning or failure rose (Fisher's exact test p < ``p_value``)."""

    p_value: Fraction = Field(default=0.05, gt=0, lt=1)
    min_decisions: int = Field(default=10, ge=2)
    severity: Severity = "warn"
    why: str = Field(default="Explanations are less faithful or stable than in the reference window.", min_length=1)


class FairLendingPolicy(_Strict):
    """Approval rates by protected group; a group smaller than ``min_group_size`` is never compared."""

    min_group_size: int = Field(default=30, ge=1)
    four_fifths: Fraction = Field(default=0.8, gt=0, le=1)
    confidence: Fraction = Field(default=0.95, gt=0, lt=1)
    #: Band edges for numeric protected features, by feature name (e.g. age: [25, 35, 50, 65]); a numeric
    #: protected feature without bands is cut at the quartiles of the training background.
    bands: dict[str, list[float]] = Field(default_factory=dict)
    proxy_auc: Fraction = Field(default=0.7, gt=0.5, le=1)
    severity: Severity = "fail"
    proxy_severity: Severity = "warn"
    why: str = Field(default="A protected group's approval rate is below four fifths of the most approved group's "
                             "(adverse impact).", min_length=1)
    proxy_why: str = Field(default="The other inputs predict a protected attribute well: they may act as its proxy.",
                           min_length=1)

    @field_validator("bands")
    @classmethod
    def _ascending(cls, bands: dict[str, list[float]]) -> dict[str, list[float]]:
        for name, edges in bands.items():
            if not edges:
                raise ValueError(f"bands of {name!r} are empty: give at least one edge")
            if any(b <= a for a, b in pairwise(edges)):
                raise ValueError(f"bands of {name!r} must be strictly ascending, got {edges}")
        return bands


class MonitoringPolicy(_Strict):
    input_drift: InputDriftPolicy = Field(default_factory=InputDriftPolicy)
    prediction_drift: PredictionDriftPolicy = Field(default_factory=PredictionDriftPolicy)
    explanation_drift: ExplanationDriftPolicy = Field(default_factory=ExplanationDriftPolicy)
    trust_drift: TrustDriftPolicy = Field(default_factory=TrustDriftPolicy)
    fair_lending: FairLendingPolicy = Field(default_factory=FairLendingPolicy)
