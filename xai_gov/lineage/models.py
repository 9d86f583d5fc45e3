"""The lineage record of a model version (DESIGN §5).

A field that could not be captured is ``None`` and is named in ``missing`` with
the reason; nothing is ever guessed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from xai_gov.timeutil import format_utc, parse_utc

#: Fields a lineage record can carry; ``missing`` may name any of them.
LINEAGE_FIELDS: tuple[str, ...] = (
    "code_repository", "code_commit", "code_dirty",
    "data_sha256", "data_rows", "data_source_uri",
    "trainer", "training_started_at", "training_ended_at",
    "hyperparameters", "seeds", "metrics", "environment",
    "parent_version", "approver",
)


@dataclass(frozen=True)
class LineageRecord:
    code_repository: str | None = None
    code_commit: str | None = None
    code_dirty: bool | None = None
    data_sha256: str | None = None
    data_rows: int | None = None
    data_source_uri: str | None = None
    trainer: str | None = None
    training_started_at: datetime | None = None
    training_ended_at: datetime | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    parent_version: str | None = None
    approver: str | None = None
    missing: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("training_started_at", "training_ended_at"):
            out[key] = format_utc(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LineageRecord:
        values = {key: data.get(key) for key in LINEAGE_FIELDS}
        for key in ("training_started_at", "training_ended_at"):
            values[key] = parse_utc(values[key], field=key)
        for key in ("hyperparameters", "seeds", "metrics", "environment"):
            values[key] = dict(values[key] or {})
        return cls(**values, missing=dict(data.get("missing") or {}))


@dataclass(frozen=True)
class LineageView:
    """A model version's lineage as a lookup answers it."""

    model: str
    version: int
    registered_at: datetime
    registered_by: str
    lineage: LineageRecord

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "ref": self.ref,
                "registered_at": format_utc(self.registered_at), "registered_by": self.registered_by,
                "lineage": self.lineage.to_dict()}
