"""The model-version packet: inventory card, lineage, data, performance, policy results, quality over time."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

import pandas as pd
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table

from xai_gov.explain.reasons import ReasonMap, version_reason_map
from xai_gov.explain.records import ExplanationRecord
from xai_gov.monitoring.models import MonitoringReport
from xai_gov.policies.protected import protected_names
from xai_gov.registry.models import AliasMove, ModelVersion
from xai_gov.reports.decision import lineage_rows
from xai_gov.reports.layout import WIDTH, Integrity, heading, histogram, key_values, para, render, spacer, table
from xai_gov.reports.monitoring import monitoring_section
from xai_gov.timeutil import format_utc

LIMITATIONS = (
    "Explanations describe the model, not the world: a reason is a feature that moved this model's score, "
    "not a cause of the applicant's risk.",
    "LIME fits a linear summary around the applicant; where its fresh-neighbourhood R2 is low, its weights are "
    "a rough guide only.",
    "Anchor precision is re-estimated on fresh samples drawn from the reference (background) sample; rules that "
    "cover no reference applicant are specific to one case.",
    "The reference sample is a {rows}-row sample of the training data: explanations of applicants unlike it "
    "extrapolate.",
    "Protected attributes are never stated as reasons, but the model may still use them or their proxies; the "
    "monitoring section screens approval rates by group and checks for proxies, which is not a legal finding.",
)


def model_packet(version: ModelVersion, *, background: pd.DataFrame, explanations: list[ExplanationRecord],
                 history: list[AliasMove], versions: list[ModelVersion], reason_map: ReasonMap,
                 ledger_seq: int | None, ledger_hash: str | None,
                 monitoring: MonitoringReport | None = None) -> bytes:
    from xai_gov.canonical import sha256_json
    from xai_gov.store.ledger import field_hashes

    record = version.record()
    integrity = Integrity("Model version record", sha256_json(field_hashes(record)), ledger_seq, ledger_hash)
    story: list[Flowable] = [
        para(f"Model-version packet: {version.ref}", "title"),
        para(f"Registered {format_utc(version.registered_at)} by {version.registered_by} | "
             f"{len(explanations)} explanations so far", "subtitle"),
        *_inventory(version, history),
        heading("Lineage"), key_values(lineage_rows(version)),
        *_training_data(version, background),
        *_performance(version),
        *_policy_results(explanations),
        *_quality(explanations),
        *monitoring_section(monitoring, version.ref),
        *_reason_codes(version, reason_map),
        heading("Limitations"),
        *[para(f"- {text.format(rows=version.background_rows)}") for text in LIMITATIONS],
        *_change_log(version, versions, history),
    ]
    attachment = {"kind": "model", "record": record, "ledger": {"seq": ledger_seq, "hash": ledger_hash},
                  "explanations": len(explanations),
                  "monitoring_run": None if monitoring is None else {
                      "id": monitoring.id, "record_sha256": sha256_json(monitoring.to_dict())}}
    return render(story, title=f"Model-version packet {version.ref}", integrity=integrity, record=attachment)


def _inventory(version: ModelVersion, history: list[AliasMove]) -> list[Flowable]:
    schema = version.schema
    inputs = [("Feature", "Label", "Kind", "Values")] + [
        (f.name, f.label, f.kind, ", ".join(f.categories) if f.kind == "categorical"
         else _numeric_range(f))
        for f in schema.features]
    adapter = ", ".join(f"{k} {v}" for k, v in version.adapter_spec.items() if v not in (None, "", []))
    current = ", ".join(f"{m.alias} since {format_utc(m.moved_at)}" for m in _current_aliases(version, history))
    return [heading("Inventory card"), key_values([
        ("Purpose", version.description or "-"),
        ("Owner", version.registered_by),
        ("Outputs", f"probabilities of {', '.join(schema.class_names)}; adverse class '{schema.adverse_class}'"),
        ("Model", adapter),
        ("Aliases", current or "-"),
    ]), spacer(2), table(inputs, [34 * mm, 48 * mm, 20 * mm, WIDTH - 102 * mm])]


def _training_data(version: ModelVersion, background: pd.DataFrame) -> list[Flowable]:
    rows: list[tuple[str, str]] = [("Feature", "In the reference sample")]
    for feature in version.schema.features:
        column = background[feature.name]
        if feature.kind == "categorical":
            top = column.value_counts().head(3)
            rows.append((feature.label, ", ".join(f"{v} {c / len(column):.0%}" for v, c in top.items())))
        else:
            rows.append((feature.label, f"median {column.median():g}, range {column.min():g} to {column.max():g}"))
    lineage = version.lineage
    return [heading("Training data"), para(
        f"Training data: {lineage.data_rows or '-'} rows, canonical SHA-256 {lineage.data_sha256 or '-'}. "
        f"Reference (background) sample kept with the model: {version.background_rows} rows, "
        f"sha256 {version.background_sha256}."), spacer(2), table(rows, [60 * mm, WIDTH - 60 * mm])]


def _performance(version: ModelVersion) -> list[Flowable]:
    metrics = version.lineage.metrics
    if not metrics:
        return [heading("Performance"), para("No performance metrics were recorded at registration.")]
    return [heading("Performance"), table([("Metric", "Value")] + [(k, v) for k, v in metrics.items()],
                                          [60 * mm, WIDTH - 60 * mm])]


def _policy_results(explanations: list[ExplanationRecord]) -> list[Flowable]:
    verdicts = [r.verdict for r in explanations if r.verdict]
    if not verdicts:
        return [heading("Policy results"), para("No explanation has been evaluated yet.")]
    outcomes = Counter(v["outcome"] for v in verdicts)
    by_rule: dict[tuple[str, str], Counter[str]] = {}
    for verdict in verdicts:
        for rule in verdict["rules"]:
            by_rule.setdefault((rule["metric"], rule["threshold"]), Counter())[rule["outcome"]] += 1
    rows = [("Rule", "Threshold", "Pass", "Warn", "Fail", "Not measured")] + [
        (metric, threshold, c["pass"], c["warn"], c["fail"], c["not_measured"])
        for (metric, threshold), c in by_rule.items()]
    summary = ", ".join(f"{outcomes[o]} {o}" for o in ("pass", "warn", "fail") if outcomes[o])
    return [heading("Policy results"), para(f"Verdicts over {len(verdicts)} explanations: {summary}."), spacer(1),
            table(rows, [62 * mm, 22 * mm, 18 * mm, 18 * mm, 18 * mm, WIDTH - 138 * mm])]


def _quality(explanations: list[ExplanationRecord]) -> list[Flowable]:
    """The four criteria over every stored explanation: fidelity, stability, sparsity, coverage."""
    fidelity = _scores(explanations, "fidelity", "lime", "fresh_weighted_r2")
    stability = _scores(explanations, "stability", "lime", "top_n_jaccard")
    shap_sparsity = _scores(explanations, "sparsity", "shap", "features_for_80")
    rule_lengths = _scores(explanations, "sparsity", "anchor", "rule_length")
    coverage = _scores(explanations, "fidelity", "anchor", "coverage")
    overlaps = [r.scores["agreement"]["top_n_overlap"] for r in explanations if r.scores.get("agreement")]
    precision = _scores(explanations, "fidelity", "anchor", "fresh_precision")
    most = max([*shap_sparsity, 10])
    charts = Table([[histogram([max(0.0, v) for v in fidelity], title="Fidelity: LIME R2 on a fresh neighbourhood"),
                     histogram(stability, title="Stability: LIME top-5 Jaccard over seeds")],
                    [histogram(shap_sparsity, title="Sparsity: features carrying 80% of SHAP attribution",
                               bins=int(most), low=1, high=most + 1, label_format="{:.0f}"),
                     histogram(coverage, title="Coverage: share of applicants the anchor rule describes",
                               low=0.0, high=0.2, label_format="{:.0%}")]],
                   colWidths=[WIDTH / 2, WIDTH / 2])
    summary = [("Explanations", len(explanations)),
               ("LIME-SHAP agreement", f"mean top-5 overlap {_mean(overlaps)}" if overlaps else "-"),
               ("Anchor precision (fresh)", f"mean {_mean(precision)}; below 0.95 in "
                                            f"{sum(p < 0.95 for p in precision)} of {len(precision)}"
                if precision else "-"),
               ("Anchor rule length", f"mean {_mean(rule_lengths)} conditions; longer than 4 in "
                                      f"{sum(n > 4 for n in rule_lengths)} of {len(rule_lengths)}"
                if rule_lengths else "-"),
               ("Anchor coverage", f"none for {sum(c == 0 for c in coverage)} of {len(coverage)} rules; "
                                   "the coverage chart puts 20% and above in its last bar" if coverage else "-")]
    return [heading("Explanation quality so far"), charts, spacer(1), key_values(summary)]


def _scores(explanations: list[ExplanationRecord], criterion: str, method: str, name: str) -> list[float]:
    """One score over the explanations that measured it (records older than a score lack it)."""
    found = [((r.scores.get(criterion) or {}).get(method) or {}).get(name) for r in explanations]
    return [float(v) for v in found if v is not None]


def _reason_codes(version: ModelVersion, reason_map: ReasonMap) -> list[Flowable]:
    reason_map = version_reason_map(version.schema, reason_map)
    protected = protected_names(version.schema, ())
    rows: list[tuple[str, str, str, str]] = [("Code", "Feature", "Statement", "Per category")]
    for feature in version.schema.features:
        code = reason_map.codes.get(feature.name)
        if feature.name in protected or (code is not None and code.protected):
            rows.append((code.code if code else "-", feature.label, "never stated (protected)", "-"))
            continue
        if code is None or feature.name in reason_map.never:
            rows.append(("-", feature.label, "never stated (not a reason)", "-"))
            continue
        extra = [f"{k}: {v}" for k, v in code.by_category.items()] + ([f"missing: {code.missing}"]
                                                                        if code.missing else [])
        rows.append((code.code, feature.label, code.statement, "; ".join(extra) or "-"))
    return [heading("Reason-code map"), para(f"From {reason_map.source}.", "small"),
            table(rows, [13 * mm, 42 * mm, 55 * mm, WIDTH - 110 * mm])]


def _change_log(version: ModelVersion, versions: list[ModelVersion], history: list[AliasMove]) -> list[Flowable]:
    events: list[tuple[str, str]] = [(format_utc(v.registered_at) or "", f"{v.ref} registered by {v.registered_by}"
                                      + (f" (parent {v.lineage.parent_version})" if v.lineage.parent_version else ""))
                                     for v in versions]
    events += [(format_utc(m.moved_at) or "", f"{m.alias}: {m.from_version or '-'} -> {m.to_version} by {m.actor}")
               for m in history]
    rows = [("When (UTC)", "What"), *sorted(events)]
    return [heading(f"Change log of {version.name}"), table(rows, [45 * mm, WIDTH - 45 * mm])]


def _current_aliases(version: ModelVersion, history: list[AliasMove]) -> list[AliasMove]:
    latest: dict[str, AliasMove] = {}
    for move in history:
        latest[move.alias] = move
    return [m for alias, m in sorted(latest.items()) if alias in version.aliases]


def _mean(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f}"


def _number(value: Any) -> str:
    return "-" if value is None else (str(int(value)) if float(value).is_integer() else f"{value:g}")


def _numeric_range(feature: Any) -> str:
    """The range seen in training and, where the owner set them, the hard limits."""
    parts = []
    if feature.observed_min is not None or feature.observed_max is not None:
        parts.append(f"trained on {_number(feature.observed_min)} to {_number(feature.observed_max)}")
    if feature.minimum is not None or feature.maximum is not None:
        parts.append(f"limits {_number(feature.minimum)} to {_number(feature.maximum)}")
    return "; ".join(parts or ["any number"]) + (" (whole numbers)" if feature.integer else "")
