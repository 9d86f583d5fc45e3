"""``xai-gov monitor REF``: drift and fair-lending metrics over stored decisions; ``xai-gov monitoring show|list``."""

from __future__ import annotations

from typing import Annotated

import typer

from xai_gov.actors import Role
from xai_gov.cli.output import JsonFlag, console, fields, print_json, run, table, when
from xai_gov.cli.state import state
from xai_gov.monitoring.models import MonitoringReport
from xai_gov.timeutil import parse_utc

monitoring_app = typer.Typer(help="Stored monitoring runs.", no_args_is_help=True)
Since = Annotated[str | None, typer.Option(help="Window start, inclusive (ISO 8601, UTC); earlier decisions are "
                                                "the reference for explanation and trust drift.")]


def monitor(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="A model version: name@version or name@alias.")],
    since: Since = None,
    until: Annotated[str | None, typer.Option(help="Window end, exclusive (default: now).")] = None,
    reference_since: Annotated[str | None, typer.Option(help="Reference window start (default: the first "
                                                             "decision).")] = None,
    reference_until: Annotated[str | None, typer.Option(help="Reference window end (default: --since).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Input, prediction, explanation and trust drift and fair-lending metrics over the version's stored decisions
    in a window; the run is stored and recorded in the audit ledger. Exit status 1 when the verdict is fail."""
    client = state(ctx).client()
    report = run(lambda: client.monitor(
        ref, since=parse_utc(since, field="since"), until=parse_utc(until, field="until"),
        reference_since=parse_utc(reference_since, field="reference_since"),
        reference_until=parse_utc(reference_until, field="reference_until"), actor=state(ctx).actor(Role.AUDITOR)))
    if as_json:
        print_json(report.to_dict())
    else:
        show_report(report)
    if report.verdict.outcome == "fail":
        raise typer.Exit(code=1)


@monitoring_app.command("show")
def show(ctx: typer.Context, run_id: str, as_json: JsonFlag = False) -> None:
    """One stored monitoring run."""
    report = run(lambda: state(ctx).client().monitoring_run(run_id, actor=state(ctx).actor(Role.AUDITOR)))
    if as_json:
        print_json(report.to_dict())
    else:
        show_report(report)


@monitoring_app.command("list")
def list_runs(ctx: typer.Context, ref: str, limit: int = 20, as_json: JsonFlag = False) -> None:
    """The version's stored monitoring runs, newest first."""
    reports = run(lambda: state(ctx).client().monitoring_runs(ref, limit=limit, actor=state(ctx).actor(Role.AUDITOR)))
    if as_json:
        print_json([r.to_dict() for r in reports])
        return
    table(f"Monitoring runs of {ref}", ["id", "run at", "by", "window", "decisions", "verdict"], [
        (r.id, when(r.run_at), r.run_by, f"{when(r.since)} .. {when(r.until)}", r.decisions, r.verdict.outcome)
        for r in reports])


def show_report(report: MonitoringReport) -> None:
    """The run for people: the verdict first, then each part with its sample sizes."""
    fields(f"Monitoring run {report.id} of {report.model_ref}", [
        ("window", f"{when(report.since)} .. {when(report.until)}: {report.decisions} decisions"
                   + (f" ({report.duplicates_dropped} re-explanations counted once)" if report.duplicates_dropped
                      else "")),
        ("reference", f"training background; {report.reference_decisions} earlier decisions "
                      f"({when(report.reference_since)} .. {when(report.reference_until)})"),
        ("verdict", report.verdict.outcome.upper()),
    ])
    table("Checks", ["check", "outcome", "value", "threshold"], [
        (c.check, c.outcome.replace("_", " "), c.shown, c.threshold)
        for c in report.verdict.checks])
    drift = report.input_drift
    if drift is not None:
        table(f"Input drift: {drift.drifted_features} of {len(drift.features)} features drifted "
              f"({drift.drifted_share:.0%}) against {drift.reference}",
              ["feature", "test", "p-value", "PSI", "training", "window", "drifted"], [
                  (f.label, f"{f.test} {f.statistic:.3f}", f"{f.p_value:.3g}",
                   f"{f.psi:.3f}" + ("" if f.psi_counted else "*"), f.reference_summary, f.current_summary,
                   "DRIFTED" if f.drifted else "-")
                  for f in sorted(drift.features, key=lambda f: f.p_value)])
    scores = report.prediction_drift
    if scores is not None:
        console.print(f"prediction drift: mean adverse probability {scores.reference_mean:.3f} -> "
                      f"{scores.current_mean:.3f} (KS p = {scores.ks_p_value:.3g}); adverse decisions "
                      f"{scores.reference_adverse_rate:.1%} -> {scores.current_adverse_rate:.1%} "
                      f"(Fisher p = {scores.rate_p_value:.3g}){' DRIFTED' if scores.drifted else ''}")
        console.print(f"decisions counted: {scores.decision_rule}")
    attribution = report.explanation_drift
    if attribution is not None:
        table(f"Explanation drift ({attribution.method}, {attribution.reference_n} before, {attribution.current_n} "
              f"now): top-{attribution.top_n} overlap {attribution.top_overlap:.0%}",
              ["feature", "mean |attribution| before", "now", "rank before -> now"], [
                  (f.label, f"{f.reference_mean_abs:.4f}", f"{f.current_mean_abs:.4f}",
                   f"{f.reference_rank} -> {f.current_rank}") for f in attribution.features[:attribution.top_n + 3]])
    trust = report.trust_drift
    if trust is not None:
        table(f"Trust drift: flagged by the policy {trust.reference_flagged}/{trust.reference_n} before, "
              f"{trust.current_flagged}/{trust.current_n} now (p = {trust.flagged_p_value:.3g})",
              ["score", "before (n, mean)", "now (n, mean)", "KS p-value", "drifted"], [
                  (s.label, f"{s.reference_n}, {_num(s.reference_mean)}", f"{s.current_n}, {_num(s.current_mean)}",
                   _num(s.ks_p_value), "DRIFTED" if s.drifted else "-") for s in trust.scores])
    fair = report.fair_lending
    if fair is not None:
        console.print(f"protected features: {fair.protected_source}")
        for result in fair.results:
            proxy = "-" if result.proxy is None else f"{result.proxy.auc:.3f}" + (" FLAGGED" if result.proxy.flagged
                                                                               else "")
            dpd = _num(result.demographic_parity_difference)
            table(f"Fair lending: {result.label} (parity difference {dpd}, proxy AUC {proxy})",
                  ["group", "decisions", "approved", "approval rate (CI)", "impact ratio (CI)", "four-fifths"], [
                      (g.group, g.n, g.approved,
                       "-" if g.approval_rate is None else
                       f"{g.approval_rate:.1%} ({g.ci_low:.1%}-{g.ci_high:.1%})",
                       "-" if g.adverse_impact_ratio is None else f"{g.adverse_impact_ratio:.2f}" + (
                           f" ({g.air_ci_low:.2f}-{g.air_ci_high:.2f})" if g.air_ci_low is not None else ""),
                       g.note or g.four_fifths.replace("_", " ")) for g in result.groups])
            for missing in result.not_computed:
                console.print(f"not computed: {missing.what}: {missing.why}", soft_wrap=True)
    for missing in report.not_computed:
        console.print(f"not computed: {missing.what}: {missing.why}", soft_wrap=True)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
