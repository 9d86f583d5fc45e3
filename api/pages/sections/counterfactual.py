"""Counterfactual recourse on the officer's page, or why there is none."""

from __future__ import annotations

from typing import Any

from xai_gov.explain.records import ExplanationRecord

SECTION = "counterfactuals"
PLACE = 5  # right after the reasons
TEMPLATE = "sections/counterfactual.html"


def view(record: ExplanationRecord, protected: frozenset[str]) -> dict[str, Any]:
    return {"section": record.section(SECTION), "note": _note(record)}


def _note(record: ExplanationRecord) -> str | None:
    """Why there is no counterfactual section, in words."""
    if record.section(SECTION):
        return None
    if not record.adverse:
        return "The decision is favourable: nothing needs to change."
    if (record.decision or {}).get("by_rule") == "favourable":
        return ("The model version's rule approves this applicant; the decline was the bank's own decision, so "
                "there is no change to the application for the model to find.")
    return "Counterfactual recourse was not part of this explanation."
