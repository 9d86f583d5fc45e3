"""The officer's applicant form: built from the version's feature schema, read back into an instance.

Turning the text a browser sends into numbers and categories is the page's job;
whether the values are acceptable is the schema's (``FeatureSchema.instance_problems``),
so the page and the API refuse the same things with the same words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xai_gov.registry.schema import Feature, FeatureSchema

PREFIX = "f."  # form names of features, apart from decision_id and csrf_token


@dataclass(frozen=True)
class FormField:
    """One input of the form, as the template draws it."""

    id: str
    name: str
    feature: str
    label: str
    kind: str
    categories: tuple[str, ...]
    minimum: float | None
    maximum: float | None
    integer: bool
    unit: str | None
    nullable: bool
    protected: bool
    value: str
    error: str | None
    observed: tuple[float | None, float | None] = (None, None)  # the range seen in training

    @property
    def hint(self) -> str:
        """What the field takes, in words (units and bounds)."""
        parts = []
        if self.kind == "numeric":
            parts.append("a whole number" if self.integer else "a number")
            if self.minimum is not None and self.maximum is not None:
                parts.append(f"from {_number(self.minimum)} to {_number(self.maximum)}")
            elif self.minimum is not None:
                parts.append(f"at least {_number(self.minimum)}")
            elif self.maximum is not None:
                parts.append(f"at most {_number(self.maximum)}")
            low, high = self.observed
            if low is not None and high is not None:  # outside it is explained, with a caution; only limits refuse
                parts.append(f"trained on {_number(low)} to {_number(high)}")
            if self.unit:
                parts.append(f"in {self.unit}")
        else:
            parts.append(f"one of {len(self.categories)} categories")
        if self.nullable:
            parts.append("may be left empty")
        return ", ".join(parts)

    @property
    def step(self) -> str:
        return "1" if self.integer else "any"


def form_fields(schema: FeatureSchema, values: Mapping[str, str] | None = None,
                errors: Mapping[str, str] | None = None, protected: frozenset[str] = frozenset()) -> list[FormField]:
    values, errors = values or {}, errors or {}
    return [_field(i, f, values.get(f.name, ""), errors.get(f.name), f.name in protected)
            for i, f in enumerate(schema.features)]


def _field(index: int, feature: Feature, value: str, error: str | None, protected: bool) -> FormField:
    return FormField(id=f"feature-{index}", name=PREFIX + feature.name, feature=feature.name, label=feature.label,
                     kind=feature.kind, categories=feature.categories, minimum=feature.minimum,
                     maximum=feature.maximum, integer=feature.integer, unit=getattr(feature, "unit", None),
                     nullable=bool(getattr(feature, "nullable", False)), protected=protected, value=value,
                     error=error, observed=(getattr(feature, "observed_min", None),
                                            getattr(feature, "observed_max", None)))


def read_form(schema: FeatureSchema, form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The instance the form describes, the text as typed (to show it again), and every problem by feature."""
    typed = {f.name: str(form.get(PREFIX + f.name, "")).strip() for f in schema.features}
    instance: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for feature in schema.features:
        text = typed[feature.name]
        if text == "":
            if getattr(feature, "nullable", False):
                instance[feature.name] = None
            else:
                errors[feature.name] = f"{feature.label}: enter a value" if feature.kind == "numeric" else \
                    f"{feature.label}: choose one"
            continue
        if feature.kind == "categorical":
            instance[feature.name] = text
            continue
        number = _parse_number(text)
        if number is None:
            errors[feature.name] = f"{feature.label}: {text!r} is not a number"
        else:
            instance[feature.name] = number
    for problem in schema.instance_problems(instance):
        if problem.field in instance and problem.field not in errors:
            feature = schema.feature(problem.field)
            # The core's message names the feature as the API does; the form names it by its label.
            errors[problem.field] = problem.message.replace(f"feature {feature.name!r} ({feature.label})",
                                                            feature.label)
    return instance, typed, errors


def _parse_number(text: str) -> int | float | None:
    cleaned = text.replace(" ", "")  # a comma is refused: decimal or thousands separator, it is ambiguous
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
