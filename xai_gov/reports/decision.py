"""The decision packet: one stored explanation, standing alone as evidence (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak

from xai_gov.explain.records import ExplanationRecord
from xai_gov.lineage.models import external_rows
from xai_gov.policies.evaluate import score_at
from xai_gov.registry.models import ModelVersion
from xai_gov.reports.layout import (
    WIDTH,
    Integrity,
    bar_chart,
    heading,
    key_values,
    para,
    render,
    spacer,
    table,
    together,
)
from xai_gov.timeutil import format_utc

#: Plain-words flags: (score path, test, what to say).
FLAGS: tuple[tuple[str, Any, str], ...] = (
    ("fidelity.lime.fresh_weighted_r2", lambda v: v < 0.3,
     "LIME's linear summary explains only {v:.0%} of the model's behaviour around this applicant: read its "
     "weights as a rough guide."),
    ("fidelity.anchor.threshold_met", lambda v: v is False,
     "The anchor rule did not reach its precision target when re-checked on fresh synthetic samples that "
     "satisfy it (judged on the 95% lower bound)."),
    ("fidelity.anchor.covers_no_applicant", lambda v: v is True,
     "The anchor rule describes no applicant in the reference sample: it is specific to this case."),
    ("stability.lime.top_n_jaccard", lambda v: v < 0.7,
     "LIME's most important features change between random seeds (overlap {v:.0%}): weigh them with care."),
    ("stability.anchor.identical_share", lambda v: v < 1.0,
     "The anchor search found different rules under different seeds ({v:.0%} identical)."),
    ("agreement.top_n_overlap", lambda v: v < 0.6,
     "LIME and SHAP agree on only {v:.0%} of their top features: the methods disagree."),
    ("agreement.sign_agreement", lambda v: v is not None and v < 1.0,
     "LIME and SHAP disagree on the direction of some shared features ({v:.0%} agree)."),
)


def decision_packet(record: ExplanationRecord, version: ModelVersion, *, ledger_seq: int | None,
                    ledger_hash: str | None, applicant_rights: str) -> bytes:
    stored = record.to_dict()
    integrity = Integrity("Explanation record", stored["record_sha256"], ledger_seq, ledger_hash)
    story: list[Flowable] = [
        para(f"Decision packet: {record.decision_id}", "title"),
        para(f"Model {record.model_ref} | explained {format_utc(record.requested_at)} for {record.requested_by} | "
             f"explanation {record.id}", "subtitle"),
        *_decision(record, version.schema.class_label),
        *_reasons(record),
        *_recourse(record),
        *_lime(record),
        *_anchor(record),
        *_shap(record),
        *_trust(record),
        *_verdict(record),
        PageBreak(),
        *_input(record),
        *_lineage(version),
        *_reproducibility(record),
        heading("The applicant's rights"),
        para(applicant_rights),
    ]
    attachment = {"kind": "decision", "record": stored, "ledger": {"seq": ledger_seq, "hash": ledger_hash}}
    return render(story, title=f"Decision packet {record.decision_id}", integrity=integrity, record=attachment)


def _decision(record: ExplanationRecord, label: Callable[[str], str] = str) -> list[Flowable]:
    """``label`` names a class as the version's owner named it (e.g. 'defaulted (1)')."""
    prediction = record.prediction
    outcome = "ADVERSE" if record.adverse else "favourable"
    probabilities = ", ".join(f"{label(name)} {p:.1%}" for name, p in prediction.probabilities.items())
    rows: list[tuple[str, Any]] = []
    if record.decision is None:
        rows.append(("Outcome", f"{outcome}: the model predicts '{label(prediction.predicted_class)}'"))
    else:
        decision = record.decision
        rows += [("Outcome", outcome + (" - decision overridden by the bank" if record.overridden else "")),
                 ("Decision rule", f"{decision['rule']['rule']} (the model version's rule): {decision['by_rule']}"),
                 ("Bank's decision", f"'{label(decision['bank_decision'])}'" if decision["bank_decision"] else
                  "not given: the rule's decision stands")]
    rows += [
        ("Probabilities", probabilities),
        ("Adverse class", f"'{label(prediction.adverse_class)}' ({prediction.adverse_probability:.1%})"),
        ("Decision id", record.decision_id + (f" (re-explains {record.re_explains})" if record.re_explains else "")),
        ("Input hash", record.instance_sha256),
    ]
    flows: list[Flowable] = [heading("Decision"), key_values(rows)]
    for caution in record.cautions or []:
        flows.append(para("Caution: " + caution["message"], "flag"))
    return flows


