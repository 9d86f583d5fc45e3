"""The stored explanation record and its canonical hash."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from xai_gov.canonical import sha256_json
from xai_gov.quality.glance import QualityRow, quality_at_a_glance
from xai_gov.timeutil import format_utc, parse_utc

#: Fields a replay does not compare: they describe the run (or the record's form), not its result.
RUN_FIELDS = frozenset({"id", "requested_by", "requested_at", "timings", "record_sha256", "replay_of",
                        "re_explains", "schema_version"})

#: The JSON form new records are written in. A record is hashed, and verified, in the form it was written
#: in (``ExplanationRecord.body``), so records stored before a change of form keep verifying after it:
#: 1  records stored before forms were versioned: no ``schema_version`` key; ``lime``, ``anchor`` and
#:    ``shap`` always present (null where not run); ``decision``, ``re_explains``, ``cautions`` and
#:    ``counterfactuals`` left out while empty (they were added to the record one by one).
#: 2  ``"schema_version": 2``; a section for each method that ran and for no other, so a new method adds
#:    a key without changing the form of any record written before it; every other field present, null
#:    where empty.
SCHEMA_VERSION = 2
#: Version 1's method sections and its fields left out while None, in that form's words.
_V1_SECTIONS = ("lime", "anchor", "shap")
_V1_LATER_FIELDS = ("decision", "re_explains", "cautions", "counterfactuals")


@dataclass(frozen=True)
class Prediction:
    probabilities: dict[str, float]
    predicted_class: str
    adverse_class: str
    adverse_probability: float
    # The version's cutoff on the adverse probability; None in records made before decision rules,
    # which decided by the more probable class.
    cutoff: float | None = None

    @property
    def adverse(self) -> bool:
        """The decision rule's outcome (``ExplanationRecord.adverse`` is what was decided, overrides included)."""
        if self.cutoff is None:
            return self.predicted_class == self.adverse_class
        return self.adverse_probability >= self.cutoff

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.cutoff is None:
            del out["cutoff"]
        return {**out, "decision": "adverse" if self.adverse else "favourable"}


