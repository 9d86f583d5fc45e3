"""Domain objects of the registry: what the store returns and the SDK, CLI and API show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xai_gov.errors import InvalidInput
from xai_gov.lineage.models import LineageRecord
from xai_gov.registry.decision import DecisionRule
from xai_gov.registry.schema import FeatureSchema
from xai_gov.timeutil import format_utc

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
ALIAS_PATTERN = r"^[a-z][a-z0-9_-]{0,99}$"
#: name, name@version (1 to 999,999,999 as written here; MAX_VERSION bounds it) or name@alias.
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}(@([1-9][0-9]{0,8}|[a-z][a-z0-9_-]{0,99}))?$"
_NAME = re.compile(NAME_PATTERN)
_ALIAS = re.compile(ALIAS_PATTERN)
MAX_VERSION = 2**31 - 1


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(f"model name {name!r} must be 1-200 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit", field="name")
    return name


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidInput(f"alias {alias!r} must start with a lower-case letter and hold only a-z, 0-9, '_', '-'",
                           field="alias")
    return alias


@dataclass(frozen=True)
class ModelRef:
    """``name@3`` (a version), ``name@production`` (an alias) or ``name`` (the latest version)."""

    name: str
    version: int | None = None
    alias: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        if not isinstance(text, str) or not text:
            raise InvalidInput("a model reference is name@version or name@alias", field="model")
        name, sep, selector = text.partition("@")
        check_model_name(name)
        if not sep:
            return cls(name)
        if selector.isdigit():
            if not 1 <= int(selector) <= MAX_VERSION:
                raise InvalidInput(f"{text!r}: a version is a number from 1 to {MAX_VERSION}", field="model")
            return cls(name, version=int(selector))
        return cls(name, alias=check_alias(selector))

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        return f"{self.name}@{self.alias}" if self.alias else self.name


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    adapter_spec: dict[str, Any]
    artifact_sha256: str | None
    schema: FeatureSchema
    background_sha256: str
    background_rows: int
    description: str | None
    registered_at: datetime
    registered_by: str
    aliases: tuple[str, ...]
    lineage: LineageRecord
    # The bank's decision rule, set at registration. Versions registered before rules existed have none
    # stored; they decide by ``rule``'s default (cutoff 0.5), and their stored record stays as it was hashed.
    decision_rule: DecisionRule | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def rule(self) -> DecisionRule:
        return self.decision_rule or DecisionRule(self.schema.adverse_class or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name, "version": self.version, "ref": self.ref, "aliases": list(self.aliases),
            "adapter": self.adapter_spec, "artifact_sha256": self.artifact_sha256,
            "schema": self.schema.to_dict(), "background_sha256": self.background_sha256,
            "background_rows": self.background_rows, "description": self.description,
            "registered_at": format_utc(self.registered_at), "registered_by": self.registered_by,
            "lineage": self.lineage.to_dict(),
            **({"decision_rule": self.decision_rule.to_dict()} if self.decision_rule else {}),
        }

    def record(self) -> dict[str, Any]:
        """What the ledger covers: everything as registered. Not the aliases, which move, nor the approver,
        who comes later: their moves and the approval are ledger events of their own."""
        out = {k: v for k, v in self.to_dict().items() if k != "aliases"}
        out["lineage"] = self.lineage.as_registered().to_dict()
        return out


@dataclass(frozen=True)
class ModelSummary:
    name: str
    latest_version: int
    version_count: int
    aliases: dict[str, int]
    created_at: datetime
    created_by: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.name, "latest_version": self.latest_version, "versions": self.version_count,
                "aliases": dict(sorted(self.aliases.items())), "created_at": format_utc(self.created_at),
                "created_by": self.created_by}


@dataclass(frozen=True)
class AliasMove:
    model: str
    alias: str
    from_version: int | None
    to_version: int
    actor: str
    moved_at: datetime
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "alias": self.alias, "from_version": self.from_version,
                "to_version": self.to_version, "actor": self.actor, "moved_at": format_utc(self.moved_at)}
