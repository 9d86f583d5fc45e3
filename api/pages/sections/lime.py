"""LIME on the officer's page: the weights chart and what its scores mean."""

from __future__ import annotations

from typing import Any

from api.pages.charts import BarChart, bar_chart
from api.pages.sections import TOP_BARS, Row
from xai_gov.explain.records import ExplanationRecord
from xai_gov.policies.evaluate import score_at

SECTION = "lime"
PLACE = 10
TEMPLATE = "sections/lime.html"


def view(record: ExplanationRecord, protected: frozenset[str]) -> BarChart | None:
    lime = record.section(SECTION)
    if not lime:
        return None
    weights = lime["weights"][:TOP_BARS]
    return bar_chart([(w["condition"], float(w["weight"]), w["feature"] in protected) for w in weights],
                     title=f"LIME: weight of each condition toward '{lime['explained_class']}' (top {len(weights)})",
                     caption="Right (red): pushes toward the adverse outcome; left (blue): away from it.")


def trust_rows(scores: dict[str, Any]) -> list[Row]:
    rows = []
    if fit := score_at(scores, "fidelity.lime"):
        rows.append(Row("How well LIME's summary fits the model here", f"{fit['fresh_weighted_r2']:.2f}",
                        "weighted R² on fresh samples around the applicant: 1 is a perfect fit, 0 none"))
        rows.append(Row("LIME's error at the applicant", f"{fit['local_error']:.3f}",
                        "difference between LIME's summary and the model, in probability"))
    if stable := score_at(scores, "stability.lime"):
        rows.append(Row("LIME under other random seeds", f"{stable['top_n_jaccard']:.0%} overlap",
                        f"share of the top {stable['top_n']} features that stay the same over "
                        f"{stable['repeats']} seeds"))
    return rows
