"""LIME in the decision packet: the weights chart, the surrogate's figures, its fidelity and stability."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Flowable

from xai_gov.explain.records import ExplanationRecord
from xai_gov.reports.layout import bar_chart, heading, para, together

SECTION = "lime"
PLACE = 10
FLAGS: tuple[tuple[str, Any, str], ...] = (
    ("fidelity.lime.fresh_weighted_r2", lambda v: v < 0.3,
     "LIME's linear summary explains only {v:.0%} of the model's behaviour around this applicant: read its "
     "weights as a rough guide."),
    ("stability.lime.top_n_jaccard", lambda v: v < 0.7,
     "LIME's most important features change between random seeds (overlap {v:.0%}): weigh them with care."),
)


def flowables(record: ExplanationRecord) -> list[Flowable]:
    lime = record.sections[SECTION]
    items = [(w["condition"], w["weight"]) for w in lime["weights"][:10]]
    return [together(  # the heading stays with its chart: never alone at the foot of a page
        heading("LIME"),
        bar_chart(items, title=f"LIME weights toward '{lime['explained_class']}' (top 10)",
                  value_label="weight on the probability of the adverse class: red pushes toward it, blue away"),
        para(f"Intercept {lime['intercept']:.3f}; surrogate at the applicant {lime['local_prediction']:.3f} vs the "
             f"model's {lime['model_prediction']:.3f}; LIME's own in-sample R2 {lime['in_sample_r2']:.3f}.",
             "small"))]


def trust_rows(scores: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    if fit := scores["fidelity"].get("lime"):
        rows += [("LIME fidelity", f"{fit['fresh_weighted_r2']:.3f}",
                  "weighted R2 of LIME's surrogate on a fresh neighbourhood (1 = perfect)"),
                 ("LIME local error", f"{fit['local_error']:.3f}", "|surrogate - model| at the applicant")]
    if stable := scores["stability"].get("lime"):
        rows += [("LIME stability", f"Jaccard {stable['top_n_jaccard']:.3f}, VSI {stable['vsi']:.3f}, "
                                    f"CSI {stable['csi']:.3f}",
                  f"top-{stable['top_n']} features over {stable['repeats']} seeds (Visani et al. 2020)")]
    return rows
