"""``xai-gov keys ...``: API keys for the HTTP service. Whoever runs the CLI on the data acts as admin."""

from __future__ import annotations

from typing import Annotated

import typer

from xai_gov.actors import Role
from xai_gov.cli.output import JsonFlag, console, print_json, run, table, when
from xai_gov.cli.state import state

keys_app = typer.Typer(help="API keys: create (shown once), revoke, list.", no_args_is_help=True)


@keys_app.command("create")
def create(ctx: typer.Context,
           role: Annotated[str, typer.Option(help="officer, auditor, owner, approver or admin.")],
           name: Annotated[str, typer.Option(help="Who or what holds the key.")],
           as_json: JsonFlag = False) -> None:
    """Create a key and print it once: it is stored only as a hash."""
    key, secret = run(lambda: state(ctx).client().keys.create(name=name, role=role, actor=state(ctx).actor(Role.ADMIN)))
    if as_json:
        print_json({**key.to_dict(), "key": secret})
    else:
        console.print(f"key {key.id} ({key.role.value}, {key.name}): [bold]{secret}[/bold]\n"
                      "store it now: it is not shown again", soft_wrap=True)


@keys_app.command("revoke")
def revoke(ctx: typer.Context, key_id: int, as_json: JsonFlag = False) -> None:
    """Revoke a key by its id: it stops working at once."""
    key = run(lambda: state(ctx).client().keys.revoke(key_id=key_id, actor=state(ctx).actor(Role.ADMIN)))
    if as_json:
        print_json(key.to_dict())
    else:
        console.print(f"key {key.id} ({key.prefix}, {key.name}) revoked at {when(key.revoked_at)}")


@keys_app.command("list")
def list_keys(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every key (never the key itself)."""
    keys = run(lambda: state(ctx).client().keys.list())
    if as_json:
        print_json([k.to_dict() for k in keys])
        return
    table("API keys", ["id", "prefix", "name", "role", "created", "revoked"],
          [(k.id, k.prefix, k.name, k.role.value, when(k.created_at), when(k.revoked_at) if k.revoked_at else "-")
           for k in keys])
