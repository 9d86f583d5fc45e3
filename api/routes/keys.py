"""API keys (admin): create (the key is in this answer only), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import ClientDep, JsonBody, KeyManager
from api.schemas.keys import KeyCreatedOut, KeyIn, KeyOut

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=201, response_model=KeyCreatedOut, summary="Create a key (shown once).",
             dependencies=[JsonBody])
def create_key(body: KeyIn, client: ClientDep, admin: KeyManager) -> KeyCreatedOut:
    key, secret = client.keys.create(name=body.name, role=body.role, actor=admin)
    return KeyCreatedOut(**KeyOut.from_domain(key).model_dump(), key=secret)


@router.get("", response_model=list[KeyOut], summary="Every key (never the key itself).")
def list_keys(client: ClientDep, _: KeyManager) -> list[KeyOut]:
    return [KeyOut.from_domain(k) for k in client.keys.list()]


@router.delete("/{key_id}", response_model=KeyOut, summary="Revoke a key: it stops working at once.")
def revoke_key(key_id: Annotated[int, Path(ge=1, le=2**31 - 1)], client: ClientDep, admin: KeyManager) -> KeyOut:
    return KeyOut.from_domain(client.keys.revoke(key_id=key_id, actor=admin))
