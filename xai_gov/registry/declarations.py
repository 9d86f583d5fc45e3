"""What a model owner declares with a version, checked and written onto its schema (DESIGN §8).

- protected features: never stated as reasons. The policy's list is the default,
  matched case-insensitively on names and labels; a feature that looks like a
  protected attribute and is declared neither way is refused unless the owner
  gives ``protected_override`` (why), which is stored with the version and its
  ledger event, and such a feature stays withheld;
- nullable features: may hold a missing value;
- for counterfactual recourse: immutable features (never changed, e.g. credit history)
  and monotone ones (``{"employment_years": "increasing"}``: changed only that way);
  a protected feature is never changed, and declaring one actionable is refused;
- the reason-code map: a statement for every feature that may be a reason;
- class labels: display names for classes such as 0 / 1.

The SDK (``register(..., protected=, not_protected=, nullable=, immutable=, monotone=,
reason_codes=, protected_override=, class_labels=)``), the CLI (``--protected`` etc.) and the API
(form fields of the same names) all build one ``Declarations``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from xai_gov.errors import InvalidInput
from xai_gov.explain.reasons import ReasonMap
from xai_gov.policies.protected import looks_protected, matches_policy, protected_names
from xai_gov.registry.schema import FeatureSchema


@dataclass(frozen=True)
class Declarations:
    protected: tuple[str, ...] = ()
    not_protected: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()
    reason_codes: ReasonMap | None = None
    protected_override: str | None = None
    class_labels: Mapping[str, str] | None = None
    immutable: tuple[str, ...] = ()
    monotone: Mapping[str, str] | None = None

    @classmethod
    def build(cls, *, protected: Iterable[str] | None = None, not_protected: Iterable[str] | None = None,
              nullable: Iterable[str] | None = None, reason_codes: ReasonMap | Mapping[str, Any] | str | Path | None
              = None, protected_override: str | None = None,
              class_labels: Mapping[Any, Any] | None = None, immutable: Iterable[str] | None = None,
              monotone: Mapping[str, str] | str | None = None) -> Declarations:
        """From what a caller gives: names as lists (or comma-separated text), a map as a document or a file."""
        if isinstance(reason_codes, (str, Path)):
            reason_codes = ReasonMap.load(Path(reason_codes))
        elif isinstance(reason_codes, Mapping):
            reason_codes = ReasonMap.from_document(reason_codes, source="reason_codes argument")
        return cls(protected=_names(protected), not_protected=_names(not_protected), nullable=_names(nullable),
                   reason_codes=reason_codes, protected_override=(protected_override or "").strip() or None,
                   class_labels={str(k): str(v) for k, v in class_labels.items()} if class_labels else None,
                   immutable=_names(immutable), monotone=_directions(monotone))


#: What a caller may write for a monotone direction.
_DIRECTIONS = {"increasing": "increasing", "up": "increasing", "decreasing": "decreasing", "down": "decreasing"}


def _directions(value: Mapping[str, str] | str | None) -> dict[str, str] | None:
    """``{"feature": "increasing"}`` or the text ``"feature=up,other=down"``, directions checked."""
    if not value:
        return None
    if isinstance(value, str):
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise InvalidInput(f"monotone is written feature=increasing,other=decreasing, not {value!r}",
                               field="monotone")
        value = {name.strip(): direction.strip() for name, direction in pairs}
    out = {}
    for name, direction in value.items():
        if str(direction).lower() not in _DIRECTIONS:
            raise InvalidInput(f"monotone {name!r}: the direction is increasing (up) or decreasing (down), not "
                               f"{direction!r}", field="monotone")
        out[str(name)] = _DIRECTIONS[str(direction).lower()]
    return out


def _names(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))


def apply(schema: FeatureSchema, declared: Declarations, *, policy_protected: Iterable[str],
          default_reasons: ReasonMap) -> FeatureSchema:
    """The schema with every declaration written on it, or InvalidInput naming what is wrong."""
    for what, names in (("protected", declared.protected), ("not_protected", declared.not_protected),
                        ("nullable", declared.nullable), ("immutable", declared.immutable),
                        ("monotone", tuple(declared.monotone or ()))):
        unknown = [n for n in names if n not in schema.names]
        if unknown:
            raise InvalidInput(f"{what} names a feature the model does not take: {unknown[0]!r} "
                               f"(features: {', '.join(schema.names)})", field=what)
    both = sorted(set(declared.protected) & set(declared.not_protected))
    if both:
        raise InvalidInput(f"{both[0]!r} is declared both protected and not protected", field="protected")
    policy_protected = list(policy_protected)
    features = []
    for feature in schema.features:
        protected = feature.protected
        if feature.name in declared.protected:
            protected = True
        elif feature.name in declared.not_protected:
            protected = False
        elif protected is None and matches_policy(feature, policy_protected):
            protected = True
        features.append(replace(feature, protected=protected,
                                nullable=feature.nullable or feature.name in declared.nullable,
                                actionable=False if feature.name in declared.immutable else feature.actionable,
                                monotone=(declared.monotone or {}).get(feature.name, feature.monotone)))
    schema = replace(schema, features=tuple(features))
    undeclared = [f for f in schema.features if f.protected is None and looks_protected(f)]
    if undeclared and not declared.protected_override:
        listed = ", ".join(f"{f.name} ({f.label})" for f in undeclared)
        raise InvalidInput(
            f"{listed} look{'s' if len(undeclared) == 1 else ''} like a protected attribute (age, sex, marital "
            "status, national origin, race, religion, ...): declare each protected or not (protected=[...] / "
            "not_protected=[...]; --protected / --not-protected; the API's protected / not_protected fields), or "
            "register with protected_override giving why (it is recorded, and the feature is withheld as "
            "protected)", field=undeclared[0].name)
    if declared.class_labels:
        unknown = sorted(set(declared.class_labels) - set(schema.class_names))
        if unknown:
            raise InvalidInput(f"class_labels names a class the model does not have: {unknown[0]!r} "
                               f"(classes: {', '.join(schema.class_names)})", field="class_labels")
    withheld = protected_names(schema, policy_protected)
    given = declared.reason_codes is not None
    reasons = (declared.reason_codes or default_reasons).for_schema(schema, withheld, default=not given)
    return replace(schema, reason_codes=reasons.document(),
                   protected_override=declared.protected_override if undeclared else schema.protected_override,
                   class_labels=declared.class_labels or schema.class_labels)
