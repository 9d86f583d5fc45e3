"""The model-version packet's monitoring section: the version's latest stored monitoring run, in the features' words."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table

from xai_gov.monitoring.models import Distribution, FairLending, MonitoringReport
from xai_gov.reports.layout import (
    AWAY,
    INK,
    MUTED,
    RULE,
    TOWARD,
    WIDTH,
    heading,
    key_values,
    para,
    spacer,
    table,
    together,
)
from xai_gov.timeutil import format_utc

REFERENCE_FILL = colors.HexColor("#9fb3c8")


def monitoring_section(run: MonitoringReport | None, ref: str) -> list[Flowable]:
    if run is None:
        return [heading("Monitoring"), para(f"No monitoring run is stored for {ref}. Run `xai-gov monitor {ref}` "
                                            "to compare its stored decisions with its training data.")]
    window = f"{format_utc(run.since) or 'the first decision'} to {format_utc(run.until)}"
    story: list[Flowable] = [
        heading("Monitoring"),
        para(f"Monitoring run {run.id}, by {run.run_by} at {format_utc(run.run_at)}: {run.decisions} decisions "
             f"explained from {window}" + (f" ({run.duplicates_dropped} re-explanations counted once)"
                                           if run.duplicates_dropped else "")
             + f", against the training background and {run.reference_decisions} earlier decisions. "
             f"Verdict: {run.verdict.outcome.upper()}."),
        spacer(1),
        table([("Check", "Outcome", "Value", "Threshold")] + [
            (c.check, c.outcome.replace("_", " "), c.shown, c.threshold)
            for c in run.verdict.checks], [52 * mm, 22 * mm, 18 * mm, WIDTH - 92 * mm]),
    ]
    story += _input_drift(run) + _prediction_drift(run) + _explanation_drift(run) + _trust_drift(run)
    story += _fair_lending(run.fair_lending)
    if run.not_computed:
        story += [heading("Not computed"), *[para(f"- {n.what}: {n.why}") for n in run.not_computed]]
    return story


def _input_drift(run: MonitoringReport) -> list[Flowable]:
    drift = run.input_drift
    if drift is None:
        return []
    ranked = sorted(drift.features, key=lambda f: -f.psi)
    rows = [("Feature", "Test", "p-value", "PSI", "Training", "Window", "Drifted")] + [
        (f.label, f"{'KS' if f.test == 'ks' else 'chi2'} {f.statistic:.3f}", f"{f.p_value:.3g}",
         f"{f.psi:.3f}" + ("" if f.psi_counted else "*"), f.reference_summary, f.current_summary,
         "yes" if f.drifted else "no") for f in ranked]
    story: list[Flowable] = [
        heading("Input drift"),
        para(f"{drift.drifted_features} of {len(drift.features)} features drifted ({drift.drifted_share:.0%}); "
             f"compared with {drift.reference}, {ranked[0].reference_n if ranked else 0} rows against "
             f"{run.decisions} decisions." + ("" if all(f.psi_counted for f in ranked) else
                                             " * PSI on a window this small is biased upward and does not count.")),
        drift_bars([(f.label, f.psi, f.drifted) for f in ranked], title="PSI per feature (red: drifted)"),
        table(rows, [40 * mm, 20 * mm, 16 * mm, 14 * mm, 36 * mm, 36 * mm, WIDTH - 162 * mm]),
    ]
    shown = [f for f in ranked if f.drifted][:4]
    charts = [share_chart(f.distribution, title=f.label) for f in shown]
    for pair in range(0, len(charts), 2):
        cells = charts[pair:pair + 2] + ([""] if len(charts[pair:pair + 2]) == 1 else [])
        story.append(Table([cells], colWidths=[WIDTH / 2, WIDTH / 2]))
    return story


def _prediction_drift(run: MonitoringReport) -> list[Flowable]:
    scores = run.prediction_drift
    if scores is None:
        return []
    return [together(heading("Prediction drift"), key_values([
        ("Decision rule", scores.decision_rule),
        ("Adverse probability", f"mean {scores.reference_mean:.3f} on the training background ({scores.reference_n})"
                                f", {scores.current_mean:.3f} in the window ({scores.current_n}); KS "
                                f"{scores.ks_statistic:.3f}, p = {scores.ks_p_value:.3g}; PSI {scores.psi:.3f}"),
        ("Adverse decisions", f"{scores.reference_adverse_rate:.1%} on the training background, "
                              f"{scores.current_adverse_rate:.1%} in the window "
                              f"(Fisher p = {scores.rate_p_value:.3g})"),
        ("Drifted", "yes" if scores.drifted else "no"),
    ]), share_chart(scores.distribution, title="Adverse probability", wide=True))]


def _explanation_drift(run: MonitoringReport) -> list[Flowable]:
    drift = run.explanation_drift
    if drift is None:
        return []
    rows = [("Feature", "Mean |attribution| before", "Now", "Rank before", "Rank now")] + [
        (f.label, f"{f.reference_mean_abs:.4f}", f"{f.current_mean_abs:.4f}", f.reference_rank, f.current_rank)
        for f in drift.features[:10]]
    spearman = "-" if drift.spearman is None else f"{drift.spearman:.2f}"
    return [heading("Explanation drift"), para(
        f"{drift.method.upper()} attributions, {drift.reference_n} earlier explanations against {drift.current_n} "
        f"now: {drift.top_overlap:.0%} of the earlier top {drift.top_n} features are still top {drift.top_n}; "
        f"Spearman rank correlation {spearman}."),
        table(rows, [62 * mm, 36 * mm, 26 * mm, 24 * mm, WIDTH - 148 * mm])]


def _trust_drift(run: MonitoringReport) -> list[Flowable]:
    trust = run.trust_drift
    if trust is None:
        return []
    rows = [("Score", "Before: n, mean", "Now: n, mean", "KS p-value", "Drifted")] + [
        (s.label, f"{s.reference_n}, {_num(s.reference_mean)}", f"{s.current_n}, {_num(s.current_mean)}",
         "-" if s.ks_p_value is None else f"{s.ks_p_value:.3g}", "yes" if s.drifted else "no") for s in trust.scores]
    charts = [share_chart(s.distribution, title=s.label) for s in trust.scores if s.distribution][:2]
    story = [heading("Trust drift"), para(
        f"Explanations with a policy warning or failure: {trust.reference_flagged} of {trust.reference_n} "
        f"({trust.reference_flagged_share:.0%}) before, {trust.current_flagged} of {trust.current_n} "
        f"({trust.current_flagged_share:.0%}) now (one-sided Fisher p = {trust.flagged_p_value:.3g})."),
        table(rows, [58 * mm, 32 * mm, 32 * mm, 24 * mm, WIDTH - 146 * mm])]
    if charts:
        story.append(Table([charts + [""] * (2 - len(charts))], colWidths=[WIDTH / 2, WIDTH / 2]))
    return story


def _fair_lending(fair: FairLending | None) -> list[Flowable]:
    if fair is None:
        return []
    story: list[Flowable] = [heading("Fair lending"), para(
        f"Protected features: {fair.protected_source}. Approval rates with {fair.confidence:.0%} Wilson intervals; "
        f"adverse impact ratio against the most approved group with the Katz log interval; four-fifths rule at "
        f"{fair.four_fifths:g}; groups under {fair.min_group_size} decisions are counted, never compared. A "
        "screening statistic, not a legal finding.")]
    for result in fair.results:
        rows = [("Group", "Decisions", "Approved", "Approval rate", "Impact ratio", "Four-fifths")] + [
            (g.group, g.n, g.approved,
             "-" if g.approval_rate is None else f"{g.approval_rate:.1%} ({g.ci_low:.1%} to {g.ci_high:.1%})",
             "-" if g.adverse_impact_ratio is None else f"{g.adverse_impact_ratio:.2f}" + (
                 f" ({g.air_ci_low:.2f} to {g.air_ci_high:.2f})" if g.air_ci_low is not None else ""),
             g.note or g.four_fifths.replace("_", " ")) for g in result.groups]
        dpd = "-" if result.demographic_parity_difference is None else f"{result.demographic_parity_difference:.3f}"
        proxy = "-" if result.proxy is None else (
            f"AUC {result.proxy.auc:.3f} over {result.proxy.rows} training rows ({result.proxy.folds}-fold)"
            + (" - flagged" if result.proxy.flagged else ""))
        story += [spacer(2), para(f"{result.label}: demographic parity difference {dpd}; proxy check: {proxy}."),
                  table(rows, [40 * mm, 17 * mm, 17 * mm, 36 * mm, 30 * mm, WIDTH - 140 * mm])]
        story += [para(f"- {n.what}: {n.why}", "small") for n in result.not_computed]
    return story


def drift_bars(items: Sequence[tuple[str, float, bool]], *, title: str) -> Drawing:
    """Horizontal bars of a drift figure per feature; drifted features in red."""
    items = list(items)[:12]
    bar_height, label_width = 13.0, 62 * mm
    height = bar_height * max(len(items), 1) + 44
    drawing = Drawing(WIDTH, height)
    drawing.add(String(0, height - 12, title, fontName="Helvetica-Bold", fontSize=9, fillColor=INK))
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, 24
    chart.width, chart.height = WIDTH - label_width - 12, bar_height * max(len(items), 1)
    chart.data = [[v for _, v, _ in reversed(items)] or [0.0]]
    chart.categoryAxis.categoryNames = [_short(n, 40) for n, _, _ in reversed(items)] or [""]
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.visibleTicks = False
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max([v for _, v, _ in items] + [0.3]) * 1.1
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    chart.bars.strokeColor = None
    for i, (_, _, drifted) in enumerate(reversed(items)):
        chart.bars[(0, i)].fillColor = TOWARD if drifted else AWAY
    drawing.add(chart)
    return drawing


def share_chart(distribution: Distribution, *, title: str, wide: bool = False) -> Drawing:
    """Side-by-side bars of the reference's and the window's shares per bin or category."""
    width = WIDTH if wide else WIDTH / 2 - 4 * mm
    drawing = Drawing(width, 132)
    drawing.add(String(0, 120, _short(title, 60), fontName="Helvetica-Bold", fontSize=8.5, fillColor=INK))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 28, 30, width - 40, 80
    chart.data = [list(distribution.reference), list(distribution.current)]
    chart.categoryAxis.categoryNames = [_short(b, 12) for b in distribution.bins]
    chart.categoryAxis.labels.fontSize = 5.5
    chart.categoryAxis.labels.angle = 30 if len(distribution.bins) > 6 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(distribution.bins) > 6 else "n"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max([*distribution.reference, *distribution.current, 0.05]) * 1.15
    chart.valueAxis.labels.fontSize = 6.5
    chart.valueAxis.labelTextFormat = lambda v: f"{v:.0%}"
    chart.bars[0].fillColor = REFERENCE_FILL
    chart.bars[1].fillColor = TOWARD
    chart.bars.strokeColor = None
    drawing.add(chart)
    drawing.add(String(28, 2, "share of applicants: grey the reference, red the window", fontName="Helvetica",
                       fontSize=6.5, fillColor=MUTED))
    return drawing


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _short(value: str, length: int) -> str:
    return value if len(value) <= length else value[: length - 3] + "..."
