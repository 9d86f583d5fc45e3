"""Principal reasons: the features pushing most toward the adverse class, in plain words.

Each model version carries its own reason-code map (DESIGN §8), registered with
it and validated against its schema: every feature has a Regulation B-style
statement, is protected (never stated), or is listed under ``never_reason``.
``policies/reason_codes.yaml`` is the shipped example for the German credit
features and the default for a schema it covers completely.

A map document::

    features:
      Income:
        code: R01
        statement: Income insufficient for amount of credit requested
        missing: No income declared             # when the applicant left it empty
        by_category: {...}                      # a statement per category, where it says more
    never_reason: [ApplicationChannel]          # may move the score, never stated
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from xai_gov.errors import InvalidInput
from xai_gov.registry.schema import FeatureSchema

MAX_REASONS = 4
#: Phrases that tell an applicant nothing; a reason map using them is refused.
VAGUE = ("internal standard", "insufficient score", "credit score", "policy", "other reasons")
REASON_CODES_FILE = "reason_codes.yaml"


@dataclass(frozen=True)
class ReasonCode:
    code: str
    statement: str
    by_category: dict[str, str]
    protected: bool
    missing: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "statement": self.statement}
        if self.by_category:
            out["by_category"] = dict(self.by_category)
        if self.missing:
            out["missing"] = self.missing
        if self.protected:
            out["protected"] = True
        return out


@dataclass(frozen=True)
class Reason:
    feature: str
    label: str
    value: Any
    code: str
    statement: str
    contribution: float
    source: str  # "shap" or "lime"

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "label": self.label, "value": self.value, "code": self.code,
                "statement": self.statement, "contribution": self.contribution, "source": self.source}


class ReasonMap:
    def __init__(self, codes: dict[str, ReasonCode], source: str, never: frozenset[str] = frozenset()) -> None:
        self.codes = codes
        self.source = source
        self.never = never

    @classmethod
    def load(cls, path: Path) -> ReasonMap:
        """A map from a YAML (or JSON) file."""
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInput(f"reason-code map not found: {path}", field="reason_codes") from None
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path} is not valid YAML: {exc}", field="reason_codes") from exc
        return cls.from_document(data, source=str(path))

    @classmethod
    def from_document(cls, data: Any, *, source: str) -> ReasonMap:
        features = data.get("features") if isinstance(data, Mapping) else None
        if not isinstance(features, Mapping):
            raise InvalidInput(f"{source}: expected a 'features' mapping", field="reason_codes")
        codes = {}
        for name, entry in features.items():
            if not isinstance(entry, Mapping) or not entry.get("code") or not entry.get("statement"):
                raise InvalidInput(f"{source}: feature {name!r} needs a code and a statement", field=str(name))
            by_category = {str(k): str(v) for k, v in (entry.get("by_category") or {}).items()}
            missing = str(entry["missing"]) if entry.get("missing") else None
            for text in [entry["statement"], *by_category.values(), *([missing] if missing else [])]:
                if any(phrase in str(text).lower() for phrase in VAGUE):
                    raise InvalidInput(f"{source}: feature {name!r}: {text!r} is too vague to tell an applicant why",
                                       field=str(name))
            codes[str(name)] = ReasonCode(str(entry["code"]), str(entry["statement"]), by_category,
                                          bool(entry.get("protected", False)), missing)
        never = data.get("never_reason") or []
        if not isinstance(never, list):
            raise InvalidInput(f"{source}: never_reason is a list of feature names", field="never_reason")
        return cls(codes, str(data.get("source") or source), frozenset(str(n) for n in never))

    def document(self) -> dict[str, Any]:
        """What a model version stores: the statements, the never-a-reason list and where they came from."""
        return {"source": self.source, "features": {n: c.to_dict() for n, c in self.codes.items()},
                "never_reason": sorted(self.never)}

    def for_schema(self, schema: FeatureSchema, protected: frozenset[str], *, default: bool) -> ReasonMap:
        """This map checked against a version's features, keeping only theirs.

        Every feature must have a statement, be protected or be listed never-a-reason;
        a given map (``default=False``) may not name features the schema lacks or
        categories a feature does not have."""
        names = set(schema.names)
        if not default:
            unknown = sorted((set(self.codes) | self.never) - names)
            if unknown:
                raise InvalidInput(f"the reason-code map names features the model does not take: "
                                   f"{', '.join(unknown)}", field=unknown[0])
        uncovered = [f.name for f in schema.features
                     if f.name not in self.codes and f.name not in self.never and f.name not in protected]
        if uncovered:
            where = "the default map " + self.source if default else self.source
            raise InvalidInput(
                f"no reason statement for {', '.join(uncovered)} in {where}: give the version a reason-code map "
                "(reason_codes= in the SDK, --reason-codes FILE, the API's reason_codes field) with a statement "
                "for each feature, or list it under never_reason", field=uncovered[0])
        for name, code in self.codes.items():
            if name in names and code.by_category:
                feature = schema.feature(name)
                odd = sorted(set(code.by_category) - set(feature.categories))
                if odd:
                    raise InvalidInput(f"reason code {code.code} ({name}) has statements for categories the feature "
                                       f"does not have: {', '.join(odd)}", field=name)
        return ReasonMap({n: c for n, c in self.codes.items() if n in names}, self.source,
                         frozenset(n for n in self.never if n in names))

    def principal_reasons(self, contributions: dict[int, float], schema: FeatureSchema, instance: dict[str, Any],
                          *, source: str, protected: frozenset[str] = frozenset(),
                          limit: int = MAX_REASONS) -> tuple[list[Reason], list[str]]:
        """Up to ``limit`` features with the largest positive push toward the adverse class.

        A protected feature (declared, the policy's default, or marked so in the map) is
        skipped and listed as withheld; a never-a-reason feature, or one without a
        statement, is skipped. Returns the reasons and the withheld features."""
        ranked = sorted((j for j, v in contributions.items() if v > 0), key=lambda j: (-contributions[j], j))
        reasons: list[Reason] = []
        withheld: list[str] = []
        for j in ranked:
            if len(reasons) == limit:
                break
            feature = schema.features[j]
            code = self.codes.get(feature.name)
            if feature.name in protected or (code is not None and code.protected):
                withheld.append(feature.name)
                continue
            if code is None or feature.name in self.never:
                continue  # never "Label: value": a feature with no statement is not stated
            value = instance[feature.name]
            if value is None:
                statement = code.missing or code.statement
            else:
                statement = code.by_category.get(str(value), code.statement)
            reasons.append(Reason(feature.name, feature.label, value, code.code, statement, contributions[j],
                                  source))
        return reasons, withheld


def version_reason_map(schema: FeatureSchema, fallback: ReasonMap) -> ReasonMap:
    """The map a version registered with; a version stored before maps were per version uses ``fallback``."""
    if schema.reason_codes is None:
        return fallback
    return ReasonMap.from_document(schema.reason_codes, source=str(schema.reason_codes.get("source") or "version"))
