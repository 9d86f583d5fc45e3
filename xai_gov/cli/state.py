"""The client the CLI's commands share, opened lazily from the global options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from xai_gov.actors import Actor, Role
from xai_gov.config import Settings
from xai_gov.sdk import Client


@dataclass
class CliState:
    home: Path | None = None
    database_url: str | None = None
    role: Role | None = None  # --as-role: the role every command acts in (else the command's own)
    _client: Client | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        overrides: dict[str, object] = {}
        if self.home is not None:
            overrides["home"] = self.home
        if self.database_url is not None:
            overrides["database_url"] = self.database_url
        return Settings().model_copy(update=overrides)

    def actor(self, default: Role) -> Actor:
        """The person at the keyboard, in the role ``--as-role`` names, else the one the command needs
        (the core checks it against the permission table, as for an API key)."""
        return Actor(name=Actor.local_owner().name, role=self.role or default)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.settings())
        return self._client


def state(ctx: typer.Context) -> CliState:
    found = ctx.find_object(CliState)
    if found is None:
        found = ctx.ensure_object(CliState)
    return found
