"""View models: a stored record arranged for a page, in the words the packet uses.

Nothing is computed anew here: the values are the record's; this module picks,
orders and words them (and sizes the charts).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from api.pages.charts import Histogram, histogram
from api.pages.sections import Part, Row, shown
from xai_gov.explain import methods as registry
from xai_gov.explain.records import ExplanationRecord
from xai_gov.policies.evaluate import score_at
from xai_gov.quality.glance import QualityRow
from xai_gov.registry.models import ModelVersion
from xai_gov.reports.decision import cautions
from xai_gov.sdk import Client

SECTIONS = "api.pages.sections"  # each method's part of the decision page


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
class DecisionView:
    record: ExplanationRecord
    adverse: bool
    outcome: str
    probabilities: tuple[Row, ...]
    reasons: tuple[dict[str, Any], ...]
    withheld: tuple[str, ...]
    parts: tuple[Part, ...]  # each method's part, in place (api.pages.sections)
    glance: tuple[QualityRow, ...]
    trust: tuple[Row, ...]
    cautions: tuple[str, ...]
    verdict: dict[str, Any] | None
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
        parts=method_parts(record, protected),
        glance=record.quality_at_a_glance(), trust=trust_rows(record.scores),
        cautions=tuple(c["message"] for c in record.cautions or ()) + tuple(cautions(record.scores)),
        verdict=record.verdict,
        decision_rule=_decision_rows(record.decision),
        instance=tuple(Row(labels.get(name, name), shown(value)) for name, value in record.instance.items()))


def method_parts(record: ExplanationRecord, protected: frozenset[str]) -> tuple[Part, ...]:
    """Each method's part of the page, in place; a renderer whose view is None shows nothing."""
    parts = (Part(renderer.TEMPLATE, renderer.view(record, protected)) for renderer in registry.renderers(SECTIONS))
    return tuple(part for part in parts if part.data is not None)


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


def trust_rows(scores: dict[str, Any]) -> tuple[Row, ...]:
    """Each score with what it means, in plain words."""
    rows: list[Row] = [row for renderer in registry.renderers(SECTIONS) if hasattr(renderer, "trust_rows")
                       for row in renderer.trust_rows(scores)]
    agreement = scores.get("agreement")
    if agreement:
        signs = "-" if agreement["sign_agreement"] is None else f"{agreement['sign_agreement']:.0%}"
        rows.append(Row("LIME and SHAP agree", f"{agreement['top_n_overlap']:.0%} of top features, "
                                               f"{signs} same direction",
                        f"the top {agreement['top_n']} features each method names, and which way they push"))
    return tuple(rows)


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
