"""SHAP on the officer's page: the contributions chart and the additivity check."""

from __future__ import annotations

from typing import Any

from api.pages.charts import BarChart, bar_chart
from api.pages.sections import TOP_BARS, Row, shown
from xai_gov.explain.records import ExplanationRecord
from xai_gov.policies.evaluate import score_at

SECTION = "shap"
PLACE = 20
TEMPLATE = "sections/shap.html"


def view(record: ExplanationRecord, protected: frozenset[str]) -> BarChart | None:
    shap = record.section(SECTION)
    if not shap:
        return None
    values = shap["values"][:TOP_BARS]
    return bar_chart([(f"{v['label']} = {shown(v['value'])}", float(v["contribution"]), v["feature"] in protected)
                      for v in values],
                     title=f"SHAP: contribution of each feature to the probability of '{shap['explained_class']}' "
                           f"(top {len(values)})",
                     caption=f"Starts from the average {shap['base_value']:.3f} ({shap['algorithm']}); right (red) "
                             "raises it, left (blue) lowers it.")


def trust_rows(scores: dict[str, Any]) -> list[Row]:
    fit = score_at(scores, "fidelity.shap")
    return [Row("SHAP adds up to the model's output", f"off by {fit['additivity_error']:.1e}",
                "base value plus every contribution against the model's probability")] if fit else []

