"""The anchor rule in the decision packet, with the precision to trust, its coverage and stability."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable

from xai_gov.explain.records import ExplanationRecord
from xai_gov.reports.layout import heading, key_values, para, spacer, together

SECTION = "anchor"
PLACE = 20
FLAGS: tuple[tuple[str, Any, str], ...] = (
    ("fidelity.anchor.threshold_met", lambda v: v is False,
     "The anchor rule did not reach its precision target when re-checked on fresh synthetic samples that "
     "satisfy it (judged on the 95% lower bound)."),
    ("fidelity.anchor.covers_no_applicant", lambda v: v is True,
     "The anchor rule describes no applicant in the reference sample: it is specific to this case."),
    ("stability.anchor.identical_share", lambda v: v < 1.0,
     "The anchor search found different rules under different seeds ({v:.0%} identical)."),
)


def flowables(record: ExplanationRecord) -> list[Flowable]:
    anchor = record.sections[SECTION]
    fidelity = record.scores["fidelity"]["anchor"]
    rule = " AND ".join(anchor["rule"]) or "(no condition: the model predicts this for nearly everyone)"
    then = (f"the rule decides {anchor['decision']}" if anchor.get("decision") else
            f"the model predicts '{record.prediction.predicted_class}'")
    judged = "its 95% lower bound" if "threshold_judged_on" in fidelity else "the fresh re-estimate"
    return [together(
        heading("Anchor rule"),
        para(f"IF {rule} THEN {then}."),
        spacer(2),
        key_values([
            ("Precision (to trust)", f"{fidelity['fresh_precision']:.3f}, re-estimated on {fidelity['fresh_samples']} "
                                     f"fresh synthetic samples that satisfy the rule (not applicants); 95% lower "
                                     f"bound {fidelity['fresh_precision_lower_95']:.3f}"),
            ("Search's own estimate", f"{fidelity['search_precision']:.3f} (biased upward by the search's choice)"),
            ("Target", f"{fidelity['threshold']:.2f}: {'met' if fidelity['threshold_met'] else 'NOT met'} "
                       f"(judged on {judged})"),
            ("Engine", anchor.get("engine") or "batched"),
            ("Coverage", f"{fidelity['coverage']:.1%} of the reference applicants satisfy the rule"
                         + (" (none: the rule is specific to this case)" if fidelity["covers_no_applicant"]
                            else "")),
        ]))]


def trust_rows(scores: dict[str, Any]) -> list[tuple[str, str, str]]:
    stable = scores["stability"].get("anchor")
    if not stable:
        return []
    return [("Anchor stability", f"{stable['identical_share']:.0%} identical, Jaccard "
                                 f"{stable['predicate_jaccard']:.3f}", f"over {stable['repeats']} seeds")]