def _reasons(record: ExplanationRecord) -> list[Flowable]:
    title = "Principal reasons" if record.adverse else \
        f"What counted against (toward '{record.prediction.adverse_class}'; the decision was favourable)"
    if not record.reasons:
        if not record.adverse:
            return []  # a favourable decision lists what counted against only when asked
        return [heading(title), para("No feature pushed toward the adverse class."),
                para(protected_words(record), "small")]
    rows = [("Code", "Reason", "Applicant's value", "Push", "Accuracy")] + [
        (r["code"], r["statement"], r["value"], f"+{r['contribution']:.3f}", _accuracy(r)) for r in record.reasons]
    flows: list[Flowable] = [heading(title),
                             table(rows, [13 * mm, 70 * mm, 38 * mm, 16 * mm, WIDTH - 137 * mm])]
    if any("accuracy" in r for r in record.reasons):
        flows.append(para("Accuracy: the change in the probability of the adverse class when that feature alone "
                          "moves to its reference value (a typical value among applicants the rule approves). A "
                          "reason whose move does not lower it is marked NOT ACCURATE.", "small"))
    flows += [para(f"Caution: the reason '{r['statement']}' is not accurate: moving it to {r['accuracy']['reference']}"
                   " does not lower the probability of the adverse class.", "flag")
              for r in record.reasons if r.get("accuracy") and not r["accuracy"]["lowers_adverse"]]
    flows.append(para(protected_words(record), "small"))
    source = record.reasons[0]["source"].upper()
    flows.append(para(f"Ranked by {source} contribution toward '{record.prediction.adverse_class}'; statements "
                      f"from {record.reason_map.split('/')[-1]}.", "small"))
    return flows


def protected_words(record: ExplanationRecord) -> str:
    """What the protected features did in this decision, in words."""
    protected = (record.scores or {}).get("protected") or {}
    names = protected.get("features") or []
    if not names:
        return "No feature of this model is declared protected."
    text = (f"Protected features ({', '.join(names)}) are never stated as reasons. ")
    share = protected.get("attribution_share")
    if share is not None:
        text += (f"They carry {share:.0%} of this decision's {str(protected.get('source', '')).upper()} "
                 "attribution. ")
    if record.withheld_reasons:
        text += f"Withheld although they pushed toward '{record.prediction.adverse_class}': " \
                f"{', '.join(record.withheld_reasons)}."
    return text.strip()


def _recourse(record: ExplanationRecord) -> list[Flowable]:
    """Counterfactual recourse: each minimal set of changes the model approves, as a sentence."""
    section = record.section("counterfactuals")
    if not section:
        return []
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


def _lime(record: ExplanationRecord) -> list[Flowable]:
    if not record.section("lime"):
        return []
    lime = record.section("lime")
    items = [(w["condition"], w["weight"]) for w in lime["weights"][:10]]
    return [heading("LIME"), together(
        bar_chart(items, title=f"LIME weights toward '{lime['explained_class']}' (top 10)",
                  value_label="weight on the probability of the adverse class: red pushes toward it, blue away"),
        para(f"Intercept {lime['intercept']:.3f}; surrogate at the applicant {lime['local_prediction']:.3f} vs the "
             f"model's {lime['model_prediction']:.3f}; LIME's own in-sample R2 {lime['in_sample_r2']:.3f}.",
             "small"))]


