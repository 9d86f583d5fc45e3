"""``xai-gov batch explain``: every decision of a CSV file, resumable, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from xai_gov.batch.service import BatchProgress, BatchSummary
from xai_gov.cli.output import JsonFlag, errors, fields, print_json, run, table
from xai_gov.cli.state import state
from xai_gov.explain import methods as registry

batch_app = typer.Typer(help="Many decisions at once: resumable by decision id.", no_args_is_help=True)


@batch_app.command("explain")
def explain(
    ctx: typer.Context,
    decisions: Annotated[Path, typer.Argument(help="CSV: a decision id column and one column per feature.")],
    model: Annotated[str, typer.Option(help="name@version or name@alias (pinned to one version for the batch).")],
    decision_id_column: Annotated[str, typer.Option(help="The column holding the bank's decision ids.")]
    = "decision_id",
    methods: Annotated[str | None, typer.Option(
        help="Comma-separated: " + registry.choice_words() + ".")] = None,
    seed: Annotated[int, typer.Option(help="Random seed for every row (stored; a replay reuses it).")] = 0,
    workers: Annotated[int | None, typer.Option(help="Local worker processes (default: the cores it may use).")]
    = None,
    scheduler: Annotated[str | None, typer.Option(help="A Dask scheduler, e.g. tcp://host:8786.")] = None,
    dask_local: Annotated[int | None, typer.Option(help="Start a local Dask cluster of N process workers.")]
    = None,
    as_json: JsonFlag = False,
) -> None:
    """Explain every decision in the file not explained yet; each is an ordinary stored explanation."""
    with ProgressBar() as progress:
        summary = run(lambda: state(ctx).client().explain_batch(
            model, decisions, decision_id_column=decision_id_column, methods=methods.split(",") if methods else None,
            seed=seed,
            workers=workers, scheduler=scheduler, dask_local=dask_local, progress=progress))
    if as_json:
        print_json(summary.to_dict())
    else:
        show_summary(summary)


def show_summary(summary: BatchSummary) -> None:
    fields(f"Batch of {summary.total} decisions on {summary.model}", [
        ("explained", summary.done),
        ("skipped (already explained)", len(summary.skipped)),
        ("failed", len(summary.failed)),
        ("time", f"{summary.seconds:.1f} s, {summary.rate:.2f} explanations/s on {summary.workers} worker(s)"),
    ])
    if summary.failed:
        table("Failed rows (fix them and run the batch again: done rows are skipped)",
              ["line", "decision id", "code", "problem"],
              [(f.line, f.decision_id, f.code, f.message) for f in summary.failed])


class ProgressBar:
    """A progress bar with rate and time left, on a terminal only."""

    def __enter__(self) -> Any:
        if not errors.is_terminal:
            return None
        self.bar = Progress(TextColumn("explaining"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                            console=errors)
        self.task = self.bar.add_task("batch", total=None, counts="")
        self.bar.start()
        return self.update

    def update(self, counts: BatchProgress) -> None:
        self.bar.update(self.task, total=counts.total, completed=counts.finished,
                        counts=f"{counts.done} done, {counts.skipped} skipped, {counts.failed} failed")

    def __exit__(self, *exc: object) -> None:
        if errors.is_terminal:
            self.bar.stop()
