"""``xai-gov audit ...``: verify the ledger, sign checkpoints, export the public key, read events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from xai_gov.cli.output import JsonFlag, console, print_json, run, short, table, when
from xai_gov.cli.state import state

audit_app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)


EXIT_PROBLEM = 1
EXIT_WARNING = 3  # verified, but unprotected: no checkpoint, or the head is too far past the newest


@audit_app.command("verify")
def verify(ctx: typer.Context,
           public_key: Annotated[Path | None, typer.Option(help="Trusted public key (PEM); default: the signing "
                                                                "key's public half.")] = None,
           artifacts: Annotated[bool, typer.Option("--artifacts", help="Also re-hash every stored artifact "
                                                                       "file.")] = False,
           checkpoints: Annotated[Path | None, typer.Option(help="A directory of checkpoint files (copied out of "
                                                                 "the store) to verify the database against.")] = None,
           as_json: JsonFlag = False) -> None:
    """Recompute the chain and every record's hash, check every checkpoint.

    Exit 0 when everything verifies, 1 on the first problem (named), 3 when it verifies but
    there is no signed checkpoint or the head is too far past the newest one."""
    report = run(lambda: state(ctx).client().verify_ledger(public_key=public_key, artifacts=artifacts,
                                                            checkpoints=checkpoints))
    if as_json:
        print_json(report.to_dict())
    elif report.ok:
        records = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in report.records.items())
        extra = "" if report.artifacts is None else f"; {report.artifacts} artifact file(s) re-hashed"
        if report.checkpoint_files is not None:
            extra += f"; {report.checkpoint_files} checkpoint(s) from files verified"
        console.print(f"OK: {report.events} events, head {report.head_seq} ({short(report.head_hash, 16)}); "
                      f"records verified: {records}; {report.checkpoints} signed checkpoint(s) verified{extra}",
                      soft_wrap=True)  # one line for scripts, however many kinds of record there are
        for warning in report.warnings:
            console.print(f"[yellow]WARNING[/yellow]: {escape(warning)}")
    else:
        problem = report.problem
        assert problem is not None
        fields = f"; fields: {', '.join(problem.fields)}" if problem.fields else ""
        console.print(f"[red]FAILED[/red] ({problem.kind}, {escape(problem.subject)}{escape(fields)}): "
                      f"{escape(problem.message)}")
    if not report.ok:
        raise typer.Exit(code=EXIT_PROBLEM)
    if report.warnings:
        raise typer.Exit(code=EXIT_WARNING)


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
