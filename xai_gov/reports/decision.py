"""The decision packet: one stored explanation, standing alone as evidence (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak

from xai_gov.explain import methods as registry
from xai_gov.explain.records import ExplanationRecord
from xai_gov.lineage.models import external_rows
from xai_gov.policies.evaluate import score_at
from xai_gov.registry.models import ModelVersion
from xai_gov.reports.layout import (
    WIDTH,
    Integrity,
    heading,
    key_values,
    para,
    render,
    spacer,
    table,
    together,
)
from xai_gov.timeutil import format_utc

SECTIONS = "xai_gov.reports.sections"  # each method's renderer

#: Plain-words flags across methods: (score path, test, what to say); each method's are in its renderer.
FLAGS: tuple[tuple[str, Any, str], ...] = (
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
        *_method_sections(record),
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


def cautions(scores: dict[str, Any]) -> list[str]:
    """The plain-words cautions for weak scores or disagreeing methods (the packet's and the decision page's):
    each method's flags (its renderer's ``FLAGS``), then those across methods."""
    flags = [flag for renderer in registry.renderers(SECTIONS) for flag in getattr(renderer, "FLAGS", ())] + [*FLAGS]
    found = []
    for path, test, message in flags:
        value = score_at(scores, path)
        if value is not None and _safe(test, value):
            number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
            found.append(message.format(v=number))
    return found


def _method_sections(record: ExplanationRecord) -> list[Flowable]:
    """Each method's part (``xai_gov.reports.sections``), for the sections the record holds."""
    return [flow for renderer in registry.renderers(SECTIONS) if renderer.SECTION in record.sections
            for flow in renderer.flowables(record)]


def _trust(record: ExplanationRecord) -> list[Flowable]:
    scores = record.scores
    rows: list[tuple[str, str, str]] = [("Score", "Value", "What it measures")]
    for renderer in registry.renderers(SECTIONS):
        rows += renderer.trust_rows(scores) if hasattr(renderer, "trust_rows") else []
    agreement = scores.get("agreement")
    if agreement:
        signs = "-" if agreement["sign_agreement"] is None else f"{agreement['sign_agreement']:.0%}"
        rows += [("LIME vs SHAP", f"overlap {agreement['top_n_overlap']:.0%}, direction {signs}",
                  f"top-{agreement['top_n']} features in common, and pointing the same way")]
    flags = [para("Caution: " + caution, "flag") for caution in cautions(scores)]
    return [together(heading("How far to trust this explanation"), *_quality_at_a_glance(record)), spacer(2),
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
    return [heading("How it was computed"), key_values([
        ("Methods, seed", f"{', '.join(record.methods)}; seed {record.seed}"),
        *[(method.title, ", ".join(f"{k} {v}" for k, v in params[method.name].items()))
          for method in registry.registered() if method.name in params],
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
