"""Models: the list, a model's versions and aliases (an owner moves them, production through the
policy's gate), and a version's page (inventory, lineage, alias history; for an auditor also the
policy results and score distributions over its explanations, and its packet)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import pdf_response
from api.errors import status_of
from api.pages.base import FormDep, PageRoute, SessionDep, client_of, redirect, render
from api.pages.session import PageSession
from api.pages.views import protected_features, quality_view
from xai_gov.auth.permissions import Permission, allowed, require
from xai_gov.errors import InvalidInput, XaiGovError
from xai_gov.explain.records import ExplanationRecord
from xai_gov.policies.evaluate import production_refusals
from xai_gov.registry.models import ModelRef, ModelVersion
from xai_gov.sdk import Client

router = APIRouter(prefix="/ui", route_class=PageRoute)
MAX_EXPLANATIONS = 5000  # the quality section reads at most this many of a version's explanations
PAGE = 500


@router.get("/models")
def models(request: Request, session: SessionDep) -> Response:
    require(session.actor, Permission.READ_MODELS)
    return render(request, "models.html", session, models=client_of(request).list_models())


@router.get("/models/{ref}")
def model_or_version(ref: str, request: Request, session: SessionDep,
                     moved: Annotated[str | None, Query(max_length=100)] = None,
                     approved: Annotated[str | None, Query(max_length=220)] = None) -> Response:
    require(session.actor, Permission.READ_MODELS)
    if "@" in ref:
        return _version_page(request, session, client_of(request).get_model(ref))
    return _model_page(request, session, ModelRef.parse(ref).name, moved=moved, approved=approved)


@router.post("/models/{name}/approval")
def approve(name: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    """A second person approves a version for production; the core checks who may (and not the registrant)."""
    require(session.actor, Permission.APPROVE_MODELS)
    try:
        version = int(form.get("version", ""))
    except ValueError:
        return _model_page(request, session, name, failed="The version was not approved.",
                           error=InvalidInput("choose the version to approve", field="version"))
    try:
        approved = client_of(request).approve(f"{name}@{version}", note=form.get("note", "").strip() or None,
                                              actor=session.actor)
    except XaiGovError as error:
        return _model_page(request, session, name, error=error, failed="The version was not approved.")
    return redirect(f"/ui/models/{name}?approved={approved.ref}")


def _model_page(request: Request, session: PageSession, name: str, *, error: XaiGovError | None = None,
                moved: str | None = None, approved: str | None = None,
                failed: str = "The alias was not moved.") -> Response:
    client = client_of(request)
    versions = client.list_versions(name)
    if not versions:
        client.get_model(name)  # the core's "no model" error
    gates = {v.version: _gate(client, v) for v in versions}
    return render(request, "model.html", session, status=status_of(error) if error else 200, name=name,
                  versions=list(reversed(versions)), history=list(reversed(client.alias_history(name))),
                  gates=gates, owner=allowed(session.actor, Permission.WRITE_MODELS), error=error, moved=moved,
                  policy_name=client.policy.document.name, approved=approved, failed=failed,
                  approver=allowed(session.actor, Permission.APPROVE_MODELS),
                  unapproved=[v for v in reversed(versions) if not v.lineage.approver])


def _gate(client: Client, version: ModelVersion) -> list[tuple[str, str]]:
    """What the policy still needs before this version may take the production alias: (field, why) — the
    lineage it lacks, uncommitted code, a second person's approval (the same reasons the alias move gives)."""
    return [(field, version.lineage.missing.get(field, "not recorded") if why.startswith("lineage lacks") else why)
            for field, why in production_refusals(client.policy, version.lineage)]


@router.post("/models/{name}/aliases")
def move_alias(name: str, request: Request, session: SessionDep, form: FormDep) -> Response:
    require(session.actor, Permission.WRITE_MODELS)
    alias = form.get("alias", "").strip()
    try:
        version = int(form.get("version", ""))
    except ValueError:
        return _model_page(request, session, name,
                           error=InvalidInput("choose the version the alias will point at", field="version"))
    try:
        client_of(request).move_alias(name, alias, version, actor=session.actor)
    except XaiGovError as error:
        return _model_page(request, session, name, error=error)
    return redirect(f"/ui/models/{name}?moved={alias}")


def _version_page(request: Request, session: PageSession, version: ModelVersion) -> Response:
    client = client_of(request)
    auditor = allowed(session.actor, Permission.READ_ALL_EXPLANATIONS)
    quality = quality_view(_explanations(client, version)) if auditor else None
    history = [m for m in client.alias_history(version.name) if version.version in (m.to_version, m.from_version)]
    return render(request, "version.html", session, version=version, quality=quality, history=history,
                  gate=_gate(client, version), protected=protected_features(client, version),
                  packet=allowed(session.actor, Permission.EXPORT_MODEL_PACKETS))


def _explanations(client: Client, version: ModelVersion) -> list[ExplanationRecord]:
    found: list[ExplanationRecord] = []
    while len(found) < MAX_EXPLANATIONS:
        page = client.explanations.find(model=version.name, version=version.version, limit=PAGE, offset=len(found))
        found += page
        if len(page) < PAGE:
            break
    return found


@router.get("/models/{ref}/packet")
def model_packet(ref: str, request: Request, session: SessionDep) -> Response:
    pdf = client_of(request).packets.model(ref, actor=session.actor)
    return pdf_response(pdf, f"model-{ref.replace('@', '-')}.pdf")