@dataclass(frozen=True)
class ExplanationRecord:
    id: str
    model: str
    version: int
    decision_id: str
    requested_by: str
    requested_at: datetime
    instance: dict[str, Any]  # as entered
    instance_sha256: str  # canonical hash of the validated instance
    prediction: Prediction
    methods: tuple[str, ...]  # the methods that ran
    #: Each method's result under its record section (``Method.section``: see ``xai_gov.explain.methods``).
    #: A method that did not run has no section.
    sections: dict[str, dict[str, Any]]
    scores: dict[str, Any]
    reasons: list[dict[str, Any]]
    withheld_reasons: list[str]
    seed: int
    parameters: dict[str, Any]
    library_versions: dict[str, str]
    background_sha256: str
    reason_map: str
    verdict: dict[str, Any] | None = None  # the policy's verdict, rule by rule, with the policy file's hash
    timings: dict[str, float] = field(default_factory=dict)
    replay_of: str | None = None
    # The decision: the version's rule, the bank's decision if given, which stands, and what the
    # reasons are ("principal reasons" for an adverse decision).
    decision: dict[str, Any] | None = None
    re_explains: str | None = None  # the earlier explanation of the same decision id this one re-explains
    cautions: list[dict[str, Any]] | None = None  # e.g. a value outside the range the model was trained on
    schema_version: int = SCHEMA_VERSION  # the JSON form it is written (and hashed) in: see SCHEMA_VERSION

    @property
    def model_ref(self) -> str:
        return f"{self.model}@{self.version}"

    def section(self, key: str) -> dict[str, Any] | None:
        """A method's result ("lime", "counterfactuals", ...), or None where it did not run."""
        return self.sections.get(key)

    def quality_at_a_glance(self) -> tuple[QualityRow, ...]:
        """Fidelity, stability, sparsity and coverage, one row each, with the policy's verdict on each."""
        from xai_gov.explain.methods import glance_figures

        return quality_at_a_glance(glance_figures(self.scores), self.verdict)

    @property
    def adverse(self) -> bool:
        """Whether the decision was adverse: the bank's decision where it overrode the rule."""
        if self.decision is not None:
            return self.decision["outcome"] == "adverse"
        return self.prediction.adverse

    @property
    def overridden(self) -> bool:
        return bool(self.decision and self.decision.get("overridden"))

    def body(self) -> dict[str, Any]:
        """Everything but the hash, in JSON form: the form of the record's ``schema_version``."""
        if self.schema_version not in _WRITERS:
            raise ValueError(f"unknown explanation record form {self.schema_version}; known: {sorted(_WRITERS)}")
        return _WRITERS[self.schema_version](self)

    def to_dict(self) -> dict[str, Any]:
        body = self.body()
        return {**body, "record_sha256": sha256_json(body)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExplanationRecord:
        """A record from its stored form, whichever version that is."""
        values = {k: v for k, v in data.items() if k != "record_sha256"}
        form = values.pop("schema_version", 1)
        prediction = dict(values["prediction"])
        prediction.pop("decision", None)
        values["prediction"] = Prediction(**prediction)
        values["methods"] = tuple(values["methods"])
        values["requested_at"] = parse_utc(values["requested_at"], field="requested_at")
        known = {f.name for f in fields(cls)}
        # Every key that is not a field of the record is a method's section (in both forms so far).
        # (form 1 holds null sections for methods that did not run: no section)
        extra = {k: values.pop(k) for k in list(values) if k not in known}
        values["sections"] = {k: v for k, v in extra.items() if v is not None}
        return cls(**values, schema_version=form)

    def result_fields(self) -> dict[str, Any]:
        """What a replay must reproduce, whatever form the record is in: every field and section with a
        value, but those that describe the run or the form, and with the policy and reason-code files named
        without their folders (``_file_names_only``)."""
        return _file_names_only({k: v for k, v in _plain(self).items() if k not in RUN_FIELDS and v is not None})


def _file_names_only(result: dict[str, Any]) -> dict[str, Any]:
    """The record keeps where its policy and reason-code files lay (``verdict.policy.path``, ``reason_map``); a
    service moved to another folder or machine loads the same files from elsewhere, and its replays must still
    match. What the files said is compared all the same: the policy's name, version and hash, and the reasons."""
    verdict = result.get("verdict")
    if isinstance(verdict, dict) and isinstance(verdict.get("policy"), dict) and verdict["policy"].get("path"):
        result["verdict"] = {**verdict, "policy": {**verdict["policy"],
                                                   "path": _file_name(str(verdict["policy"]["path"]))}}
    if isinstance(result.get("reason_map"), str) and _A_FILE.search(result["reason_map"]):
        result["reason_map"] = _file_name(result["reason_map"])  # not a source named in words: "Retail 2024/06"
    return result


_A_FILE = re.compile(r"[\\/][^\\/]+\.(ya?ml|json)$", re.IGNORECASE)


def _file_name(path: str) -> str:
    return re.split(r"[\\/]", path)[-1]  # a folder written on Windows or POSIX


def _plain(record: ExplanationRecord) -> dict[str, Any]:
    """Every field in JSON form, sections as top-level keys (the shape both forms share).

    Nested values are the record's own, not copies (``asdict`` deep-copied every record, a few ms each):
    read them, do not change them."""
    out = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "sections"}
    out["requested_at"] = format_utc(record.requested_at)
    out["prediction"] = record.prediction.to_dict()
    out["methods"] = list(record.methods)
    return {**out, **record.sections}


def _form_1(record: ExplanationRecord) -> dict[str, Any]:
    out = _plain(record)
    del out["schema_version"]
    for key in _V1_SECTIONS:
        out.setdefault(key, None)
    for name in _V1_LATER_FIELDS:
        if out.get(name, None) is None:
            out.pop(name, None)
    return out


def _form_2(record: ExplanationRecord) -> dict[str, Any]:
    return _plain(record)


_WRITERS = {1: _form_1, 2: _form_2}
