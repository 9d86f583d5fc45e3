"""Quality at a glance: the four criteria a reviewer applies, one row each, beside the policy's verdict.

Fidelity (does the explanation describe the model?), stability (does it survive
a change of seed?), sparsity (how much must a person read?) and coverage (how
many real applicants does the rule describe?). Each row gives the headline
figures of every method that measured the criterion, what the criterion means
in words, and whether the policy's rules on it are met. Agreement between LIME
and SHAP is not one of the four and stays in the detailed scores.

The table is derived from a record's stored scores and verdict, never stored
itself, so it cannot disagree with them (and records written before it existed
show it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CRITERIA: tuple[str, ...] = ("fidelity", "stability", "sparsity", "coverage")

MEANINGS: dict[str, str] = {
    "fidelity": "How closely each explanation matches the model's own behaviour around this applicant.",
    "stability": "Whether the explanation stays the same when it is recomputed with another random seed.",
    "sparsity": "How much a person must read to get the explanation's message: fewer features or conditions "
                "is easier to use.",
    "coverage": "How many real applicants in the reference sample the anchor rule describes.",
}

#: What the policy column says for the worst outcome of a criterion's rules.
_POLICY_WORDS = {"pass": "met", "warn": "warning", "fail": "failed", "not_measured": "not measured"}
_RANK = {"not_measured": 0, "pass": 1, "warn": 2, "fail": 3}


@dataclass(frozen=True)
class QualityRow:
    criterion: str
    value: str  # the headline figures in words, "-" when nothing measured it
    meaning: str
    policy: str  # met, warning, failed, not measured, or no rule
    cautions: tuple[str, ...]  # the policy's reason for each rule on this criterion that is not met

    def policy_in_words(self) -> str:
        """'met', or 'warning: <the policy's reasons>'."""
        return ": ".join([self.policy, " ".join(self.cautions)]) if self.cautions else self.policy

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "value": self.value, "meaning": self.meaning, "policy": self.policy,
                "cautions": list(self.cautions)}


def criterion_of(metric: str) -> str | None:
    """The criterion a policy metric belongs to ('fidelity.anchor.coverage' is coverage), or None (agreement)."""
    if metric.endswith(".coverage"):
        return "coverage"
    head = metric.split(".", 1)[0]
    return head if head in CRITERIA else None


def quality_at_a_glance(scores: dict[str, Any], verdict: dict[str, Any] | None) -> tuple[QualityRow, ...]:
    figures = {"fidelity": _fidelity(scores), "stability": _stability(scores), "sparsity": _sparsity(scores),
               "coverage": _coverage(scores)}
    rules = (verdict or {}).get("rules", [])
    rows = []
    for criterion in CRITERIA:
        mine = [r for r in rules if criterion_of(r["metric"]) == criterion]
        worst = max((r["outcome"] for r in mine), key=_RANK.__getitem__, default=None)
        cautions = tuple(r["why"] for r in mine if r["outcome"] in ("warn", "fail"))
        rows.append(QualityRow(criterion=criterion, value="; ".join(figures[criterion]) or "-",
                               meaning=MEANINGS[criterion],
                               policy="no rule" if worst is None else _POLICY_WORDS[worst], cautions=cautions))
    return tuple(rows)


def _fidelity(scores: dict[str, Any]) -> list[str]:
    fidelity = scores.get("fidelity", {})
    parts = []
    if lime := fidelity.get("lime"):
        parts.append(f"LIME R2 {lime['fresh_weighted_r2']:.2f} on a fresh neighbourhood, "
                     f"|surrogate - model| {lime['local_error']:.3f}")
    if anchor := fidelity.get("anchor"):
        parts.append(f"anchor precision {anchor['fresh_precision']:.3f} on fresh synthetic samples "
                     f"(95% lower bound {anchor['fresh_precision_lower_95']:.3f})")
    if shap := fidelity.get("shap"):
        parts.append(f"SHAP additivity error {shap['additivity_error']:.1e}")
    return parts


def _stability(scores: dict[str, Any]) -> list[str]:
    stability = scores.get("stability", {})
    parts = []
    if lime := stability.get("lime"):
        parts.append(f"LIME top-{lime['top_n']} Jaccard {lime['top_n_jaccard']:.2f} over {lime['repeats']} seeds")
    if anchor := stability.get("anchor"):
        parts.append(f"anchor rules identical in {anchor['identical_share']:.0%} of seed pairs")
    return parts


def _sparsity(scores: dict[str, Any]) -> list[str]:
    sparsity = scores.get("sparsity") or {}  # absent from records written before sparsity was measured
    parts = []
    if lime := sparsity.get("lime"):
        parts.append(f"LIME: 80% of the weight on {lime['effective_features_80']} of "
                     f"{lime['features_used']} features")
    if anchor := sparsity.get("anchor"):
        count = anchor["rule_length"]
        parts.append(f"anchor rule of {count} condition{'' if count == 1 else 's'}")
    if shap := sparsity.get("shap"):
        parts.append(f"SHAP: 80% of the attribution on {shap['features_for_80']} features")
    return parts


def _coverage(scores: dict[str, Any]) -> list[str]:
    anchor = scores.get("fidelity", {}).get("anchor")
    if not anchor:
        return []
    return [f"the anchor rule describes {anchor['coverage']:.1%} of the reference applicants"
            + (" (none: it is specific to this case)" if anchor["covers_no_applicant"] else "")]
