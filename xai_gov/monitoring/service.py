"""Monitoring runs: read a window of stored decisions, compare, judge against the policy, store, ledger.

A run reads the version's stored explanations requested in ``[since, until)``
(each decision id counted once: its latest explanation) and compares them with
the version's training background (inputs, scores) and with a reference window
of earlier explanations (attributions, trust scores): by default every
explanation of the version before ``since``. The run is stored with its window,
the hashes of everything it read and the policy's verdict, and recorded in the
audit ledger in the same transaction. A window with no decisions is refused and
nothing is stored; anything else that cannot be computed is named with the
reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import overload

import numpy as np
import pandas as pd

from xai_gov.actors import Actor
from xai_gov.auth.permissions import Permission, require
from xai_gov.canonical import sha256_json
from xai_gov.errors import InvalidInput
from xai_gov.explain.records import ExplanationRecord
from xai_gov.explain.service import ExplanationService
from xai_gov.monitoring import verdict as judge
from xai_gov.monitoring.attribution import explanation_drift, trust_drift
from xai_gov.monitoring.drift import input_drift, prediction_drift
from xai_gov.monitoring.fairness import band_edges, band_labels, group_metrics, groups_of, proxy_check
from xai_gov.monitoring.models import FairLending, MonitoringReport, NotComputed, ProtectedResult
from xai_gov.policies.models import Policy
from xai_gov.policies.protected import protected_names
from xai_gov.registry.models import ModelVersion
from xai_gov.registry.service import RegistryService
from xai_gov.store import ledger
from xai_gov.store import monitoring as repo
from xai_gov.store.db import Database
from xai_gov.timeutil import as_utc, format_utc, utcnow


class MonitoringService:
    def __init__(self, *, database: Database, registry: RegistryService, explanations: ExplanationService,
                 policy: Policy) -> None:
        self.database = database
        self.registry = registry
        self.explanations = explanations
        self.policy = policy

    def run(self, ref: str, *, actor: Actor, since: datetime | None = None, until: datetime | None = None,
            reference_since: datetime | None = None, reference_until: datetime | None = None) -> MonitoringReport:
        """Monitor ``ref`` over its decisions in ``[since, until)`` (until defaults to now); store the run."""
        require(actor, Permission.MONITOR)
        version = self.registry.get(ref)
        until = _utc(until, "until") if until is not None else utcnow()
        since = _utc(since, "since")
        reference_since, reference_until = _utc(reference_since, "reference_since"), _utc(reference_until,
                                                                                          "reference_until")
        if since is not None and since >= until:
            raise InvalidInput(f"the window is empty: since {format_utc(since)} is not before until "
                               f"{format_utc(until)}", field="since")
        if reference_until is None and since is not None:
            reference_until = since
        if reference_since is not None and reference_until is not None and reference_since >= reference_until:
            raise InvalidInput("the reference window is empty: reference_since is not before reference_until",
                               field="reference_since")
        if reference_until is not None and (since is None or reference_until > since):
            raise InvalidInput("the reference window must end where the monitored window begins, or before "
                               "(give since, and a reference_until no later than it)", field="reference_until")
        with self.database.session() as session:
            version_id = repo.version_row_id(session, version.name, version.version)
            current, dropped = _latest_per_decision(repo.window_explanations(
                session, version_id=version_id, since=since, until=until))
            reference: list[ExplanationRecord] = []
            if reference_until is not None:
                reference, _ = _latest_per_decision(repo.window_explanations(
                    session, version_id=version_id, since=reference_since, until=reference_until))
        if not current:
            raise InvalidInput(f"{version.ref} has no stored decisions between {format_utc(since) or 'its start'} "
                               f"and {format_utc(until)}: nothing can be computed, and no run was stored",
                               code="no_decisions", field="since")
        report = self._compute(version, current, reference, dropped, actor=actor, since=since, until=until,
                               reference_since=reference_since, reference_until=reference_until)
        body = report.to_dict()
        with self.database.session() as session:
            repo.add_run(session, report, version_id=version_id, inputs_sha256=sha256_json(report.inputs),
                         record_sha256=sha256_json(body))
            ledger.append(session, actor=actor.name, action="monitoring.run", subject=report.id,
                          payload=ledger.record_payload(body, model=version.ref, verdict=report.verdict.outcome))
        return report

    def get(self, run_id: str, *, actor: Actor) -> MonitoringReport:
        require(actor, Permission.MONITOR)
        with self.database.session() as session:
            return repo.get_run(session, run_id)

    def runs(self, ref: str, *, actor: Actor, limit: int = 20) -> list[MonitoringReport]:
        """The version's stored runs, newest first."""
        require(actor, Permission.MONITOR)
        if not 1 <= limit <= 500:
            raise InvalidInput("limit is 1 to 500", field="limit")
        version = self.registry.get(ref)
        with self.database.session() as session:
            return repo.list_runs(session, version_id=repo.version_row_id(session, version.name, version.version),
                                  limit=limit)

    def latest(self, version: ModelVersion) -> MonitoringReport | None:
        """The version's newest run (for its packet), without a permission check: the caller made it."""
        with self.database.session() as session:
            runs = repo.list_runs(session, version_id=repo.version_row_id(session, version.name, version.version),
                                  limit=1)
        return runs[0] if runs else None

    # -- the computation ---------------------------------------------------------

    def _compute(self, version: ModelVersion, current: list[ExplanationRecord], reference: list[ExplanationRecord],
                 dropped: int, *, actor: Actor, since: datetime | None, until: datetime,
                 reference_since: datetime | None, reference_until: datetime | None) -> MonitoringReport:
        policy = self.policy.document.monitoring
        schema = version.schema
        background = self.registry.load_background(version)
        rows = pd.DataFrame([r.instance for r in current], columns=schema.names)
        missing: list[NotComputed] = []
        drift = input_drift(schema, background, rows, policy.input_drift,
                            reference_text=f"the training background sample ({len(background)} rows)")
        space = self.explanations.explainers(version.ref).space
        probabilities = space.predict(schema.to_matrix(background))
        reference_probability = probabilities[:, space.adverse_index]
        rule = version.rule
        reference_adverse = reference_probability >= rule.cutoff
        scores = prediction_drift(reference_probability, reference_adverse,
                                  np.array([r.prediction.adverse_probability for r in current]),
                                  np.array([r.adverse for r in current]), policy.prediction_drift,
                                  decision_rule=decision_rule_text(rule.describe(), current))
        if not reference:
            why = ("no reference window: give since (the reference is then every earlier decision of the version) "
                   "or reference_since/reference_until" if reference_until is None else
                   "the reference window holds no decisions")
            missing += [NotComputed(what="explanation drift", why=why), NotComputed(what="trust drift", why=why)]
            attribution = trust = None
        else:
            attribution = explanation_drift(schema, reference, current, policy.explanation_drift)
            trust = trust_drift(reference, current, policy.trust_drift)
        fair = self._fair_lending(version, rows, current, background, missing)
        for part in (attribution, trust):
            if isinstance(part, NotComputed):
                missing.append(part)
        attribution = None if isinstance(attribution, NotComputed) else attribution
        trust = None if isinstance(trust, NotComputed) else trust
        inputs = {"background_sha256": version.background_sha256,
                  "decisions_sha256": _records_hash(current), "reference_sha256": _records_hash(reference),
                  "policy_sha256": self.policy.sha256}
        verdict = judge.verdict(self.policy, drift, scores, attribution, trust, fair)
        return MonitoringReport(
            id=uuid.uuid4().hex, model=version.name, version=version.version, run_by=actor.name, run_at=utcnow(),
            since=since, until=until, reference_since=reference_since, reference_until=reference_until,
            decisions=len(current), reference_decisions=len(reference), duplicates_dropped=dropped, inputs=inputs,
            input_drift=drift, prediction_drift=scores, explanation_drift=attribution, trust_drift=trust,
            fair_lending=fair, not_computed=tuple(missing), verdict=verdict)

    def _fair_lending(self, version: ModelVersion, rows: pd.DataFrame, current: list[ExplanationRecord],
                      background: pd.DataFrame, missing: list[NotComputed]) -> FairLending | None:
        policy = self.policy.document.monitoring.fair_lending
        protected, source = protected_features(version, self.policy)
        if not protected:
            missing.append(NotComputed(what="fair-lending metrics", why=(
                f"{version.ref} has no protected features: {source}; declare them with the version "
                "(or list them in the policy's explanation.protected_features)")))
            return None
        approved = np.array([not r.adverse for r in current])  # what happened: the bank's decision where given
        results: list[ProtectedResult] = []
        for name in protected:
            feature = version.schema.feature(name)
            edges = band_edges(feature, background[name], policy) if feature.kind == "numeric" else None
            order = list(feature.categories) if edges is None else list(band_labels(edges, feature.integer))
            groups = groups_of(feature, rows[name], edges)
            proxy = proxy_check(version.schema, feature, background.reset_index(drop=True),
                                groups_of(feature, background[name], edges), protected, policy)
            results.append(group_metrics(feature, groups, approved, order, policy, proxy))
        return FairLending(protected_source=source, min_group_size=policy.min_group_size,
                           four_fifths=policy.four_fifths, confidence=policy.confidence, results=tuple(results))


