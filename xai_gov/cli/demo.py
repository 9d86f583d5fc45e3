"""``make demo`` / ``xai-gov demo``: the product's main job, end to end, on the shipped data.

Train and register the credit model with its lineage, look it up from every side,
explain one approved and one denied applicant, replay one explanation, explain a
small batch, simulate a month of ordinary applicants and a drifted one and
monitor it, export and
verify the decision and model-version packets, sign a checkpoint of the audit
ledger and verify it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xai_gov.actors import Actor
from xai_gov.batch.rows import BatchRow
from xai_gov.cli.batch import ProgressBar
from xai_gov.cli.explanations import show_record
from xai_gov.cli.lineage import show_lineage
from xai_gov.cli.monitor import show_report
from xai_gov.cli.output import console, short, table, when
from xai_gov.datasets import GERMAN_CREDIT_LABELS
from xai_gov.errors import NotFound
from xai_gov.examples import credit_model
from xai_gov.explain.engine import as_entered
from xai_gov.lineage.models import LineageView
from xai_gov.monitoring.models import MonitoringReport
from xai_gov.registry.models import ModelVersion
from xai_gov.sdk import Client
from xai_gov.timeutil import utcnow

MODEL_NAME = "credit-risk"
BATCH_ROWS = 8  # the demo's batch: a few held-out applicants (a bank's would be a day's decisions)
DEMO_CUTOFF = 0.35  # the bank declines at a 35% probability of a bad credit risk (a bank's own choice)
REFERENCE_MONTH, DRIFTED_MONTH = 40, 120
CHEAP_LIME = {"num_samples": 500, "repeats": 2}


def run_demo(client: Client) -> None:
    console.rule("xai-gov demo")
    console.print(f"data directory: [bold]{client.settings.resolved_home}[/bold]")
    console.print(f"database:       {client.database.safe_url}")

    console.rule("1. Train the credit model on the shipped German credit data")
    trained = credit_model.train_credit_model()
    console.print(f"GradientBoostingClassifier in a one-hot Pipeline, {len(trained.X_train)} training rows, "
                  f"{len(trained.X_test)} held out: held-out AUC [bold]{trained.auc:.3f}[/bold]")

    console.rule("2. Register it with its lineage and the bank's decision rule")
    trainer = Actor.local_owner().name
    version = register_demo_model(client, trained, trainer=trainer)
    console.print(f"registered [bold]{version.ref}[/bold] (aliases: {', '.join(version.aliases)}), "
                  f"artifact {short(version.artifact_sha256)}, background {version.background_rows} rows")
    console.print(f"decision rule: [bold]{version.rule.describe()}[/bold] (cutoff {version.rule.cutoff:g}, "
                  "not the more probable class)")

    console.rule("3. Look the lineage up from every side")
    show_lineage(client.lineage(version.ref).lineage, title=f"by model version: {version.ref}")
    lineage = version.lineage
    _show_matches(f"by training-data hash {short(lineage.data_sha256)}",
                  client.lineage_by_data_hash(lineage.data_sha256 or ""))
    if lineage.code_commit:
        _show_matches(f"by code commit {lineage.code_commit[:10]}", client.lineage_by_commit(lineage.code_commit))
    else:
        console.print(f"code commit not captured: {lineage.missing.get('code_commit')}")
    _show_matches(f"by trainer {trainer}", client.lineage_by_trainer(trainer))

    console.rule("4. Explain two decisions: one approved, one denied")
    for decision_id, applicant in two_applicants(client, version.ref, trained.X_test):
        record = client.explain(version.ref, applicant, decision_id=decision_id)
        console.print(f"[bold]{decision_id}[/bold] ({'adverse' if record.adverse else 'favourable'} at "
                      f"P(bad) = {record.prediction.adverse_probability:.3f}, cutoff {version.rule.cutoff:g}), "
                      f"explained in {sum(record.timings.values()):.2f} s")
        show_record(record)
        for reason in record.reasons[:1]:
            accuracy = reason["accuracy"]
            console.print(f"reason accuracy: moving '{reason['label']}' alone to {accuracy['reference']} changes "
                          f"P(bad) by [bold]{accuracy['change']:+.3f}[/bold] "
                          f"({'lowers it: accurate' if accuracy['lowers_adverse'] else 'does NOT lower it'})")
        console.print(f"lineage of {decision_id}: "
                      + ", ".join(v.ref for v in client.lineage_by_decision(decision_id)))
    replayed = client.replay(record.id)
    console.print(f"replay of {record.id}: {'matches exactly' if replayed.matches else 'DIFFERS'}")

    console.rule("5. Explain a batch of decisions: resumable, on a pool of worker processes")
    batch = [BatchRow(line=n + 2, decision_id=f"DEMO-batch-{index}-v{version.version}", instance=as_entered(row))
             for n, (index, row) in enumerate(trained.X_test.head(BATCH_ROWS).iterrows())]
    for attempt in ("first run", "run again (resumes: nothing is explained twice)"):
        with ProgressBar() as progress:
            summary = client.explain_batch(version.ref, batch, methods=["lime", "shap"], progress=progress)
        console.print(f"{attempt}: {summary.done} explained, {len(summary.skipped)} skipped as already explained, "
                      f"{len(summary.failed)} failed, in {summary.seconds:.1f} s on {summary.workers} worker(s)")

    console.rule("6. Monitor a drifted month")
    drifted_month(client, version.ref, trained.X_test)

    console.rule("7. Export the audit packets and verify them")
    packets = client.settings.resolved_home / "packets"
    packets.mkdir(parents=True, exist_ok=True)
    for name, pdf in ((f"decision-{record.decision_id}.pdf", client.export_decision(record.id)),
                      (f"model-{version.name}-{version.version}.pdf", client.export_model(version.ref))):
        path = packets / name
        path.write_bytes(pdf)
        check = client.verify_packet(pdf)
        console.print(f"{path} ({len(pdf):,} bytes): {'verifies' if check.ok else 'DIFFERS'} - {check.message}")
    if record.adverse:
        notice = packets / f"notice-{record.decision_id}.pdf"
        notice.write_bytes(client.export_notice(record.id))
        console.print(f"{notice}: the adverse action notice the applicant receives (reasons in plain words, the "
                      "ECOA notice, where to ask; no scores)")

    console.rule("8. Sign a checkpoint of the audit ledger and verify everything")
    created = client.create_signing_key()
    console.print(f"signing key {client.settings.signing_key_path} ({'created' if created else 'exists'}); "
                  f"the public key is printed by `xai-gov audit public-key`")
    signed = client.checkpoint()
    console.print(f"checkpoint {signed.id} signs event {signed.seq} (head {short(signed.head_hash, 16)})")
    verified = client.verify_ledger()
    if not verified.ok or verified.problem is not None:
        raise SystemExit(f"audit verify FAILED: {verified.problem.message if verified.problem else verified}")
    console.print(f"audit verify: OK, {verified.events} events, records {verified.records}, "
                  f"{verified.checkpoints} checkpoint(s)")

    console.rule("Done")
    console.print(f"data directory: [bold]{client.settings.resolved_home}[/bold]\n"
                  "try: .venv/bin/xai-gov models list | .venv/bin/xai-gov models show credit-risk@staging | "
                  f".venv/bin/xai-gov lineage --trainer {trainer}")


def register_demo_model(client: Client, trained: credit_model.TrainedCreditModel, *, trainer: str) -> ModelVersion:
    """Register the trained demo model as the next version of credit-risk, alias staging, with its lineage."""
    try:
        parent = client.get_model(MODEL_NAME).ref
    except NotFound:
        parent = None
    return client.register(
        trained.pipeline, trained.X_train, trained.y_train, name=MODEL_NAME, adverse_class="bad", trainer=trainer,
        labels=GERMAN_CREDIT_LABELS, trusted_types=credit_model.TRUSTED_TYPES, run=trained.run,
        code_path=Path(credit_model.__file__).parent, seeds={"train_test_split": credit_model.SEED},
        metrics={"heldout_auc": round(trained.auc, 4), "heldout_rows": len(trained.X_test)},
        parent_version=parent, data_source_uri="xai_gov/datasets/data/german.data (UCI Statlog German Credit)",
        description="Demo credit model: probability that an applicant is a bad credit risk.", alias="staging",
        cutoff=DEMO_CUTOFF, immutable=credit_model.IMMUTABLE, monotone=credit_model.MONOTONE,
    )


def ensure_demo_model(client: Client) -> str:
    """The demo model's ref, training and registering it first if no version exists (``make serve``)."""
    try:
        return client.get_model(f"{MODEL_NAME}@staging").ref
    except NotFound:
        return register_demo_model(client, credit_model.train_credit_model(),
                                   trainer=Actor.local_owner().name).ref


