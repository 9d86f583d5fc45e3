"""Counterfactual recourse in the decision packet: each minimal set of changes the model approves."""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from xai_gov.explain.records import ExplanationRecord
from xai_gov.reports.layout import WIDTH, heading, para, table

SECTION = "counterfactuals"
PLACE = 5  # right after the reasons: what an officer is asked next


def flowables(record: ExplanationRecord) -> list[Flowable]:
    section = record.sections[SECTION]
    flows: list[Flowable] = [heading("What would change the decision (counterfactual recourse)")]
    if not section["options"]:
        flows.append(para(section["note"]))
    rows = [("#", "Had the application been so, the model would have approved it", "Changes", "Distance")] + [
        (str(n), option["statement"], str(option["features_changed"]), f"{option['distance']:.2f}")
        for n, option in enumerate(section["options"], 1)]
    if section["options"]:
        flows.append(table(rows, [8 * mm, WIDTH - 46 * mm, 18 * mm, 20 * mm]))
    fixed = ", ".join(f"{f['label']} ({f['why']})" for f in section.get("fixed", []))
    validity = section.get("validity")
    flows.append(para(f"Target: {section['target']}. Only features the applicant can act on change; never changed: "
                      f"{fixed or 'none'}. Each set was checked by the model itself"
                      + (f" (validity {validity:.0%})" if validity is not None else "") +
                      ". Distance: the size of the changes (in median absolute deviations of each number in the "
                      "background, 1 per category). What the model would decide, not advice.", "small"))
    return flows
