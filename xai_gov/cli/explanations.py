"""``xai-gov explain``, ``xai-gov explanations ...`` and ``xai-gov replay``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.status import Status

from xai_gov.cli.output import JsonFlag, console, errors, fields, print_json, run, table, when
from xai_gov.cli.state import state
from xai_gov.errors import InvalidInput
from xai_gov.explain import methods as registry
from xai_gov.explain.records import ExplanationRecord
from xai_gov.registry.files import read_json_file
from xai_gov.timeutil import parse_utc

SECTIONS = "xai_gov.cli.sections"  # each method's part of show_record
explanations_app = typer.Typer(help="Stored explanations: show, list.", no_args_is_help=True)


def explain(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="name@version or name@alias, e.g. credit-risk@production.")],
    instance: Annotated[Path, typer.Option(help="The applicant as a JSON object of feature values.")],
    decision_id: Annotated[str, typer.Option(help="The bank's id of the decision being explained.")],
    methods: Annotated[str | None, typer.Option(
        help="Comma-separated: " + registry.choice_words() + ".")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (stored; a replay reuses it).")] = 0,
    bank_decision: Annotated[str | None, typer.Option(
        help="The class the bank actually decided, if it overrode the model version's rule.")] = None,
    what_counted_against: Annotated[bool, typer.Option(
        help="On a favourable decision, also list what pushed toward the adverse class.")] = False,
    re_explain: Annotated[bool, typer.Option(
        help="Explain a decision id that was explained before (linked to the earlier record).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Explain one decision and store the record (a decision id once, unless --re-explain)."""

    def action() -> ExplanationRecord:
        applicant = read_json_file(instance, field="instance")
        if not isinstance(applicant, dict):
            raise InvalidInput(f"{instance} must hold a JSON object of feature values", field="instance")
        with _progress() as progress:
            return state(ctx).client().explain(model, applicant, decision_id=decision_id,
                                               methods=methods.split(",") if methods else None, seed=seed,
                                               progress=progress,
                                               bank_decision=bank_decision,
                                               what_counted_against=what_counted_against, re_explain=re_explain)

    record = run(action)
    if as_json:
        print_json(record.to_dict())
    else:
        show_record(record)


@explanations_app.command("show")
def show(ctx: typer.Context, explanation_id: str, as_json: JsonFlag = False) -> None:
    """One stored explanation."""
    record = run(lambda: state(ctx).client().get_explanation(explanation_id))
    if as_json:
        print_json(record.to_dict())
    else:
        show_record(record)


