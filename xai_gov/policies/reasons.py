"""Principal reasons: the features pushing most toward the adverse class, in plain words.

Statements come from ``policies/reason_codes.yaml`` (Regulation B sample-form style).
A protected feature is never stated; that it was withheld is recorded.
"""

from __future__ import annotations

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
    def __init__(self, codes: dict[str, ReasonCode], source: str) -> None:
        self.codes = codes
        self.source = source

    @classmethod
    def load(cls, path: Path) -> ReasonMap:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInput(f"reason-code map not found: {path}", field="reason_codes") from None
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path} is not valid YAML: {exc}", field="reason_codes") from exc
        features = (data or {}).get("features")
        if not isinstance(features, dict):
            raise InvalidInput(f"{path}: expected a 'features' mapping", field="reason_codes")
        codes = {}
        for name, entry in features.items():
            if not isinstance(entry, dict) or not entry.get("code") or not entry.get("statement"):
                raise InvalidInput(f"{path}: feature {name!r} needs a code and a statement", field=str(name))
            by_category = {str(k): str(v) for k, v in (entry.get("by_category") or {}).items()}
            for text in [entry["statement"], *by_category.values()]:
                if any(phrase in str(text).lower() for phrase in VAGUE):
                    raise InvalidInput(f"{path}: feature {name!r}: {text!r} is too vague to tell an applicant why",
                                       field=str(name))
            codes[str(name)] = ReasonCode(str(entry["code"]), str(entry["statement"]), by_category,
                                          bool(entry.get("protected", False)))
        return cls(codes, str(path))

    def principal_reasons(self, contributions: dict[int, float], schema: FeatureSchema, instance: dict[str, Any],
                          *, source: str, protected: frozenset[str] = frozenset(),
                          limit: int = MAX_REASONS) -> tuple[list[Reason], list[str]]:
        """Up to ``limit`` features with the largest positive push toward the adverse class.

        A feature the map or the policy (``protected``) marks protected is skipped and
        listed as withheld. Returns the reasons and the withheld features."""
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
            value = instance[feature.name]
            if code is None:  # a feature the map does not know: name it and its value, never a vague phrase
                statement, number = f"{feature.label}: {value}", "R00"
            else:
                statement, number = code.by_category.get(str(value), code.statement), code.code
            reasons.append(Reason(feature.name, feature.label, value, number, statement, contributions[j], source))
        return reasons, withheld
