from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from xai_gov.actors import Role
from xai_gov.auth.keys import ApiKey


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "olga", "role": "officer"}]})

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
                      description="Who holds the key (no control characters, not blank)")
    role: Role


class KeyOut(BaseModel):
    id: int
    prefix: str
    name: str
    role: str
    created_at: str
    created_by: str
    revoked_at: str | None

    @classmethod
    def from_domain(cls, key: ApiKey) -> KeyOut:
        return cls.model_validate(key.to_dict())


class KeyCreatedOut(KeyOut):
    key: str = Field(description="The key itself: shown in this answer only, stored only as a hash.")
