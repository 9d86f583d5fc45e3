"""The adverse action notice: what the applicant receives (Regulation B, sample form C-1 style).

One to two pages: the decision, up to four principal reasons in plain words (the
reason-code map's statements), the ECOA notice, and where to ask. No scores,
charts, probabilities or model internals, and no protected feature: only the
stated principal reasons are printed, and those never name one. The footer
carries the explanation record's SHA-256 and its ledger position, as the
decision packet's does; unlike the packet, the record is not attached (it holds
the applicant's protected attributes and the model's internals).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from xai_gov.errors import InvalidInput
from xai_gov.explain.records import ExplanationRecord
from xai_gov.reports.layout import WIDTH, Integrity, heading, key_values, para, render, spacer, table
from xai_gov.timeutil import format_utc

MAX_NOTICE_REASONS = 4
#: Regulation B, 12 CFR 1002.9(b)(1): the ECOA notice, with the agency filled in.
ECOA_NOTICE = (
    "The Federal Equal Credit Opportunity Act prohibits creditors from discriminating against credit applicants "
    "on the basis of race, color, religion, national origin, sex, marital status, age (provided the applicant has "
    "the capacity to enter into a binding contract); because all or part of the applicant's income derives from "
    "any public assistance program; or because the applicant has in good faith exercised any right under the "
    "Consumer Credit Protection Act. The Federal agency that administers compliance with this law concerning this "
    "creditor is: {agency}.")


class _Party(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)


class _Creditor(_Party):
    telephone: str = Field(min_length=1)
    contact: str = Field(min_length=1)


class NoticeSettings(BaseModel):
    """Who the creditor is, where to ask, and the supervising agency (``policies/adverse_action_notice.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    creditor: _Creditor
    agency: _Party

    @classmethod
    def load(cls, path: Path) -> NoticeSettings:
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise InvalidInput(f"the adverse action notice settings are missing: {path}", field="notice") from None
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path} is not valid YAML: {exc}", field="notice") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(f"{path}: {where}: {first['msg']}", field="notice") from exc


def adverse_action_notice(record: ExplanationRecord, settings: NoticeSettings, *, ledger_seq: int | None,
                          ledger_hash: str | None) -> bytes:
    """The notice for an adverse decision (a favourable one has none: InvalidInput)."""
    if not record.adverse:
        raise InvalidInput(f"explanation {record.id} records a favourable decision: there is no adverse action "
                           "to give notice of", code="not_adverse", field="id")
    stored = record.to_dict()
    creditor, agency = settings.creditor, settings.agency
    story: list[Flowable] = [
        para(creditor.name, "subtitle"),
        para("Statement of Credit Denial", "title"),
        key_values([
            ("Date", format_utc(record.requested_at)[:10]),
            ("Reference", record.decision_id),
            ("Action taken", "Your application for credit has been declined."),
        ], key_width=35 * mm),
        heading("Principal reason(s) for our decision"),
        *_reasons(record),
        spacer(2),
        para("If you believe any information we used is wrong or incomplete, tell us: we will review the decision "
             "with the corrected information. You may also ask that a person review this decision."),
        heading("Questions"),
        para(f"If you have any questions regarding this notice, contact: {creditor.name}, {creditor.contact}, "
             f"{creditor.address}, telephone {creditor.telephone}. Please quote the reference above."),
        heading("Notice"),
        para(ECOA_NOTICE.format(agency=f"{agency.name}, {agency.address}")),
    ]
    integrity = Integrity("Explanation record", stored["record_sha256"], ledger_seq, ledger_hash)
    return render(story, title=f"Statement of credit denial {record.decision_id}", integrity=integrity, record=None)


def _reasons(record: ExplanationRecord) -> list[Flowable]:
    statements = [r["statement"] for r in record.reasons[:MAX_NOTICE_REASONS]]
    if not statements:  # the policy verdict fails such a record; the applicant is still told where to ask
        return [para("We could not state a specific reason automatically; a credit officer will send you the "
                     "specific reasons. Please contact us at the address below.")]
    rows = [(f"{i}.", statement) for i, statement in enumerate(statements, start=1)]
    return [table(rows, [10 * mm, WIDTH - 10 * mm], header=False, zebra=False)]
