"""Explanation service: explain and store, read back, look up, replay.

A request that fails (bad instance, unknown model or method, a model that
raises) stores nothing: the record is written only once it is complete.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd

from xai_gov.actors import Actor
from xai_gov.audit.records import check_explanation
from xai_gov.auth.permissions import Permission, allowed
from xai_gov.errors import Conflict, IntegrityError, InvalidInput, ModelCheckFailed, NotFound, XaiGovError
from xai_gov.explain.detached import KEEP_VERSIONS, DetachedExplainer
from xai_gov.explain.engine import (
    ExplainerCache,
    ExplainOptions,
    Progress,
    TimeBudget,
    VersionExplainers,
    explain_instance,
    trial_explanation,
)
from xai_gov.explain.pool import ExplainPool
from xai_gov.explain.reasons import ReasonMap
from xai_gov.explain.records import ExplanationRecord
from xai_gov.lineage.models import LineageView
from xai_gov.lineage.service import record_lookup
from xai_gov.policies.models import Policy
from xai_gov.registry.adapters import ModelAdapter
from xai_gov.registry.models import ModelRef, ModelVersion
from xai_gov.registry.service import RegistryService
from xai_gov.store import ledger, repos
from xai_gov.store.db import Database
from xai_gov.validation import check_instance, check_optional_text, check_text

MAX_PAGE = 500
SHIPPED_VERSIONS = 8  # versions whose files are kept in memory, ready to send to workers
WARMING = "xai-gov service start"  # who asks for the trial explanation a worker runs as it starts (not stored)
log = logging.getLogger(__name__)


def _event_payload(record: ExplanationRecord, stored: dict[str, Any]) -> dict[str, Any]:
    """What the ledger keeps of a stored record: its fields' hashes (the hash itself left out)."""
    body = {k: v for k, v in stored.items() if k != "record_sha256"}
    return ledger.record_payload(body, decision_id=record.decision_id, model=record.model_ref)


def _never_explained(decision_id: str) -> NotFound:
    return NotFound(f"decision {decision_id!r} was never explained, so it cannot be re-explained",
                    code="decision_not_found", field="decision_id")


@dataclass(frozen=True)
class FieldCheck:
    field: str
    matches: bool
    stored: Any
    replayed: Any


@dataclass(frozen=True)
class ReplayReport:
    explanation_id: str
    matches: bool
    same_library_versions: bool
    fields: tuple[FieldCheck, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"explanation_id": self.explanation_id, "matches": self.matches,
                "same_library_versions": self.same_library_versions,
                "fields": [{"field": f.field, "matches": f.matches, **({} if f.matches else
                                                                      {"stored": f.stored, "replayed": f.replayed})}
                           for f in self.fields]}


