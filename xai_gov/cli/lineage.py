"""``xai-gov lineage``: the same lookups as the SDK, by version, data hash, commit, trainer or dates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xai_gov.cli.output import JsonFlag, console, fields, print_json, run, short, table, when
from xai_gov.cli.state import state
from xai_gov.lineage.datahash import hash_file
from xai_gov.lineage.models import LineageRecord, LineageView, external_rows
from xai_gov.timeutil import parse_utc


def lineage(
    ctx: typer.Context,
    ref: Annotated[str | None, typer.Argument(help="A model version: name@version or name@alias.")] = None,
    data_hash: Annotated[str | None, typer.Option(help="Training-data hash (sha256:...).")] = None,
    data_file: Annotated[Path | None, typer.Option(help="Training data file: looked up by its canonical hash.")]
    = None,
    commit: Annotated[str | None, typer.Option(help="Code commit, full or 7+ digit prefix.")] = None,
    trainer: Annotated[str | None, typer.Option(help="Who trained the model.")] = None,
    decision: Annotated[str | None, typer.Option(help="A decision id: the version(s) that explained it.")] = None,
    mlflow_run: Annotated[str | None, typer.Option(help="An MLflow run id: the version(s) imported from it.")]
    = None,
    dataset_digest: Annotated[str | None, typer.Option(help="An MLflow dataset digest, DVC md5 or data version.")]
    = None,
    since: Annotated[str | None, typer.Option(help="From this date/time, inclusive (ISO 8601, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date/time, exclusive.")] = None,
    date_field: Annotated[str, typer.Option(help="Which date --since/--until filter: registered or trained.")]
    = "registered",
    as_json: JsonFlag = False,
) -> None:
    """Look lineage up from any side. With REF, one version; otherwise every version matching all filters."""
    client = state(ctx).client()
    if ref is not None:
        view = run(lambda: client.lineage(ref))
        if as_json:
            print_json(view.to_dict())
        else:
            show_lineage(view.lineage, title=f"Lineage of {view.ref} (registered {when(view.registered_at)} "
                                             f"by {view.registered_by})")
            if view.decision_rule:
                console.print(f"decision rule: {view.decision_rule['rule']}")
            if view.protected_override:
                console.print(f"protected-feature override (registered by {view.registered_by}): "
                              f"{view.protected_override}", markup=False)
        return

    def find() -> list[LineageView]:
        if decision is not None:
            return client.lineage_by_decision(decision)
        digest = hash_file(data_file) if data_file is not None else data_hash
        return client.find_lineage(data_sha256=digest, commit=commit, trainer=trainer,
                                   since=parse_utc(since, field="since"), until=parse_utc(until, field="until"),
                                   date_field=date_field, mlflow_run_id=mlflow_run, dataset_digest=dataset_digest)

    views = run(find)
    if as_json:
        print_json([v.to_dict() for v in views])
        return
    table(f"Lineage: {len(views)} version(s)", ["version", "data hash", "rows", "commit", "trainer", "trained",
                                                "registered", "cutoff", *(["explanations"] if decision else [])], [
        (v.ref, short(v.lineage.data_sha256), v.lineage.data_rows,
         short(v.lineage.code_commit, 10) + ("*" if v.lineage.code_dirty else ""), v.lineage.trainer,
         when(v.lineage.training_ended_at), when(v.registered_at),
         f"{v.decision_rule['cutoff']:g}" if v.decision_rule else "-",
         *([", ".join(v.explanations)] if decision else [])) for v in views])


def show_lineage(record: LineageRecord, *, title: str) -> None:
    packages = record.environment.get("packages", {})
    key_packages = ", ".join(f"{name} {packages[name]}" for name in
                             ("scikit-learn", "numpy", "pandas", "xai-gov") if name in packages)
    fields(title, [
        ("code", f"{record.code_repository or '-'} @ {record.code_commit or '-'}"
                 + (" (dirty)" if record.code_dirty else "")),
        ("training data", f"{record.data_sha256 or '-'}, {record.data_rows or '-'} rows"
                          + (f", from {record.data_source_uri}" if record.data_source_uri else "")),
        ("trainer", record.trainer),
        ("trained", f"{when(record.training_started_at)} .. {when(record.training_ended_at)}"),
        ("hyperparameters", _summary(record.hyperparameters)),
        ("seeds", ", ".join(f"{k}={v}" for k, v in record.seeds.items()) or "-"),
        ("metrics", ", ".join(f"{k}={v}" for k, v in record.metrics.items()) or "-"),
        ("environment", f"Python {record.environment.get('python', '-')}; {key_packages}"),
        ("parent version", record.parent_version),
        ("approver", record.approver),
        *external_rows(record),
        ("missing", "; ".join(f"{k}: {v}" for k, v in record.missing.items()) or "-"),
    ])


def _summary(values: dict[str, object], limit: int = 6) -> str:
    """A few key=value pairs for people; --json has them all."""
    if not values:
        return "-"
    shown = ", ".join(f"{k}={v}" for k, v in list(values.items())[:limit])
    return shown if len(values) <= limit else f"{shown}, ... ({len(values)} in all; --json shows every one)"
