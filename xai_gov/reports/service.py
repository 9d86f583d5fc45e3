"""Export packets (recorded in the ledger) and verify a packet against the stored record and the ledger."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from xai_gov.actors import Actor
from xai_gov.auth.permissions import Permission, require
from xai_gov.errors import InvalidInput, NotFound
from xai_gov.explain.reasons import ReasonMap
from xai_gov.explain.records import ExplanationRecord
from xai_gov.explain.service import MAX_PAGE, ExplanationService
from xai_gov.monitoring.service import MonitoringService
from xai_gov.registry.service import RegistryService
from xai_gov.reports.layout import read_attachment
from xai_gov.reports.signing import DocumentSigner, SignatureCheck
from xai_gov.store import ledger
from xai_gov.store.db import Database
from xai_gov.timeutil import format_utc

MAX_EXPLANATIONS_IN_MODEL_PACKET = 5000


@dataclass(frozen=True)
class PacketCheck:
    """What ``packet verify`` found. ``file_status`` says what the ledger knows of this exact file:
    ``exported`` (its SHA-256 is that of an export: ``export_seq``, ``exported_by``, ``exported_at``),
    ``changed_after_export`` (the subject was exported, never as these bytes) or ``not_exported``.
    ``ok`` needs all three: this exact file exported, its record matching the store and the ledger, and
    its signature valid (packets exported before packets were signed carry none)."""

    ok: bool
    kind: str
    subject: str
    differences: tuple[str, ...]
    message: str
    file_sha256: str = ""
    file_status: str = ""
    export_seq: int | None = None
    exported_by: str | None = None
    exported_at: str | None = None
    signature: SignatureCheck | None = None  # the PAdES signature against the store's certificate

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "kind": self.kind, "subject": self.subject, "differences": list(self.differences),
                "message": self.message, "file_sha256": self.file_sha256, "file_status": self.file_status,
                "export_seq": self.export_seq, "exported_by": self.exported_by, "exported_at": self.exported_at,
                "signature": None if self.signature is None else self.signature.to_dict()}


class PacketService:
    def __init__(self, *, database: Database, registry: RegistryService, explanations: ExplanationService,
                 reason_map: ReasonMap, applicant_rights: Path, signer: DocumentSigner,
                 notice_settings: Path | None = None,
                 monitoring: MonitoringService | None = None) -> None:
        self.database = database
        self.signer = signer
        self.registry = registry
        self.explanations = explanations
        self.reason_map = reason_map
        self.applicant_rights = applicant_rights
        self.notice_settings = notice_settings or applicant_rights.with_name("adverse_action_notice.yaml")
        self.monitoring = monitoring

    def decision(self, explanation_id: str, *, actor: Actor) -> bytes:
        """The decision packet of one stored explanation (an officer: only their own)."""
        from xai_gov.reports.decision import decision_packet

        require(actor, Permission.EXPORT_DECISION_PACKETS)
        record = self.explanations.get(explanation_id, viewer=actor)
        version = self.registry.get(record.model_ref)
        event = self._event("explanation.created", record.id)
        pdf = decision_packet(record, version, ledger_seq=event.seq if event else None,
                              ledger_hash=event.hash if event else None, applicant_rights=self._rights())
        return self._record_export(actor, "decision", record.id, pdf)

    def notice(self, explanation_id: str, *, actor: Actor) -> bytes:
        """The adverse action notice of one stored adverse decision (an officer: only their own)."""
        from xai_gov.reports.notice import NoticeSettings, adverse_action_notice

        require(actor, Permission.EXPORT_DECISION_PACKETS)
        record = self.explanations.get(explanation_id, viewer=actor)
        event = self._event("explanation.created", record.id)
        pdf = adverse_action_notice(record, NoticeSettings.load(self.notice_settings),
                                    ledger_seq=event.seq if event else None, ledger_hash=event.hash if event else None)
        return self._record_export(actor, "notice", record.id, pdf)

    def model(self, ref: str, *, actor: Actor) -> bytes:
        """The model-version packet, with quality over every explanation of the version so far."""
        from xai_gov.reports.model import model_packet

        require(actor, Permission.EXPORT_MODEL_PACKETS)
        version = self.registry.get(ref)
        explanations: list[ExplanationRecord] = []
        while len(explanations) < MAX_EXPLANATIONS_IN_MODEL_PACKET:
            page = self.explanations.find(model=version.name, version=version.version, limit=MAX_PAGE,
                                          offset=len(explanations))
            explanations += page
            if len(page) < MAX_PAGE:
                break
        event = self._event("model.registered", version.ref)
        pdf = model_packet(version, background=self.registry.load_background(version), explanations=explanations,
                           history=self.registry.alias_history(version.name),
                           versions=self.registry.list_versions(version.name), reason_map=self.reason_map,
                           ledger_seq=event.seq if event else None, ledger_hash=event.hash if event else None,
                           monitoring=self.monitoring.latest(version) if self.monitoring else None)
        return self._record_export(actor, "model", version.ref, pdf)

    def verify(self, pdf: bytes) -> PacketCheck:
        """Check a packet: the file's own SHA-256 against the ledger's export events, and the record
        embedded in it against the stored record and the ledger's hashes."""
        file_sha = hashlib.sha256(pdf).hexdigest()
        attachment = read_attachment(pdf)
        kind, embedded = attachment.get("kind"), attachment.get("record") or {}
        if kind not in ("decision", "model"):
            raise InvalidInput(f"unknown packet kind {kind!r}", field="pdf")
        subject = str(embedded.get("id") if kind == "decision" else embedded.get("ref"))
        exports = self._exports(kind, subject)
        exact = next((e for e in exports if e.payload.get("pdf_sha256") == file_sha), None)
        record = self._check_record(kind, subject, embedded, attachment)
        signature = self.signer.check(pdf)
        if exact is not None:
            provenance: dict[str, Any] = dict(file_status="exported", export_seq=exact.seq, exported_by=exact.actor,
                                              exported_at=format_utc(exact.at))
            said = (f"this exact file was exported by {exact.actor} at {format_utc(exact.at)} "
                    f"(ledger event {exact.seq})")
        elif exports:
            provenance = dict(file_status="changed_after_export")
            said = (f"the file was changed after export: its SHA-256 matches none of the {len(exports)} export(s) of "
                    f"{kind} {subject} in the ledger" + (" (its embedded record still matches)" if record.ok else ""))
        else:
            provenance = dict(file_status="not_exported")
            said = f"not exported from this store: the ledger records no export of {kind} {subject}"
        differences = (*record.differences, *(() if exact is not None else ("file",)),
                       *(("signature",) if signature.status == "invalid" else ()))
        signed = "" if signature.status == "unsigned" else f"; signature: {signature.message}"
        return replace(record, ok=not differences, differences=differences,
                       message=f"{said}; {record.message}{signed}", file_sha256=file_sha, signature=signature,
                       **provenance)

    def _check_record(self, kind: str, subject: str, embedded: dict[str, Any],
                      attachment: dict[str, Any]) -> PacketCheck:
        """The embedded record against the stored one and the ledger's field hashes."""
        try:
            if kind == "decision":
                stored = self.explanations.get(subject).to_dict()
                embedded_fields = {k: v for k, v in embedded.items() if k != "record_sha256"}
                action = "explanation.created"
            else:
                stored = self.registry.get(subject).record()
                embedded_fields = embedded
                action = "model.registered"
        except NotFound:
            return PacketCheck(False, kind, subject, ("record",), f"this store holds no {kind} record {subject}")
        derived = {"record_sha256"}  # recomputed from the other fields: a difference there is no news
        differences = tuple(sorted(k for k in (set(stored) | set(embedded)) - derived
                                   if stored.get(k) != embedded.get(k)))
        if differences:
            return PacketCheck(False, kind, subject, differences,
                               f"the stored {kind} record {subject} differs from the packet in: "
                               f"{', '.join(differences)}")
        event = self._event(action, subject)
        recorded = attachment.get("ledger") or {}
        if event is None or event.seq != recorded.get("seq") or event.hash != recorded.get("hash"):
            return PacketCheck(False, kind, subject, ("ledger",),
                               f"the packet's ledger position does not match the ledger's event for {subject}")
        changed = tuple(sorted(k for k, v in ledger.field_hashes(embedded_fields).items()
                               if event.payload.get("fields", {}).get(k) != v))
        if changed:
            return PacketCheck(False, kind, subject, changed,
                               f"the packet's record differs from what ledger event {event.seq} recorded in: "
                               f"{', '.join(changed)}")
        return PacketCheck(True, kind, subject, (), f"the packet matches the stored {kind} record {subject} and "
                                                    f"ledger event {event.seq}")

    def _exports(self, kind: str, subject: str) -> list[ledger.AuditEvent]:
        with self.database.session() as session:
            return ledger.find_events(session, action="packet.exported", subject=f"{kind} {subject}")

    def _event(self, action: str, subject: str) -> ledger.AuditEvent | None:
        with self.database.session() as session:
            return ledger.find_event(session, action=action, subject=subject)

    def _record_export(self, actor: Actor, kind: str, subject: str, pdf: bytes) -> bytes:
        """Sign the document, then record the signed file's SHA-256 in the ledger; the signed file is returned."""
        signed = self.signer.sign(pdf)
        with self.database.session() as session:
            ledger.append(session, actor=actor.name, action="packet.exported", subject=f"{kind} {subject}",
                          payload={"kind": kind, "subject": subject,
                                   "pdf_sha256": hashlib.sha256(signed).hexdigest(), "signed": True})
        return signed

    def _rights(self) -> str:
        try:
            return self.applicant_rights.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise NotFound(f"the applicant-rights text is missing: {self.applicant_rights}",
                           field="applicant_rights") from None
