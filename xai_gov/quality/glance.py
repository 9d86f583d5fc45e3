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

from collections.abc import Mapping
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


def quality_at_a_glance(figures: Mapping[str, list[str]], verdict: dict[str, Any] | None) -> tuple[QualityRow, ...]:
    """The four rows: each criterion's headline ``figures`` in words (each method says its own:
    ``xai_gov.explain.methods.glance_figures``) beside the worst outcome of the policy's rules on it."""
    rules = (verdict or {}).get("rules", [])
    rows = []
    for criterion in CRITERIA:
        mine = [r for r in rules if criterion_of(r["metric"]) == criterion]
        worst = max((r["outcome"] for r in mine), key=_RANK.__getitem__, default=None)
        cautions = tuple(r["why"] for r in mine if r["outcome"] in ("warn", "fail"))
        rows.append(QualityRow(criterion=criterion, value="; ".join(figures.get(criterion, [])) or "-",
                               meaning=MEANINGS[criterion],
                               policy="no rule" if worst is None else _POLICY_WORDS[worst], cautions=cautions))
    return tuple(rows)
