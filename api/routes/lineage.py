"""Lineage lookups (auditor), from any side; each lookup is recorded in the audit ledger."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import ClientDep, LineageReader
from api.schemas.common import Instant, ModelRefPath, text_query

router = APIRouter(prefix="/v1/lineage", tags=["lineage"])


@router.get("", summary="Versions matching every filter given: data hash, commit, trainer, dates, MLflow run, "
                        "dataset digest, or decision.")
def find_lineage(
    client: ClientDep, auditor: LineageReader,
    data_hash: Annotated[str | None, Query(pattern=r"^(sha256:)?[0-9a-fA-F]{64}$", max_length=71)] = None,
    commit: Annotated[str | None, Query(pattern=r"^[0-9a-fA-F]{7,64}$", max_length=64)] = None,
    trainer: Annotated[str | None, text_query(200)] = None,
    decision_id: Annotated[str | None, text_query(200)] = None,
    mlflow_run_id: Annotated[str | None, text_query(64)] = None,
    dataset_digest: Annotated[str | None, text_query(200)] = None,
    since: Instant | None = None, until: Instant | None = None,
    date_field: Literal["registered", "trained"] = "registered",
) -> list[dict[str, Any]]:
    if decision_id is not None:
        return [v.to_dict() for v in client.lineage_by_decision(decision_id, actor=auditor)]
    return [v.to_dict() for v in client.find_lineage(data_sha256=data_hash, commit=commit, trainer=trainer,
                                                     since=since, until=until, date_field=date_field,
                                                     mlflow_run_id=mlflow_run_id, dataset_digest=dataset_digest,
                                                     actor=auditor)]


@router.get("/{ref}", summary="The lineage of one model version (name@version or name@alias).")
def lineage_of_version(ref: ModelRefPath, client: ClientDep, auditor: LineageReader) -> dict[str, Any]:
    return client.lineage(ref, actor=auditor).to_dict()