def two_applicants(client: Client, ref: str, applicants: pd.DataFrame) -> list[tuple[str, dict[str, Any]]]:
    """The first held-out applicant the version's rule approves and the first it denies, as entered.

    Decision ids name the version: a decision id is explained once, and each demo run is a new version."""
    version = client.get_model(ref)
    adapter = client.load_model(ref)
    bad = list(adapter.class_names() or ()).index("bad")
    p_bad = adapter.predict_proba(applicants)[:, bad]
    approved, denied = int(np.argmax(p_bad < version.rule.cutoff)), int(np.argmax(p_bad >= version.rule.cutoff))
    return [(f"DEMO-{kind}-{applicants.index[i]}-v{version.version}", as_entered(applicants.iloc[i].to_dict()))
            for kind, i in (("approved", approved), ("denied", denied))]


def drifted_month(client: Client, ref: str, applicants: pd.DataFrame, *, reference: int = REFERENCE_MONTH,
                  drifted: int = DRIFTED_MONTH) -> MonitoringReport:
    """Explain a month of held-out applicants, then a month with longer loans and younger applicants, and monitor
    the second against the training data and the first. LIME only, with cheap settings, to keep the demo quick:
    both months use the same settings, so their trust scores compare like with like."""
    started = utcnow()
    ordinary = applicants.sample(reference, random_state=credit_model.SEED)
    shifted = applicants.sample(drifted, replace=True, random_state=credit_model.SEED + 1).copy()
    shifted["duration_months"] = np.minimum(shifted["duration_months"] + 18, 72)
    shifted["age"] = np.maximum(19, shifted["age"] - 12)
    clock = time.perf_counter()
    version = client.get_model(ref).version  # decision ids name the version: a decision id is explained once
    _explain_batch(client, ref, ordinary, f"DEMO-M1-v{version}")
    boundary = utcnow()
    _explain_batch(client, ref, shifted, f"DEMO-M2-v{version}")
    console.print(f"explained {reference} ordinary applicants, then {drifted} with loans 18 months longer and "
                  f"applicants 12 years younger (LIME only, {CHEAP_LIME}) in {time.perf_counter() - clock:.1f} s")
    report = client.monitor(ref, since=boundary, reference_since=started)
    show_report(report)
    flagged = [f.label for f in report.input_drift.features if f.drifted] if report.input_drift else []
    console.print(f"monitoring run {report.id}: verdict [bold]{report.verdict.outcome.upper()}[/bold]; drifted "
                  f"inputs: {', '.join(flagged) or 'none'}")
    return report


def _explain_batch(client: Client, ref: str, rows: pd.DataFrame, prefix: str) -> None:
    for number, (_, row) in enumerate(rows.iterrows()):
        client.explain(ref, as_entered(row.to_dict()), decision_id=f"{prefix}-{number:03d}", methods=["lime"],
                       parameters={"lime": CHEAP_LIME})


def _show_matches(title: str, views: list[LineageView]) -> None:
    table(title, ["version", "data hash", "commit", "trainer", "registered"], [
        (v.ref, short(v.lineage.data_sha256), short(v.lineage.code_commit, 10), v.lineage.trainer,
         when(v.registered_at)) for v in views])