class ExplanationService:
    def __init__(self, *, database: Database, registry: RegistryService, reason_map: ReasonMap, policy: Policy,
                 cache: ExplainerCache | None = None, pool: ExplainPool | None = None) -> None:
        self.database = database
        self.registry = registry
        self.reason_map = reason_map
        self.policy = policy
        self.cache = cache or ExplainerCache()
        # With a pool, explanations are computed in its worker processes (xai_gov.explain.pool) and stored
        # here; without one, in the calling thread, one at a time per version.
        self.pool = pool
        self._shipped: OrderedDict[tuple[str, str | None, str], DetachedExplainer] = OrderedDict()
        self._shipped_lock = threading.Lock()

    def explainers(self, ref: str | ModelRef) -> VersionExplainers:
        """The version's explainers, resolved through the ledger (alias pointer and version row checked) and
        with its files checked, even when the model is already loaded: a change refuses, named."""
        version = self.registry.get_verified(ref)
        explainers = self.cache.get(version, lambda: VersionExplainers(version, self.registry.load_adapter(version),
                                                                       self.registry.load_background(version)))
        self.registry.check_files(version)
        return explainers

    def trial(self, version: ModelVersion, adapter: ModelAdapter, background: pd.DataFrame) -> VersionExplainers:
        """One explanation of the first background row, with every default method, of a version about to be
        registered.

        Registration runs it before writing anything, so a version it accepts can be
        explained with the default methods (LIME, Anchor, SHAP, every score, the reasons
        and the verdict); a failure says why, and nothing is stored. Every method runs
        with small sample counts (``TRIAL``): the trial checks that each step runs on this
        model and its explainers build, not its figures."""
        explainers = VersionExplainers(version, adapter, background)
        try:
            trial_explanation(explainers, requested_by=version.registered_by, reason_map=self.reason_map,
                              policy=self.policy)
        except XaiGovError as error:
            raise ModelCheckFailed(f"registration explains one background row with the default methods before "
                                   f"storing anything, and that failed: {error.message}", code=error.code,
                                   field=error.field) from error
        except Exception as exc:  # anything the model or an explainer raised: say what, store nothing
            raise ModelCheckFailed(f"registration explains one background row with the default methods before "
                                   f"storing anything, and that failed: {type(exc).__name__}: {exc}") from exc
        return explainers

    def adopt(self, explainers: VersionExplainers, version: ModelVersion) -> None:
        """Keep a trial's explainers for the version it turned into."""
        explainers.version = version
        self.cache.get(version, lambda: explainers)

    def explain(self, *, model: str, instance: dict[str, Any], decision_id: str, requested_by: str,
                options: ExplainOptions | None = None, progress: Progress | None = None,
                bank_decision: str | None = None, what_counted_against: bool = False,
                re_explain: bool = False) -> ExplanationRecord:
        """Explain one decision and store the record.

        A decision id is explained once: explaining it again is a ``Conflict`` unless ``re_explain``
        says so, and then the new record names the latest earlier one in ``re_explains``. Re-explaining
        a decision id never explained is ``NotFound``. ``bank_decision`` is the class the bank actually
        decided (it may override the version's rule); ``what_counted_against`` asks for the features
        that pushed toward the adverse class on a favourable decision."""
        if not isinstance(decision_id, str) or not decision_id.strip() or len(decision_id) > 200:
            raise InvalidInput("a decision id is 1 to 200 characters", field="decision_id")
        check_text(decision_id, "decision_id")
        check_text(requested_by, "requested_by")
        check_optional_text(bank_decision, "bank_decision", max_length=200)
        check_instance(instance)  # before any work: odd text or numbers never reach the model or the store
        self._check_decision_id(decision_id, re_explain=re_explain)  # fail fast, before the work
        options = options or ExplainOptions.build()
        if self.pool is None:
            record = explain_instance(self.explainers(model), instance, options=options, decision_id=decision_id,
                                      requested_by=requested_by, reason_map=self.reason_map, policy=self.policy,
                                      progress=progress, bank_decision=bank_decision,
                                      reasons_asked=what_counted_against)
        else:  # only a time budget crosses to the worker; another progress callback stays here, unused
            detached = self.detached(model, options=options, requested_by=requested_by)
            record = self.pool.explain(detached.by_reference(self.registry.artifacts),
                                       decision_id, instance, bank_decision=bank_decision,
                                       reasons_asked=what_counted_against,
                                       budget_seconds=progress.remaining() if isinstance(progress, TimeBudget)
                                       else None)
        return self.store(record, re_explain=re_explain)

    def store(self, record: ExplanationRecord, *, re_explain: bool = False) -> ExplanationRecord:
        """Write a complete record and its ledger event in one transaction (a first explanation of an
        explained decision id is a Conflict; ``re_explain`` links the record to the latest earlier one):
        ``store_many`` with one record."""
        outcome = self.store_many([record], re_explain=re_explain)[0]
        if isinstance(outcome, XaiGovError):
            raise outcome
        return outcome

    def store_many(self, records: list[ExplanationRecord], *, re_explain: bool = False,
                   stored: list[dict[str, Any]] | None = None) -> list[ExplanationRecord | XaiGovError]:
        """Write complete records and their ledger events in one transaction, the ledger's lock taken once.

        Each record is checked as a single one is: its version exists; a first explanation of an explained
        decision id (before, or earlier in the list) is a Conflict; ``re_explain`` links each to the latest
        earlier one. A record that fails its check is left out, its error in its place in the answer, and
        the others are written. If the database refuses the group at the write (a value it cannot store, a
        uniqueness it checks), nothing of it is kept and each record is written alone, so only the one at
        fault fails. ``stored``: the records' ``to_dict()``, when the caller has them already (a batch's
        workers build them)."""
        if stored is not None and len(stored) != len(records):
            raise ValueError(f"{len(records)} records but {len(stored)} stored forms")
        try:
            return self._store_group(records, re_explain=re_explain, stored=stored)
        except (InvalidInput, Conflict) as refused:  # raised by the write: the group's transaction rolled back
            if len(records) == 1:
                return [refused]
            return [self.store_many([record], re_explain=re_explain,
                                    stored=None if stored is None else [stored[position]])[0]
                    for position, record in enumerate(records)]

    def _store_group(self, records: list[ExplanationRecord], *, re_explain: bool,
                     stored: list[dict[str, Any]] | None) -> list[ExplanationRecord | XaiGovError]:
        # What each record is stored as and what its event keeps are built before the transaction, out of
        # the ledger's lock (a re-explanation's link is known only inside it: its forms are built there).
        forms = [None] * len(records) if re_explain else stored or [r.to_dict() for r in records]
        payloads = [None if form is None else _event_payload(r, form) for r, form in zip(records, forms, strict=True)]
        outcomes: list[ExplanationRecord | XaiGovError] = []
        rows: list[tuple[ExplanationRecord, dict[str, Any], int]] = []
        events: list[ledger.NewEvent] = []
        with self.database.session() as session:
            versions = repos.version_ids(session, {(r.model, r.version) for r in records})
            if re_explain:  # the link to the latest earlier explanation is decided under the ledger's lock
                ledger.lock(session)
            # First explanations are checked here, and the unique index has the last word at the insert (one
            # record alone: it answers alone, as it always did). The rows go in before the ledger's lock is
            # taken (at the append), so a writer that holds it never waits on another's row.
            latest = repos.latest_explanations_of(session, [r.decision_id for r in records]) \
                if re_explain or len(records) > 1 else {}
            for record, form, payload in zip(records, forms, payloads, strict=True):
                version_id = versions.get((record.model, record.version))
                earlier = latest.get(record.decision_id)
                if version_id is None:
                    outcomes.append(repos.version_not_found(record.model, record.version))
                    continue
                if re_explain and earlier is None:
                    outcomes.append(_never_explained(record.decision_id))
                    continue
                if not re_explain and earlier is not None:
                    outcomes.append(repos.decision_conflict(record.decision_id))
                    continue
                if re_explain:
                    record = replace(record, re_explains=earlier)
                    form = record.to_dict()
                    payload = _event_payload(record, form)
                assert form is not None and payload is not None  # built above, or before the transaction
                latest[record.decision_id] = record.id  # a later record of this decision id comes after it
                rows.append((record, form, version_id))
                events.append(ledger.NewEvent(record.requested_by, "explanation.created", record.id, payload))
                outcomes.append(record)
            if rows:
                repos.add_explanations(session, rows)
                ledger.append_many(session, events)
        return outcomes

    def aliased_versions(self) -> list[DetachedExplainer]:
        """The versions an alias names now (``production``, ``champion``...), each once and at most as many as a
        worker keeps built (``KEEP_VERSIONS``), as the pool's workers read them: what they build before the
        service says ready. A version that fails its checks is left out (logged); its requests are refused,
        named, as always."""
        found: dict[tuple[str, str | None, str], DetachedExplainer] = {}
        for summary in self.registry.list_models():
            for alias in sorted(summary.aliases):
                if len(found) >= KEEP_VERSIONS:
                    return list(found.values())
                try:
                    detached = self.detached(f"{summary.name}@{alias}", options=ExplainOptions.build(),
                                             requested_by=WARMING)
                except XaiGovError as error:
                    log.warning("not built before the first request: %s@%s: %s", summary.name, alias, error.message)
                    continue
                found.setdefault(detached.key, detached.by_reference(self.registry.artifacts))
        return list(found.values())

    def detached(self, model: str, *, options: ExplainOptions, requested_by: str) -> DetachedExplainer:
        """Everything a worker away from the store needs to explain applicants of ``model`` (pinned to the
        version the reference names now, so a whole batch uses one version). Resolved and checked as
        ``explainers`` does: a changed pointer, row or file refuses, named."""
        version = self.registry.get_verified(model)
        self.registry.check_files(version)
        key = (version.ref, version.artifact_sha256, version.background_sha256)
        with self._shipped_lock:
            shipped = self._shipped.get(key)
        if shipped is None:  # the files were just checked against their hashes: read them once per version
            artifact = self.registry.artifacts.get(version.artifact_sha256) if version.artifact_sha256 else None
            shipped = DetachedExplainer(version=version, artifact=artifact,
                                        background=self.registry.load_background(version),
                                        reason_map=self.reason_map, policy=self.policy, options=options,
                                        requested_by=requested_by)
            with self._shipped_lock:
                self._shipped[key] = shipped
                while len(self._shipped) > SHIPPED_VERSIONS:
                    self._shipped.popitem(last=False)
        return shipped.with_request(options=options, requested_by=requested_by)

    def explained(self, decision_ids: list[str]) -> set[str]:
        """The decision ids among these that already have an explanation."""
        with self.database.session() as session:
            return repos.explained_decision_ids(session, decision_ids)

    def _check_decision_id(self, decision_id: str, *, re_explain: bool) -> None:
        with self.database.session() as session:
            earlier = repos.latest_explanation_of(session, decision_id)
        if earlier is not None and not re_explain:
            raise repos.decision_conflict(decision_id)
        if earlier is None and re_explain:
            raise _never_explained(decision_id)

    def get(self, explanation_id: str, *, viewer: Actor | None = None) -> ExplanationRecord:
        """A stored explanation; a ``viewer`` who may not read everyone's sees only their own
        (another officer's is 'not found', so its existence does not leak)."""
        check_text(explanation_id, "id", max_length=200)
        with self.database.session() as session:
            record = repos.get_explanation(session, explanation_id)
        if viewer is not None and not allowed(viewer, Permission.READ_ALL_EXPLANATIONS) \
                and record.requested_by != viewer.name:
            raise NotFound(f"no explanation {explanation_id!r}", code="explanation_not_found", field="id")
        return record

    def find(self, *, decision_id: str | None = None, model: str | None = None, version: int | None = None,
             requested_by: str | None = None,
             since: datetime | None = None, until: datetime | None = None, limit: int = 100,
             offset: int = 0, viewer: Actor | None = None) -> list[ExplanationRecord]:
        """Stored explanations matching every filter; a ``viewer`` who may not read everyone's sees their own."""
        if viewer is not None and not allowed(viewer, Permission.READ_ALL_EXPLANATIONS):
            requested_by = viewer.name
        for name, value in (("decision_id", decision_id), ("model", model), ("requested_by", requested_by)):
            check_optional_text(value, name, max_length=220)
        if not 1 <= limit <= MAX_PAGE or offset < 0:
            raise InvalidInput(f"limit is 1 to {MAX_PAGE} and offset not negative", field="limit")
        with self.database.session() as session:
            return repos.find_explanations(session, decision_id=decision_id, model=model, version=version,
                                           requested_by=requested_by,
                                           since=since, until=until, limit=limit, offset=offset)

    def lineage_of_decision(self, decision_id: str, *, actor: str) -> list[LineageView]:
        """The lineage of every version that explained ``decision_id``; each explanation found must match
        the ledger (its record and lookup columns), or the answer is refused, naming what changed."""
        check_text(decision_id, "decision_id", max_length=200)
        with self.database.session() as session:
            for row in repos.explanation_rows(session, decision_id=decision_id):
                problem = check_explanation(session, row, ledger.find_event(session, action="explanation.created",
                                                                            subject=row.id))
                if problem:
                    raise IntegrityError(f"{problem.message}; refusing to answer from it",
                                         code="explanation_changed", field="decision_id")
            views = repos.lineage_of_decision(session, decision_id)
            record_lookup(session, actor=actor, query={"decision_id": decision_id}, views=views)
            return views

    def replay(self, explanation_id: str, *, progress: Progress | None = None) -> ReplayReport:
        """Re-run a stored explanation with its seed and parameters; compare every result field."""
        stored = self.get(explanation_id)
        options = ExplainOptions.of_record(stored)
        decision = stored.decision or {}
        replayed = explain_instance(self.explainers(stored.model_ref), stored.instance, options=options,
                                    decision_id=stored.decision_id, requested_by=stored.requested_by,
                                    reason_map=self.reason_map, policy=self.policy, progress=progress,
                                    bank_decision=decision.get("bank_decision"),
                                    reasons_asked=decision.get("reasons") == "what counted against")
        before, after = stored.result_fields(), replayed.result_fields()
        checks = tuple(FieldCheck(name, before[name] == after.get(name), before[name], after.get(name))
                       for name in sorted(before))
        return ReplayReport(explanation_id=explanation_id, matches=all(c.matches for c in checks),
                            same_library_versions=stored.library_versions == replayed.library_versions,
                            fields=checks)
