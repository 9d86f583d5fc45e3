"""SHAP on the terminal: the top values and the additivity check."""

from __future__ import annotations

from typing import Any

from xai_gov.cli.output import table
from xai_gov.explain.records import ExplanationRecord

SECTION = "shap"
PLACE = 40


def show(record: ExplanationRecord) -> None:
    shap = record.sections[SECTION]
    table(f"SHAP values toward {record.prediction.adverse_class} (base {shap['base_value']:.3f}, top 8)",
          ["feature", "value", "contribution"],
          [(v["label"], v["value"], f"{v['contribution']:+.3f}") for v in shap["values"][:8]])


def score_rows(scores: dict[str, Any]) -> list[tuple[str, str]]:
    fit = scores["fidelity"].get("shap")
    return [("SHAP additivity", f"|base + sum - f(x)| = {fit['additivity_error']:.2e}")] if fit else []