def _anchor(record: ExplanationRecord) -> list[Flowable]:
    if not record.section("anchor"):
        return []
    anchor = record.section("anchor")
    fidelity = record.scores["fidelity"]["anchor"]
    rule = " AND ".join(anchor["rule"]) or "(no condition: the model predicts this for nearly everyone)"
    then = (f"the rule decides {anchor['decision']}" if anchor.get("decision") else
            f"the model predicts '{record.prediction.predicted_class}'")
    judged = "its 95% lower bound" if "threshold_judged_on" in fidelity else "the fresh re-estimate"
    return [heading("Anchor rule"), together(
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


def _shap(record: ExplanationRecord) -> list[Flowable]:
    if not record.section("shap"):
        return []
    shap = record.section("shap")
    items = [(f"{v['label']} = {v['value']}", v["contribution"]) for v in shap["values"][:10]]
    return [heading("SHAP"), together(
        bar_chart(items, title=f"SHAP values toward '{shap['explained_class']}' (top 10, {shap['algorithm']})",
                  value_label=f"contribution to the probability of the adverse class; base value "
                              f"{shap['base_value']:.3f}"))]


def _trust(record: ExplanationRecord) -> list[Flowable]:
    scores = record.scores
    rows: list[tuple[str, str, str]] = [("Score", "Value", "What it measures")]
    lime_f = scores["fidelity"].get("lime")
    if lime_f:
        rows += [("LIME fidelity", f"{lime_f['fresh_weighted_r2']:.3f}",
                  "weighted R2 of LIME's surrogate on a fresh neighbourhood (1 = perfect)"),
                 ("LIME local error", f"{lime_f['local_error']:.3f}", "|surrogate - model| at the applicant")]
    lime_s = scores["stability"].get("lime")
    if lime_s:
        rows += [("LIME stability", f"Jaccard {lime_s['top_n_jaccard']:.3f}, VSI {lime_s['vsi']:.3f}, "
                                    f"CSI {lime_s['csi']:.3f}",
                  f"top-{lime_s['top_n']} features over {lime_s['repeats']} seeds (Visani et al. 2020)")]
    anchor_s = scores["stability"].get("anchor")
    if anchor_s:
        rows += [("Anchor stability", f"{anchor_s['identical_share']:.0%} identical, Jaccard "
                                      f"{anchor_s['predicate_jaccard']:.3f}", f"over {anchor_s['repeats']} seeds")]
    shap_f = scores["fidelity"].get("shap")
    if shap_f:
        rows += [("SHAP additivity", f"{shap_f['additivity_error']:.1e}", "|base + sum of values - model|")]
    agreement = scores.get("agreement")
    if agreement:
        signs = "-" if agreement["sign_agreement"] is None else f"{agreement['sign_agreement']:.0%}"
        rows += [("LIME vs SHAP", f"overlap {agreement['top_n_overlap']:.0%}, direction {signs}",
                  f"top-{agreement['top_n']} features in common, and pointing the same way")]
    flags = []
    for path, test, message in FLAGS:
        value = score_at(scores, path)
        if value is not None and _safe(test, value):
            number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
            flags.append(para("Caution: " + message.format(v=number), "flag"))
    return [heading("How far to trust this explanation"), *_quality_at_a_glance(record), spacer(2),
            para("Every score", "small"), table(rows, [32 * mm, 55 * mm, WIDTH - 87 * mm]),
            spacer(2), *(flags or [para("No score is weak and the methods agree.", "body")])]


def _quality_at_a_glance(record: ExplanationRecord) -> list[Flowable]:
    rows: list[tuple[str, str, str, str]] = [("Criterion", "Value", "What it means", "Policy")]
    rows += [(row.criterion.capitalize(), row.value, row.meaning,
              row.policy_in_words()) for row in record.quality_at_a_glance()]
    return [para("Quality at a glance", "small"),
            table(rows, [22 * mm, 62 * mm, 52 * mm, WIDTH - 136 * mm])]


def _verdict(record: ExplanationRecord) -> list[Flowable]:
    verdict = record.verdict
    if not verdict:
        return []
    policy = verdict["policy"]
    rows = [("Rule", "Measured", "Threshold", "Outcome")] + [
        (rule["metric"], "-" if rule["value"] is None else f"{rule['value']:.3g}", rule["threshold"],
         rule["outcome"].replace("_", " ").upper() if rule["outcome"] in ("warn", "fail") else
         rule["outcome"].replace("_", " ")) for rule in verdict["rules"]]
    return [heading(f"Policy verdict: {verdict['outcome'].upper()}"),
            para(f"Policy '{policy['name']}' version {policy['version']}, file sha256 {policy['sha256']}.", "small"),
            spacer(1), table(rows, [70 * mm, 25 * mm, 25 * mm, WIDTH - 120 * mm])]


def _input(record: ExplanationRecord) -> list[Flowable]:
    rows = [("Feature", "Value as entered")] + [(name, value) for name, value in record.instance.items()]
    return [heading("The input as entered"), para(f"Canonical SHA-256: {record.instance_sha256}", "small"),
            spacer(1), table(rows, [70 * mm, WIDTH - 70 * mm])]


def lineage_rows(version: ModelVersion) -> list[tuple[str, Any]]:
    lineage = version.lineage
    missing = "; ".join(f"{k}: {v}" for k, v in lineage.missing.items()) or "-"
    return [
        ("Model version", f"{version.ref} (aliases: {', '.join(version.aliases) or '-'})"),
        ("Registered", f"{format_utc(version.registered_at)} by {version.registered_by}"),
        ("Code", f"{lineage.code_repository or '-'} @ {lineage.code_commit or '-'}"
                 + (" (uncommitted changes)" if lineage.code_dirty else "")),
        ("Training data", f"{lineage.data_sha256 or '-'}, {lineage.data_rows or '-'} rows"),
        ("Data source", lineage.data_source_uri or "-"),
        ("Trainer", lineage.trainer or "-"),
        ("Trained", f"{format_utc(lineage.training_started_at) or '-'} to "
                    f"{format_utc(lineage.training_ended_at) or '-'}"),
        ("Metrics", ", ".join(f"{k} {v}" for k, v in lineage.metrics.items()) or "-"),
        ("Seeds", ", ".join(f"{k} {v}" for k, v in lineage.seeds.items()) or "-"),
        ("Environment", f"Python {lineage.environment.get('python', '-')}, "
                        + ", ".join(f"{n} {lineage.environment.get('packages', {}).get(n, '-')}"
                                    for n in ("scikit-learn", "numpy", "pandas"))),
        ("Decision rule", version.rule.describe() + ("" if version.decision_rule else
                                                      " (none registered: the default)")),
        ("Parent version", lineage.parent_version or "-"),
        *external_rows(lineage),
        ("Artifact", f"sha256 {version.artifact_sha256 or '-'}"),
        ("Not captured", missing),
    ]


def _lineage(version: ModelVersion) -> list[Flowable]:
    return [heading("Lineage of the model version"), key_values(lineage_rows(version))]


def _reproducibility(record: ExplanationRecord) -> list[Flowable]:
    params = record.parameters
    lime, anchor = params.get("lime", {}), params.get("anchor", {})
    return [heading("How it was computed"), key_values([
        ("Methods, seed", f"{', '.join(record.methods)}; seed {record.seed}"),
        ("LIME", ", ".join(f"{k} {v}" for k, v in lime.items())),
        ("Anchor", ", ".join(f"{k} {v}" for k, v in anchor.items())),
        *([("Counterfactual", ", ".join(f"{k} {v}" for k, v in params["counterfactual"].items()))]
          if "counterfactual" in params else []),
        ("Model calls", params.get("model_path", "-")),
        ("Libraries", ", ".join(f"{k} {v}" for k, v in record.library_versions.items())),
        ("Background sample", f"sha256 {record.background_sha256}"),
        ("Timings (s)", ", ".join(f"{k} {v:.3f}" for k, v in record.timings.items())),
    ])]


def _accuracy(reason: dict[str, Any]) -> str:
    accuracy = reason.get("accuracy")
    if not accuracy:
        return "-"
    text = f"{accuracy['change']:+.3f} at {accuracy['reference']}"
    return text if accuracy["lowers_adverse"] else text + " NOT ACCURATE"


def _safe(test: Any, value: Any) -> bool:
    try:
        return bool(test(value))
    except TypeError:
        return False
