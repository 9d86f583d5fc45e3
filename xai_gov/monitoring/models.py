"""What a monitoring run finds: typed, frozen, and stored as JSON exactly as returned.

Every figure carries its sample sizes; anything that could not be computed is
``None`` and named in a ``NotComputed`` with the reason, never filled in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Outcome = Literal["pass", "warn", "fail", "not_computed"]
FourFifths = Literal["pass", "fail", "reference", "not_computed"]  # a group's rate against the best group's


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NotComputed(_Frozen):
    """A part of the run that could not be computed, and why."""

    what: str
    why: str


class Distribution(_Frozen):
    """Shares per bin (or category) of the reference and of the current window, for charts."""

    bins: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]


class FeatureDrift(_Frozen):
    feature: str
    label: str
    kind: Literal["numeric", "categorical"]
    test: Literal["ks", "chi2"]
    statistic: float
    p_value: float
    psi: float
    psi_counted: bool  # the window had at least psi_min_rows decisions
    reference_n: int
    current_n: int
    drifted: bool
    reference_summary: str
    current_summary: str
    distribution: Distribution


class InputDrift(_Frozen):
    reference: str  # what the window was compared with, in words
    features: tuple[FeatureDrift, ...]
    drifted_features: int
    drifted_share: float
    drifted: bool


class PredictionDrift(_Frozen):
    decision_rule: str
    reference_n: int
    current_n: int
    reference_mean: float
    current_mean: float
    ks_statistic: float
    ks_p_value: float
    psi: float
    reference_adverse_rate: float
    current_adverse_rate: float
    rate_p_value: float  # Fisher's exact test on the 2x2 table of decisions (adverse or not, before and now)
    drifted: bool
    distribution: Distribution


class FeatureAttribution(_Frozen):
    feature: str
    label: str
    reference_mean_abs: float
    current_mean_abs: float
    reference_rank: int
    current_rank: int


class ExplanationDrift(_Frozen):
    method: str  # the attribution method compared (xai_gov.monitoring.attribution.attribution_methods)
    reference_n: int
    current_n: int
    top_n: int
    features: tuple[FeatureAttribution, ...]  # by reference rank
    top_overlap: float
    spearman: float | None
    drifted: bool


class ScoreDrift(_Frozen):
    metric: str
    label: str
    reference_n: int
    current_n: int
    reference_mean: float | None
    current_mean: float | None
    reference_median: float | None
    current_median: float | None
    ks_statistic: float | None
    ks_p_value: float | None
    drifted: bool
    distribution: Distribution | None


class TrustDrift(_Frozen):
    scores: tuple[ScoreDrift, ...]
    reference_n: int
    current_n: int
    reference_flagged: int  # explanations whose policy verdict was warn or fail
    current_flagged: int
    reference_flagged_share: float
    current_flagged_share: float
    flagged_p_value: float  # Fisher's exact test, one-sided: more flagged now
    drifted: bool


class GroupRate(_Frozen):
    group: str
    n: int
    approved: int
    approval_rate: float | None  # None below the minimum group size
    ci_low: float | None
    ci_high: float | None
    adverse_impact_ratio: float | None
    air_ci_low: float | None
    air_ci_high: float | None
    four_fifths: FourFifths
    note: str | None = None


class ProxyCheck(_Frozen):
    """How well the non-protected inputs predict the protected group (cross-validated ROC AUC)."""

    rows: int
    folds: int
    auc: float
    classifier: str
    flagged: bool


class ProtectedResult(_Frozen):
    feature: str
    label: str
    bands: tuple[str, ...]  # the groups, in order (bands for numeric features)
    groups: tuple[GroupRate, ...]
    reference_group: str | None
    min_adverse_impact_ratio: float | None
    demographic_parity_difference: float | None
    four_fifths_passed: bool | None
    proxy: ProxyCheck | None
    not_computed: tuple[NotComputed, ...] = ()


class FairLending(_Frozen):
    protected_source: str
    min_group_size: int
    four_fifths: float
    confidence: float
    results: tuple[ProtectedResult, ...]


class Check(_Frozen):
    """One line of the run's verdict."""

    check: str
    outcome: Outcome
    value: float | None
    threshold: str
    why: str

    @property
    def shown(self) -> str:
        """The value for a table: three decimals, or three significant digits for a p-value below 0.001
        (a prediction-drift p of 1.2e-07 is not "0.000")."""
        if self.value is None:
            return "-"
        return f"{self.value:.3g}" if 0 < abs(self.value) < 1e-3 else f"{self.value:.3f}"


class MonitoringVerdict(_Frozen):
    outcome: Literal["pass", "warn", "fail"]
    checks: tuple[Check, ...]
    policy: dict[str, Any]


class MonitoringReport(_Frozen):
    """One monitoring run of a model version over a window of its stored decisions."""

    id: str
    model: str
    version: int
    run_by: str
    run_at: datetime
    since: datetime | None
    until: datetime
    reference_since: datetime | None
    reference_until: datetime | None
    decisions: int
    reference_decisions: int
    duplicates_dropped: int
    inputs: dict[str, Any]  # what the run read, by hash
    input_drift: InputDrift | None
    prediction_drift: PredictionDrift | None
    explanation_drift: ExplanationDrift | None
    trust_drift: TrustDrift | None
    fair_lending: FairLending | None
    not_computed: tuple[NotComputed, ...]
    verdict: MonitoringVerdict

    @property
    def model_ref(self) -> str:
        return f"{self.model}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitoringReport:
        return cls.model_validate(data)
