"""``xai-gov export decision|model`` and ``xai-gov packet verify``: PDF audit packets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xai_gov.actors import Role
from xai_gov.cli.output import JsonFlag, console, print_json, run
from xai_gov.cli.state import state
from xai_gov.registry.files import read_bytes

export_app = typer.Typer(help="Export PDF audit packets (each export is recorded in the ledger).",
                         no_args_is_help=True)
packet_app = typer.Typer(help="Check a PDF packet against the stored record and the ledger.", no_args_is_help=True)
Output = Annotated[Path, typer.Option("-o", "--output", help="Where to write the PDF.")]


@export_app.command("decision")
def export_decision(ctx: typer.Context, explanation_id: str, output: Output) -> None:
    """The decision packet of one stored explanation."""
    pdf = run(lambda: state(ctx).client().export_decision(explanation_id, actor=state(ctx).actor(Role.AUDITOR)))
    output.write_bytes(pdf)
    console.print(f"decision packet written to {output} ({len(pdf):,} bytes)")


@export_app.command("notice")
def export_notice(ctx: typer.Context, explanation_id: str, output: Output) -> None:
    """The adverse action notice the applicant receives (an adverse decision only)."""
    pdf = run(lambda: state(ctx).client().export_notice(explanation_id, actor=state(ctx).actor(Role.AUDITOR)))
    output.write_bytes(pdf)
    console.print(f"adverse action notice written to {output} ({len(pdf):,} bytes)")


@export_app.command("model")
def export_model(ctx: typer.Context, ref: str, output: Output) -> None:
    """The model-version packet (inventory, lineage, quality of its explanations so far)."""
    pdf = run(lambda: state(ctx).client().export_model(ref, actor=state(ctx).actor(Role.AUDITOR)))
    output.write_bytes(pdf)
    console.print(f"model-version packet written to {output} ({len(pdf):,} bytes)")


@packet_app.command("verify")
def verify(ctx: typer.Context, pdf: Path,
           as_json: JsonFlag = False) -> None:
    """Compare the record inside a packet with the stored record and the ledger; exit 1 if they differ."""
    check = run(lambda: state(ctx).client().verify_packet(read_bytes(pdf, field="pdf")))
    if as_json:
        print_json(check.to_dict())
    else:
        console.print(("OK: " if check.ok else "[red]DIFFERS[/red]: ") + check.message)
    if not check.ok:
        raise typer.Exit(code=1)