def decision_rule_text(rule: str, current: Sequence[ExplanationRecord]) -> str:
    """How the decisions were counted: the version's rule on the training background; the window's decisions as
    recorded, which is the rule's unless the bank overrode it (records from before decision rules: the more
    probable class)."""
    overridden = sum(r.overridden for r in current)
    older = sum(r.prediction.cutoff is None and r.decision is None for r in current)
    text = f"{rule} (the version's rule) on the training background; the window's decisions as recorded"
    if overridden:
        text += f", {overridden} of them the bank's decision overriding the rule"
    if older:
        text += f", {older} stored before decision rules (adverse when the adverse class was the more probable)"
    return text


def protected_features(version: ModelVersion, policy: Policy) -> tuple[list[str], str]:
    """The version's protected features, the same set its explanations withhold as reasons
    (``xai_gov.policies.protected.protected_names``), and where they came from.

    Features the version declares (``Feature.protected`` True or False) are taken at their word; an undeclared
    one is protected when it matches the policy's list case-insensitively by name or label, or looks protected."""
    names = protected_names(version.schema, policy.protected_features)
    found = [f.name for f in version.schema.features if f.name in names]
    declared = [f.name for f in version.schema.features if f.protected is not None]
    listed = sorted(policy.protected_features)
    if declared:
        source = "declared with the version" + ("" if set(found) <= set(declared) else
                                                f", and by the policy's protected list {listed} for the others")
    else:
        source = f"the policy's protected list {listed} matched by feature name or label (none declared)"
    return found, source if found else f"{source}: no feature is protected"


@overload
def _utc(moment: datetime, field: str) -> datetime: ...
@overload
def _utc(moment: datetime | None, field: str) -> datetime | None: ...
def _utc(moment: datetime | None, field: str) -> datetime | None:
    if moment is None:
        return None
    try:
        return as_utc(moment)
    except (OverflowError, ValueError):
        raise InvalidInput(f"{field}: {moment!r} cannot be expressed in UTC", field=field) from None


def _latest_per_decision(records: Sequence[ExplanationRecord]) -> tuple[list[ExplanationRecord], int]:
    """Each decision once (its latest explanation): a re-explained decision is still one decision."""
    latest: dict[str, ExplanationRecord] = {}
    for record in records:  # oldest first, so later ones win
        latest[record.decision_id] = record
    return list(latest.values()), len(records) - len(latest)


def _records_hash(records: Sequence[ExplanationRecord]) -> str:
    return sha256_json(sorted([r.id, sha256_json(r.body())] for r in records))
