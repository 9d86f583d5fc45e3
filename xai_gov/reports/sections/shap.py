"""SHAP in the decision packet: the values chart and the additivity check."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable

from xai_gov.explain.records import ExplanationRecord
from xai_gov.reports.layout import bar_chart, heading, together

SECTION = "shap"
PLACE = 30


def flowables(record: ExplanationRecord) -> list[Flowable]:
    shap = record.sections[SECTION]
    items = [(f"{v['label']} = {v['value']}", v["contribution"]) for v in shap["values"][:10]]
    return [together(
        heading("SHAP"),
        bar_chart(items, title=f"SHAP values toward '{shap['explained_class']}' (top 10, {shap['algorithm']})",
                  value_label=f"contribution to the probability of the adverse class; base value "
                              f"{shap['base_value']:.3f}"))]


def trust_rows(scores: dict[str, Any]) -> list[tuple[str, str, str]]:
    fit = scores["fidelity"].get("shap")
    if not fit:
        return []
    return [("SHAP additivity", f"{fit['additivity_error']:.1e}", "|base + sum of values - model|")]
