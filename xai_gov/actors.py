"""Who is acting, and in which role (DESIGN §5)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from enum import StrEnum

from xai_gov.errors import InvalidInput


class Role(StrEnum):
    OFFICER = "officer"
    AUDITOR = "auditor"
    OWNER = "owner"
    APPROVER = "approver"  # approves model versions for production (the second person); reads models
    ADMIN = "admin"


def parse_role(value: str, *, field: str = "role") -> Role:
    """A role by name; InvalidInput naming the roles otherwise."""
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}: one of {', '.join(r.value for r in Role)}",
                           field=field) from None


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role

    @classmethod
    def local_owner(cls) -> Actor:
        """The person at the keyboard of the SDK or CLI: owner of what they register."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry, e.g. in some containers
            name = "unknown"
        return cls(name=name, role=Role.OWNER)

    @classmethod
    def local_auditor(cls) -> Actor:
        """The person at the keyboard exporting packets: an auditor of their own data."""
        return cls(name=cls.local_owner().name, role=Role.AUDITOR)
