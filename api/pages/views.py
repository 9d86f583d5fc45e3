"""View models: a stored record arranged for a page, in the words the packet uses.

Nothing is computed anew here: the values are the record's; this module picks,
orders and words them (and sizes the charts).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from api.pages.charts import BarChart, Histogram, bar_chart, histogram
from xai_gov.explain.records import ExplanationRecord
from xai_gov.policies.evaluate import score_at
from xai_gov.quality.glance import QualityRow, quality_at_a_glance
from xai_gov.registry.models import ModelVersion
from xai_gov.reports.decision import FLAGS
from xai_gov.sdk import Client

TOP_BARS = 10


def protected_features(client: Client, version: ModelVersion | None = None) -> frozenset[str]:
    """Features never stated as reasons: the policy's, the reason map's, and any the schema marks."""
    names = set(client.policy.protected_features) | {n for n, c in client.reason_map.codes.items() if c.protected}
    if version is not None:  # a schema that declares a feature (protected or not) decides for it
        declared = {f.name: getattr(f, "protected", None) for f in version.schema.features}
        names = {n for n in names if declared.get(n) is not False} | {n for n, p in declared.items() if p}
    return frozenset(names)


@dataclass(frozen=True)
class VersionFacts:
    """What a decision page needs of its model version: the features' labels and which are protected."""

    labels: dict[str, str]
    protected: frozenset[str]


class VersionFactsCache:
    """A version's schema never changes once registered (the ledger covers it), so a page reads it once.
    Bounded; a miss reads the version through the registry as any other page does."""

    def __init__(self, client: Client, size: int = 256) -> None:
        self.client = client
        self.size = size
        self._facts: dict[str, VersionFacts] = {}
        self._lock = threading.Lock()

    def get(self, ref: str) -> VersionFacts:
        facts = self._facts.get(ref)
        if facts is None:
            version = self.client.get_model(ref)
            facts = VersionFacts({f.name: f.label for f in version.schema.features},
                                 protected_features(self.client, version))
            with self._lock:
                if len(self._facts) >= self.size:
                    self._facts.pop(next(iter(self._facts)))
                self._facts[ref] = facts
        return facts


@dataclass(frozen=True)
class Row:
    name: str
    value: str
    meaning: str = ""


@dataclass(frozen=True)
class DecisionView:
    record: ExplanationRecord
    adverse: bool
    outcome: str
    probabilities: tuple[Row, ...]
    reasons: tuple[dict[str, Any], ...]
    withheld: tuple[str, ...]
    lime: BarChart | None
    shap: BarChart | None
    anchor: dict[str, Any] | None
    glance: tuple[QualityRow, ...]
    trust: tuple[Row, ...]
    cautions: tuple[str, ...]
    verdict: dict[str, Any] | None
    counterfactuals: dict[str, Any] | None  # the record's section (xai_gov.explain.methods.counterfactual)
    recourse_note: str | None  # why there is no counterfactual section, in words
    decision_rule: tuple[Row, ...]
    instance: tuple[Row, ...]


def decision_view(record: ExplanationRecord, protected: frozenset[str], labels: dict[str, str]) -> DecisionView:
    prediction = record.prediction
    adverse = record.adverse  # the version's rule, or the bank's own decision where it overrides the rule
    outcome = f"{'Adverse' if adverse else 'Favourable'}" + (
        " (decision overridden by the bank)" if record.overridden else
        " under the bank's rule" if record.decision else f": the model predicts '{prediction.predicted_class}'")
    return DecisionView(
        record=record, adverse=adverse, outcome=outcome,
        probabilities=tuple(Row(name, f"{p:.1%}") for name, p in prediction.probabilities.items()),
        reasons=tuple({**r, "accuracy_words": reason_accuracy(r)} for r in record.reasons),
        withheld=tuple(labels.get(n, n) for n in record.withheld_reasons),
        lime=_lime_chart(record, protected), shap=_shap_chart(record, protected), anchor=_anchor(record),
        glance=quality_at_a_glance(record.scores, record.verdict), trust=trust_rows(record.scores),
        cautions=tuple(c["message"] for c in record.cautions or ()) + cautions(record.scores),
        verdict=record.verdict, counterfactuals=record.section("counterfactuals"), recourse_note=_recourse_note(record),
        decision_rule=_decision_rows(record.decision),
        instance=tuple(Row(labels.get(name, name), _text(value)) for name, value in record.instance.items()))


def _recourse_note(record: ExplanationRecord) -> str | None:
    if record.section("counterfactuals"):
        return None
    if not record.adverse:
        return "The decision is favourable: nothing needs to change."
    if (record.decision or {}).get("by_rule") == "favourable":
        return ("The model version's rule approves this applicant; the decline was the bank's own decision, so "
                "there is no change to the application for the model to find.")
    return "Counterfactual recourse was not part of this explanation."


def _decision_rows(decision: dict[str, Any] | None) -> tuple[Row, ...]:
    """The bank's decision rule and what it decided (records made before decision rules have none)."""
    if not decision:
        return ()
    rule = decision.get("rule") or {}
    rows = [Row("Decision rule", f"{rule.get('rule', '-')} (the model version's rule): {decision.get('by_rule', '-')}")]
    bank = decision.get("bank_decision")
    rows.append(Row("Bank's decision", f"'{bank}'" if bank else "not given: the rule's decision stands"))
    return tuple(rows)


def reason_accuracy(reason: dict[str, Any]) -> str:
    """A stated reason's accuracy in words: how P(adverse) moves when that feature alone takes its reference."""
    accuracy = reason.get("accuracy")
    if not accuracy:
        return ""
    change = f"{accuracy['change']:+.3f}" if accuracy.get("change") is not None else "-"
    verdict = "" if accuracy.get("lowers_adverse") else " — NOT ACCURATE: that move does not lower it"
    return f"P(adverse) {change} if it were {accuracy['reference']}{verdict}"


