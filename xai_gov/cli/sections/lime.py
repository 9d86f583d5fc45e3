"""LIME on the terminal: the top weights, and its fidelity and stability in "Every score"."""

from __future__ import annotations

from typing import Any

from xai_gov.cli.output import table
from xai_gov.explain.records import ExplanationRecord

SECTION = "lime"
PLACE = 30


def show(record: ExplanationRecord) -> None:
    table("LIME weights toward " + record.prediction.adverse_class + " (top 8)", ["condition", "weight"],
          [(w["condition"], f"{w['weight']:+.3f}") for w in record.sections[SECTION]["weights"][:8]])


def score_rows(scores: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    if fit := scores["fidelity"].get("lime"):
        rows.append(("LIME fidelity", f"weighted R2 on a fresh neighbourhood {fit['fresh_weighted_r2']:.3f} "
                                      f"(in-sample {fit['in_sample_r2']:.3f}); |g(x) - f(x)| {fit['local_error']:.3f}"))
    if stable := scores["stability"].get("lime"):
        rows.append(("LIME stability", f"{stable['repeats']} seeds: top-{stable['top_n']} Jaccard "
                                       f"{stable['top_n_jaccard']:.3f}, VSI {stable['vsi']:.3f}, "
                                       f"CSI {stable['csi']:.3f}"))
    return rows
