"""The anchor rule on the officer's page, with its re-checked precision and coverage."""

from __future__ import annotations

from typing import Any

from api.pages.sections import Row
from xai_gov.explain.records import ExplanationRecord
from xai_gov.policies.evaluate import score_at

SECTION = "anchor"
PLACE = 30
TEMPLATE = "sections/anchor.html"


def view(record: ExplanationRecord, protected: frozenset[str]) -> dict[str, Any] | None:
    anchor = record.section(SECTION)
    if not anchor:
        return None
    fidelity = record.scores.get("fidelity", {}).get("anchor") or {}
    explained = anchor.get("decision") or record.prediction.predicted_class  # the rule's decision
    return {"rule": list(anchor["rule"]), "predicted": explained, **fidelity}


def trust_rows(scores: dict[str, Any]) -> list[Row]:
    stable = score_at(scores, "stability.anchor")
    return [Row("Anchor rule under other seeds", f"{stable['identical_share']:.0%} identical",
                f"the same rule found in {stable['repeats']} searches")] if stable else []
