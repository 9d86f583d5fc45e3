"""The credit officer's pages: the applicant form, the explained decision, their own decisions.

An auditor reads the same decision page (any officer's) with the record's ledger events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import pdf_response
from api.errors import status_of
from api.pages.base import FormDep, PageRoute, SessionDep, client_of, redirect, render
from api.pages.forms import form_fields, read_form
from api.pages.views import VersionFactsCache, decision_view, protected_features
from xai_gov.audit.queries import events_about
from xai_gov.auth.permissions import Permission, allowed, require
from xai_gov.errors import XaiGovError
from xai_gov.explain.engine import TimeBudget
from xai_gov.registry.models import ModelVersion
from xai_gov.sdk import Client

router = APIRouter(prefix="/ui", route_class=PageRoute)
PAGE = 50
PREFERRED_ALIASES = ("production", "staging")
DECISION_FIELDS = ("decision_id", "bank_decision")  # the form's own fields beside the applicant's


@router.get("/explain")
def explain_form(request: Request, session: SessionDep,
                 model: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    require(session.actor, Permission.EXPLAIN)
    client = client_of(request)
    model_ref = model or _default_ref(client)
    version = client.get_model(model_ref) if model_ref else None
    return _form_page(request, session, client, version, model_ref=model_ref or "")


@router.post("/explain")
def explain(request: Request, session: SessionDep, form: FormDep) -> Response:
    require(session.actor, Permission.EXPLAIN)
    client = client_of(request)
    model_ref = form.get("model", "")
    version = client.get_model(model_ref)
    decision_id = form.get("decision_id", "").strip()
    instance, typed, errors = read_form(version.schema, form)
    if not decision_id:
        errors["decision_id"] = "Decision id: enter the bank's id for this decision"
    if errors:
        return _form_page(request, session, client, version, model_ref=model_ref, typed=typed, errors=errors,
                          decision_id=decision_id, status=422, choices=form)
    gate = request.app.state.gate
    try:
        with gate.slot():
            record = client.explain(model_ref, instance, decision_id=decision_id, requested_by=session.actor.name,
                                    progress=TimeBudget(gate.budget_seconds),
                                    bank_decision=form.get("bank_decision") or None,
                                    what_counted_against=form.get("what_counted_against") == "on",
                                    re_explain=form.get("re_explain") == "on")
    except XaiGovError as error:  # the core's word on what the form cannot check (e.g. a reused decision id)
        field = error.field if error.field in (*version.schema.names, *DECISION_FIELDS) else None
        if field is None:
            raise
        return _form_page(request, session, client, version, model_ref=model_ref, typed=typed,
                          errors={field: error.message}, decision_id=decision_id, status=status_of(error),
                          choices=form)
    for step, seconds in record.timings.items():
        request.app.state.metrics.explain.labels(step).observe(seconds)
    return redirect(f"/ui/decisions/{record.id}")


def version_facts(request: Request) -> VersionFactsCache:
    state = request.app.state
    if getattr(state, "version_facts", None) is None:
        state.version_facts = VersionFactsCache(state.client)
    return state.version_facts


def _form_page(request: Request, session: SessionDep, client: Client, version: ModelVersion | None, *,
               model_ref: str, typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               decision_id: str = "", status: int = 200, choices: Mapping[str, str] | None = None) -> Response:
    fields = form_fields(version.schema, typed, errors, protected_features(client, version)) if version else []
    classes = [(name, version.schema.class_label(name)) for name in version.schema.class_names] if version else []
    return render(request, "explain.html", session, status=status, models=_model_choices(client), version=version,
                  model_ref=model_ref, fields=fields, errors=errors or {}, decision_id=decision_id, classes=classes,
                  rule=version.rule.describe() if version else "", choices=dict(choices or {}))


def _model_choices(client: Client) -> list[tuple[str, str]]:
    """(ref, words) for every alias and the latest version of every model."""
    choices = []
    for summary in client.list_models():
        for alias, number in sorted(summary.aliases.items()):
            choices.append((f"{summary.name}@{alias}", f"{summary.name}@{alias} (version {number})"))
        choices.append((f"{summary.name}@{summary.latest_version}", f"{summary.name}@{summary.latest_version} "
                                                                    "(latest version)"))
    return choices


def _default_ref(client: Client) -> str | None:
    """The first model's production alias, else its staging alias, else its latest version."""
    for summary in client.list_models():
        for alias in PREFERRED_ALIASES:
            if alias in summary.aliases:
                return f"{summary.name}@{alias}"
        return f"{summary.name}@{summary.latest_version}"
    return None


@router.get("/decisions")
def decisions(request: Request, session: SessionDep,
              decision_id: Annotated[str | None, Query(max_length=200)] = None,
              offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    require(session.actor, Permission.READ_EXPLANATIONS)
    wanted = (decision_id or "").strip() or None
    records = client_of(request).explanations.find(decision_id=wanted, limit=PAGE + 1, offset=offset,
                                                   viewer=session.actor)
    return render(request, "decisions.html", session, records=records[:PAGE], more=len(records) > PAGE,
                  offset=offset, page=PAGE, decision_id=wanted or "",
                  everyone=allowed(session.actor, Permission.READ_ALL_EXPLANATIONS))


@router.get("/decisions/{explanation_id}")
def decision(explanation_id: str, request: Request, session: SessionDep) -> Response:
    require(session.actor, Permission.READ_EXPLANATIONS)
    client = client_of(request)
    record = client.explanations.get(explanation_id, viewer=session.actor)
    facts = version_facts(request).get(record.model_ref)  # record.model_ref names a version, never an alias
    events = events_about(client.database, [record.id, f"decision {record.id}", f"notice {record.id}"]) \
        if allowed(session.actor, Permission.READ_AUDIT) else None
    return render(request, "decision.html", session, view=decision_view(record, facts.protected, facts.labels),
                  events=events,
                  auditor=allowed(session.actor, Permission.REPLAY))


@router.get("/decisions/{explanation_id}/packet")
def decision_packet(explanation_id: str, request: Request, session: SessionDep) -> Response:
    pdf = client_of(request).packets.decision(explanation_id, actor=session.actor)
    return pdf_response(pdf, f"decision-{explanation_id}.pdf")


@router.get("/decisions/{explanation_id}/notice")
def adverse_action_notice(explanation_id: str, request: Request, session: SessionDep) -> Response:
    """The applicant's adverse action notice (an adverse decision only; the core says why not otherwise)."""
    pdf = client_of(request).packets.notice(explanation_id, actor=session.actor)
    return pdf_response(pdf, f"notice-{explanation_id}.pdf")
