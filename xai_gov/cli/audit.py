"""``xai-gov audit ...``: verify the ledger, sign checkpoints, export the public key, read events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xai_gov.cli.output import JsonFlag, console, print_json, run, short, table, when
from xai_gov.cli.state import state

audit_app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)


@audit_app.command("verify")
def verify(ctx: typer.Context,
           public_key: Annotated[Path | None, typer.Option(help="Trusted public key (PEM); default: the signing "
                                                                "key's public half.")] = None,
           as_json: JsonFlag = False) -> None:
    """Recompute the chain and every record's hash, check every checkpoint; exit 1 on the first problem."""
    report = run(lambda: state(ctx).client().verify_ledger(public_key=public_key))
    if as_json:
        print_json(report.to_dict())
    elif report.ok:
        records = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in report.records.items())
        console.print(f"OK: {report.events} events, head {report.head_seq} ({short(report.head_hash, 16)}); "
                      f"records verified: {records}; {report.checkpoints} signed checkpoint(s) verified")
    else:
        problem = report.problem
        assert problem is not None
        console.print(f"[red]FAILED[/red] ({problem.kind}, {problem.subject}): {problem.message}")
    if not report.ok:
        raise typer.Exit(code=1)


@audit_app.command("checkpoint")
def checkpoint(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Verify the ledger, then sign its head with the Ed25519 key (kept outside the database)."""
    signed = run(lambda: state(ctx).client().checkpoint())
    if as_json:
        print_json(signed.to_dict())
    else:
        console.print(f"checkpoint {signed.id}: event {signed.seq}, head {short(signed.head_hash, 16)}, "
                      f"signed by key {signed.key_id} at {when(signed.signed_at)}")


@audit_app.command("public-key")
def public_key(ctx: typer.Context,
               output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the PEM here.")] = None
               ) -> None:
    """The public key auditors verify checkpoints with (PEM)."""
    pem = run(lambda: state(ctx).client().audit.public_key_pem())
    if output is None:
        typer.echo(pem, nl=False)
    else:
        output.write_text(pem)
        console.print(f"public key written to {output}")


@audit_app.command("log")
def log(ctx: typer.Context, after: int = 0, limit: int = 50, as_json: JsonFlag = False) -> None:
    """Ledger events in sequence order."""
    events = run(lambda: state(ctx).client().audit_events(after=after, limit=limit))
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    table(f"Ledger events after {after}", ["seq", "at", "actor", "action", "subject", "hash"],
          [(e.seq, when(e.at), e.actor, e.action, e.subject, short(e.hash, 12)) for e in events])
