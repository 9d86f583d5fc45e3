"""How the CLI prints: rich tables for people, ``--json`` for scripts, one shape of error."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xai_gov.errors import XaiGovError
from xai_gov.timeutil import as_utc

#: The --json option every command shares.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # an error stays on one line for scripts
T = TypeVar("T")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    view = Table(title=title, title_justify="left", show_lines=False)
    for position, column in enumerate(columns):
        view.add_column(column, overflow="fold", no_wrap=position == 0)  # keep the key column whole
    for row in rows:
        view.add_row(*("-" if cell is None else escape(str(cell)) for cell in row))
    console.print(view)


def fields(title: str, pairs: Sequence[tuple[str, Any]]) -> None:
    view = Table(title=title, title_justify="left", show_header=False)
    view.add_column("field", style="bold")
    view.add_column("value", overflow="fold")
    for key, value in pairs:
        view.add_row(key, "-" if value is None else escape(str(value)))
    console.print(view)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn a core error into one line on stderr and exit status 2: no stack trace for bad input."""
    try:
        yield
    except XaiGovError as error:
        where = f" (field: {error.field})" if error.field else ""
        errors.print(f"[red]error[/red] {escape(f'[{error.code}]{where}: {error.message}')}", highlight=False)
        raise typer.Exit(code=2) from None


def run(action: Callable[[], T]) -> T:
    with reported_errors():
        return action()


def when(moment: datetime | None) -> str:
    """A timestamp for people: UTC to the second."""
    return "-" if moment is None else as_utc(moment).strftime("%Y-%m-%d %H:%M:%SZ")


def short(value: str | None, length: int = 12) -> str:
    if value is None:
        return "-"
    return value.removeprefix("sha256:")[:length]