@explanations_app.command("list")
def list_explanations(
    ctx: typer.Context,
    decision_id: Annotated[str | None, typer.Option(help="Only this decision.")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model name.")] = None,
    since: Annotated[str | None, typer.Option(help="Requested at or after (ISO 8601, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Requested before.")] = None,
    limit: int = 50,
    offset: int = 0,
    as_json: JsonFlag = False,
) -> None:
    """Stored explanations, oldest first."""
    records = run(lambda: state(ctx).client().find_explanations(
        decision_id=decision_id, model=model, since=parse_utc(since, field="since"),
        until=parse_utc(until, field="until"), limit=limit, offset=offset))
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    table(f"Explanations: {len(records)}", ["id", "decision", "model", "outcome", "P(adverse)", "requested"],
          [(r.id, r.decision_id, r.model_ref, "adverse" if r.adverse else "favourable",
            f"{r.prediction.adverse_probability:.3f}", f"{when(r.requested_at)} by {r.requested_by}")
           for r in records])


def replay(ctx: typer.Context, explanation_id: str, as_json: JsonFlag = False) -> None:
    """Re-run a stored explanation with its seed and parameters; report field by field."""

    def action() -> Any:
        with _progress() as progress:
            return state(ctx).client().replay(explanation_id, progress=progress)

    report = run(action)
    if as_json:
        print_json(report.to_dict())
    else:
        table(f"Replay of {explanation_id}", ["field", "matches"],
              [(f.field, "yes" if f.matches else "NO") for f in report.fields])
        verdict = "matches the stored record exactly" if report.matches else "DIFFERS from the stored record"
        libraries = "" if report.same_library_versions else " (library versions differ from the stored ones)"
        console.print(f"replay {verdict}{libraries}")
    if not report.matches:
        raise typer.Exit(code=1)


class _progress:
    """A spinner naming the running step, on a terminal only."""

    def __enter__(self) -> Any:
        if not errors.is_terminal:
            return None
        self.status = Status("explaining", console=errors)
        self.status.start()
        return lambda step: self.status.update(f"explaining: {step}")

    def __exit__(self, *exc: object) -> None:
        if errors.is_terminal:
            self.status.stop()


def outcome_line(record: ExplanationRecord) -> str:
    """The decision in words: what was decided, by which rule, and whether the bank overrode it."""
    prediction = record.prediction
    probabilities = ", ".join(f"P({c}) = {p:.3f}" for c, p in prediction.probabilities.items())
    decided = "adverse" if record.adverse else "favourable"
    if record.decision is None:  # a record made before decision rules: the more probable class decided
        return f"{decided}: {prediction.predicted_class} ({probabilities})"
    rule = record.decision["rule"]
    line = f"{decided} ({probabilities}); rule: {rule['rule']}, which decides {record.decision['by_rule']}"
    if record.overridden:
        line += f"; decision overridden by the bank: '{record.decision['bank_decision']}'"
    return line


def show_record(record: ExplanationRecord) -> None:
    prediction = record.prediction
    fields(f"Explanation {record.id}", [
        ("decision id", record.decision_id + (f" (re-explains {record.re_explains})" if record.re_explains else "")),
        ("model", record.model_ref),
        ("outcome", outcome_line(record)),
        ("requested", f"{when(record.requested_at)} by {record.requested_by}"),
        ("input hash", record.instance_sha256),
        ("seed, methods", f"{record.seed}; {', '.join(record.methods)}"),
    ])
    for caution in record.cautions or []:
        console.print(f"[yellow]caution[/yellow]: {caution['message']}")
    if record.reasons:
        title = ("Principal reasons" if record.adverse else
                 f"What counted against (toward {prediction.adverse_class}; the decision was favourable)")
        table(title, ["code", "reason", "value", "push", "accuracy"],
              [(r["code"], r["statement"], r["value"], f"+{r['contribution']:.3f}", reason_accuracy(r))
               for r in record.reasons])
    elif record.adverse:
        console.print("[red]no principal reason could be stated[/red] (see the policy verdict)")
    if record.withheld_reasons:
        console.print(f"withheld (protected, never stated): {', '.join(record.withheld_reasons)}")
    for renderer in registry.renderers(SECTIONS):  # each method's part (xai_gov.cli.sections)
        if renderer.SECTION in record.sections:
            renderer.show(record)
    table("Quality at a glance", ["criterion", "value", "what it means", "policy"],
          [(row.criterion, row.value, row.meaning, row.policy_in_words())
           for row in record.quality_at_a_glance()])
    _show_scores(record.scores)
    if record.verdict:
        _show_verdict(record.verdict)


def reason_accuracy(reason: dict[str, Any]) -> str:
    """A reason's measured accuracy in a few words: the change in P(adverse) when the feature alone moves
    to its reference value."""
    accuracy = reason.get("accuracy")
    if not accuracy:
        return "-"
    text = f"{accuracy['change']:+.3f} at {accuracy['reference']}"
    return text if accuracy["lowers_adverse"] else text + " NOT ACCURATE"


def _show_scores(scores: dict[str, Any]) -> None:
    rows = [row for renderer in registry.renderers(SECTIONS) if hasattr(renderer, "score_rows")
            for row in renderer.score_rows(scores)]
    agreement = scores.get("agreement")
    if agreement:
        signs = "-" if agreement["sign_agreement"] is None else f"{agreement['sign_agreement']:.0%}"
        rows.append(("LIME vs SHAP", f"top-{agreement['top_n']} overlap {agreement['top_n_overlap']:.0%}, "
                                     f"same direction {signs}"))
    table("Every score", ["score", "value"], rows)


def _show_verdict(verdict: dict[str, Any]) -> None:
    policy = verdict["policy"]
    marks = {"pass": "pass", "warn": "WARN", "fail": "FAIL", "not_measured": "not measured"}
    title = f"Policy {policy['name']} v{policy['version']} (sha256 {policy['sha256'][:12]})"
    table(f"{title}: {verdict['outcome'].upper()}",
          ["rule", "measured", "threshold", "outcome"],
          [(rule["metric"], "-" if rule["value"] is None else f"{rule['value']:.3g}", rule["threshold"],
            marks[rule["outcome"]]) for rule in verdict["rules"]])