def _lime_chart(record: ExplanationRecord, protected: frozenset[str]) -> BarChart | None:
    if not record.section("lime"):
        return None
    weights = record.section("lime")["weights"][:TOP_BARS]
    return bar_chart([(w["condition"], float(w["weight"]), w["feature"] in protected) for w in weights],
                     title=f"LIME: weight of each condition toward '{record.section('lime')['explained_class']}' "
                           f"(top {len(weights)})",
                     caption="Right (red): pushes toward the adverse outcome; left (blue): away from it.")


def _shap_chart(record: ExplanationRecord, protected: frozenset[str]) -> BarChart | None:
    if not record.section("shap"):
        return None
    values = record.section("shap")["values"][:TOP_BARS]
    return bar_chart([(f"{v['label']} = {_text(v['value'])}", float(v["contribution"]), v["feature"] in protected)
                      for v in values],
                     title=f"SHAP: contribution of each feature to the probability of "
                           f"'{record.section('shap')['explained_class']}' (top {len(values)})",
                     caption=f"Starts from the average {record.section('shap')['base_value']:.3f} "
                             f"({record.section('shap')['algorithm']}); right (red) raises it, left (blue) lowers it.")


def _anchor(record: ExplanationRecord) -> dict[str, Any] | None:
    if not record.section("anchor"):
        return None
    fidelity = record.scores.get("fidelity", {}).get("anchor") or {}
    explained = record.section("anchor").get("decision") or record.prediction.predicted_class  # the rule's decision
    return {"rule": list(record.section("anchor")["rule"]), "predicted": explained, **fidelity}


def trust_rows(scores: dict[str, Any]) -> tuple[Row, ...]:
    """Each score with what it means, in plain words."""
    rows: list[Row] = []
    lime_f = score_at(scores, "fidelity.lime")
    if lime_f:
        rows.append(Row("How well LIME's summary fits the model here", f"{lime_f['fresh_weighted_r2']:.2f}",
                        "weighted R² on fresh samples around the applicant: 1 is a perfect fit, 0 none"))
        rows.append(Row("LIME's error at the applicant", f"{lime_f['local_error']:.3f}",
                        "difference between LIME's summary and the model, in probability"))
    lime_s = score_at(scores, "stability.lime")
    if lime_s:
        rows.append(Row("LIME under other random seeds", f"{lime_s['top_n_jaccard']:.0%} overlap",
                        f"share of the top {lime_s['top_n']} features that stay the same over "
                        f"{lime_s['repeats']} seeds"))
    anchor_s = score_at(scores, "stability.anchor")
    if anchor_s:
        rows.append(Row("Anchor rule under other seeds", f"{anchor_s['identical_share']:.0%} identical",
                        f"the same rule found in {anchor_s['repeats']} searches"))
    shap_f = score_at(scores, "fidelity.shap")
    if shap_f:
        rows.append(Row("SHAP adds up to the model's output", f"off by {shap_f['additivity_error']:.1e}",
                        "base value plus every contribution against the model's probability"))
    agreement = scores.get("agreement")
    if agreement:
        signs = "-" if agreement["sign_agreement"] is None else f"{agreement['sign_agreement']:.0%}"
        rows.append(Row("LIME and SHAP agree", f"{agreement['top_n_overlap']:.0%} of top features, "
                                               f"{signs} same direction",
                        f"the top {agreement['top_n']} features each method names, and which way they push"))
    return tuple(rows)


def cautions(scores: dict[str, Any]) -> tuple[str, ...]:
    """The packet's plain-words cautions for weak scores or disagreeing methods."""
    found = []
    for path, test, message in FLAGS:
        value = score_at(scores, path)
        if value is None:
            continue
        try:
            weak = bool(test(value))
        except TypeError:
            continue
        if weak:
            number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
            found.append(message.format(v=number))
    return tuple(found)


def _text(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class QualityView:
    """Policy outcomes and score distributions over a version's explanations (the auditor's model page)."""

    count: int
    outcomes: dict[str, int]
    rules: tuple[tuple[str, str, dict[str, int]], ...]
    histograms: tuple[Histogram, ...]


def quality_view(records: list[ExplanationRecord]) -> QualityView:
    outcomes: dict[str, int] = {}
    rules: dict[tuple[str, str], dict[str, int]] = {}
    for record in records:
        if not record.verdict:
            continue
        outcomes[record.verdict["outcome"]] = outcomes.get(record.verdict["outcome"], 0) + 1
        for rule in record.verdict["rules"]:
            counts = rules.setdefault((rule["metric"], str(rule["threshold"])), {})
            counts[rule["outcome"]] = counts.get(rule["outcome"], 0) + 1

    def values(path: str) -> list[float]:
        found = (score_at(r.scores, path) for r in records)
        return [float(v) for v in found if isinstance(v, (int, float)) and not isinstance(v, bool)]

    charts = (histogram(values("fidelity.lime.fresh_weighted_r2"), title="LIME fit on fresh samples (R²)"),
              histogram(values("stability.lime.top_n_jaccard"), title="LIME stability (top-feature overlap)"),
              histogram(values("fidelity.anchor.fresh_precision"), title="Anchor precision, re-checked"),
              histogram(values("agreement.top_n_overlap"), title="LIME-SHAP agreement (top features)"))
    return QualityView(count=len(records), outcomes=outcomes,
                       rules=tuple((m, t, c) for (m, t), c in rules.items()), histograms=charts)
