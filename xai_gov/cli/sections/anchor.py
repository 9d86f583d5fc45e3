"""The anchor rule on the terminal, with the precision to trust and its coverage."""

from __future__ import annotations

from typing import Any

from xai_gov.cli.output import console
from xai_gov.explain.records import ExplanationRecord

SECTION = "anchor"
PLACE = 10  # before the counterfactuals and the charts, as the CLI always showed it


def show(record: ExplanationRecord) -> None:
    anchor = record.sections[SECTION]
    fidelity = record.scores["fidelity"]["anchor"]
    then = anchor.get("decision") or record.prediction.predicted_class
    console.print("Anchor rule: [bold]IF " + " AND ".join(anchor["rule"]) + f" THEN {then}[/bold]"
                  + (f" (engine: {anchor['engine']})" if anchor.get("engine") else ""))
    judged = "its 95% lower bound" if "threshold_judged_on" in fidelity else "the re-estimate"
    console.print(f"  precision {fidelity['fresh_precision']:.3f} re-estimated on {fidelity['fresh_samples']} "
                  f"fresh synthetic samples satisfying the rule (95% lower bound "
                  f"{fidelity['fresh_precision_lower_95']:.3f}); threshold {fidelity['threshold']} "
                  f"{'met' if fidelity['threshold_met'] else 'NOT met'} (judged on {judged}); "
                  f"the search's own estimate {fidelity['search_precision']:.3f}; "
                  f"covers {fidelity['coverage']:.1%} of applicants"
                  + (" - NO real applicant" if fidelity["covers_no_applicant"] else ""))


def score_rows(scores: dict[str, Any]) -> list[tuple[str, str]]:
    stable = scores["stability"].get("anchor")
    if not stable:
        return []
    return [("Anchor stability", f"{stable['repeats']} seeds: identical rules {stable['identical_share']:.0%}, "
                                 f"predicate Jaccard {stable['predicate_jaccard']:.3f}")]
