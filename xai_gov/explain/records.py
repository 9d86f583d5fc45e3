"""The stored explanation record and its canonical hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from xai_gov.quality.glance import QualityRow, quality_at_a_glance
from xai_gov.timeutil import format_utc, parse_utc

METHODS: tuple[str, ...] = ("lime", "anchor", "shap", "counterfactual")
#: Fields a replay does not compare: they describe the run, not its result.
RUN_FIELDS = frozenset({"id", "requested_by", "requested_at", "timings", "record_sha256", "replay_of",
                        "re_explains"})
#: Fields added after records were first stored: left out of a record while None, so an older record
#: reads back, and hashes, exactly as it was stored.
LATER_FIELDS = ("decision", "re_explains", "cautions", "counterfactuals")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, floats as Python's shortest round-trip repr (RFC 8785 in spirit)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_json(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Prediction:
    probabilities: dict[str, float]
    predicted_class: str
    adverse_class: str
    adverse_probability: float
    # The version's cutoff on the adverse probability; None in records made before decision rules,
    # which decided by the more probable class.
    cutoff: float | None = None

    @property
    def adverse(self) -> bool:
        """The decision rule's outcome (``ExplanationRecord.adverse`` is what was decided, overrides included)."""
        if self.cutoff is None:
            return self.predicted_class == self.adverse_class
        return self.adverse_probability >= self.cutoff

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.cutoff is None:
            del out["cutoff"]
        return {**out, "decision": "adverse" if self.adverse else "favourable"}


@dataclass(frozen=True)
class ExplanationRecord:
    id: str
    model: str
    version: int
    decision_id: str
    requested_by: str
    requested_at: datetime
    instance: dict[str, Any]  # as entered
    instance_sha256: str  # canonical hash of the validated instance
    prediction: Prediction
    methods: tuple[str, ...]
    lime: dict[str, Any] | None
    anchor: dict[str, Any] | None
    shap: dict[str, Any] | None
    scores: dict[str, Any]
    reasons: list[dict[str, Any]]
    withheld_reasons: list[str]
    seed: int
    parameters: dict[str, Any]
    library_versions: dict[str, str]
    background_sha256: str
    reason_map: str
    verdict: dict[str, Any] | None = None  # the policy's verdict, rule by rule, with the policy file's hash
    timings: dict[str, float] = field(default_factory=dict)
    replay_of: str | None = None
    # The decision: the version's rule, the bank's decision if given, which stands, and what the
    # reasons are ("principal reasons" for an adverse decision).
    decision: dict[str, Any] | None = None
    re_explains: str | None = None  # the earlier explanation of the same decision id this one re-explains
    cautions: list[dict[str, Any]] | None = None  # e.g. a value outside the range the model was trained on
    # Counterfactual recourse (xai_gov.explain.counterfactual): for a decision the rule declines.
    counterfactuals: dict[str, Any] | None = None

    @property
    def model_ref(self) -> str:
        return f"{self.model}@{self.version}"

    def quality_at_a_glance(self) -> tuple[QualityRow, ...]:
        """Fidelity, stability, sparsity and coverage, one row each, with the policy's verdict on each."""
        return quality_at_a_glance(self.scores, self.verdict)

    @property
    def adverse(self) -> bool:
        """Whether the decision was adverse: the bank's decision where it overrode the rule."""
        if self.decision is not None:
            return self.decision["outcome"] == "adverse"
        return self.prediction.adverse

    @property
    def overridden(self) -> bool:
        return bool(self.decision and self.decision.get("overridden"))

    def body(self) -> dict[str, Any]:
        """Everything but the hash, in JSON form."""
        out = asdict(self)
        out["requested_at"] = format_utc(self.requested_at)
        out["prediction"] = self.prediction.to_dict()
        out["methods"] = list(self.methods)
        for name in LATER_FIELDS:
            if out[name] is None:
                del out[name]
        return out

    def to_dict(self) -> dict[str, Any]:
        body = self.body()
        return {**body, "record_sha256": sha256_json(body)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExplanationRecord:
        values = {k: v for k, v in data.items() if k != "record_sha256"}
        prediction = dict(values["prediction"])
        prediction.pop("decision", None)
        values["prediction"] = Prediction(**prediction)
        values["methods"] = tuple(values["methods"])
        values["requested_at"] = parse_utc(values["requested_at"], field="requested_at")
        return cls(**values)

    def result_fields(self) -> dict[str, Any]:
        """What a replay must reproduce."""
        return {k: v for k, v in self.body().items() if k not in RUN_FIELDS}
