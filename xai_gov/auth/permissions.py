"""Who may do what (DESIGN §5), in one table the SDK, CLI and API all read.

The core services enforce it (``require``, or ``allowed`` where a refusal needs its own words or is itself
recorded), so the three surfaces allow and refuse alike: ``tests/test_permissions_table.py`` checks every
operation that takes an actor, for every role, through all three.
"""

from __future__ import annotations

from enum import StrEnum

from xai_gov.actors import Actor, Role
from xai_gov.errors import PermissionDenied


class Permission(StrEnum):
    READ_MODELS = "read models"
    WRITE_MODELS = "register models and move aliases"
    REGISTER_CODE_ARTIFACTS = "register a model whose artifact runs code when loaded (pickle, joblib)"
    APPROVE_MODELS = "approve model versions for production"
    EXPLAIN = "explain decisions"
    READ_EXPLANATIONS = "read explanations"
    READ_ALL_EXPLANATIONS = "read every officer's explanations"
    REPLAY = "replay explanations"
    READ_LINEAGE = "look lineage up"
    READ_AUDIT = "read and verify the audit ledger"
    MANAGE_KEYS = "manage API keys"
    EXPORT_DECISION_PACKETS = "export decision packets"
    EXPORT_MODEL_PACKETS = "export model-version packets"
    EXPLAIN_BATCH = "explain decisions in batches"
    MONITOR = "run and read monitoring of stored decisions"


GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.READ_MODELS: frozenset(Role),
    # The owner only: an admin manages keys, and does not also put models in front of applicants.
    Permission.WRITE_MODELS: frozenset({Role.OWNER}),
    Permission.REGISTER_CODE_ARTIFACTS: frozenset({Role.OWNER}),
    # The second person: never the one who registered the version (the registry checks who that was).
    Permission.APPROVE_MODELS: frozenset({Role.OWNER, Role.APPROVER}),
    Permission.EXPLAIN: frozenset({Role.OFFICER}),
    Permission.READ_EXPLANATIONS: frozenset({Role.OFFICER, Role.AUDITOR}),
    Permission.READ_ALL_EXPLANATIONS: frozenset({Role.AUDITOR}),
    Permission.REPLAY: frozenset({Role.AUDITOR}),
    Permission.READ_LINEAGE: frozenset({Role.AUDITOR}),
    Permission.READ_AUDIT: frozenset({Role.AUDITOR}),
    Permission.MANAGE_KEYS: frozenset({Role.ADMIN}),
    # An officer exports packets of the decisions they explained (the service narrows it to their own).
    Permission.EXPORT_DECISION_PACKETS: frozenset({Role.OFFICER, Role.AUDITOR}),
    Permission.EXPORT_MODEL_PACKETS: frozenset({Role.AUDITOR}),
    # A model owner explains a version's decisions in bulk (e.g. under review); an auditor, a sample to check.
    Permission.EXPLAIN_BATCH: frozenset({Role.OWNER, Role.AUDITOR}),
    Permission.MONITOR: frozenset({Role.AUDITOR, Role.OWNER}),
}


def allowed(actor: Actor, permission: Permission) -> bool:
    return actor.role in GRANTS[permission]


def holders(permission: Permission) -> str:
    """The roles granted ``permission``, in words ("the owner role", "the auditor or owner role")."""
    return "the " + " or ".join(sorted(role.value for role in GRANTS[permission])) + " role"


def require(actor: Actor, permission: Permission) -> Actor:
    if not allowed(actor, permission):
        raise PermissionDenied(f"{actor.name} ({actor.role.value}) may not {permission.value}", field="role")
    return actor
