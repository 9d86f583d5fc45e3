"""The audit ledger (auditor): verify it, read its events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import AuditReader, ClientDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/verify", summary="Recompute the chain, every record's hash and every checkpoint.")
def verify(client: ClientDep, _: AuditReader,
           artifacts: Annotated[bool, Query(description="Also re-hash every stored artifact file.")] = False
           ) -> dict[str, Any]:
    return client.verify_ledger(artifacts=artifacts).to_dict()


@router.get("/events", summary="Ledger events in sequence order.")
def events(client: ClientDep, _: AuditReader, after: Annotated[int, Query(ge=0, le=2**62)] = 0,
           limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return [e.to_dict() for e in client.audit_events(after=after, limit=limit)]
