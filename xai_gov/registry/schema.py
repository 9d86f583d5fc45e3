"""Feature schema: what a model takes, in the words people use for it (DESIGN §3).

A schema is inferred from the training data, then edited by the model owner
(human labels, the adverse class, bounds). It does two jobs:

- it validates one applicant as entered, naming the feature that is wrong;
- it translates between the model's native rows (a DataFrame whose categorical
  columns hold strings) and the numeric matrix explainers sample in, where a
  categorical value is the index of its category.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from xai_gov.errors import InvalidInput, SchemaMismatch
from xai_gov.registry import missing
from xai_gov.validation import check_number

Kind = Literal["numeric", "categorical"]
#: A monotone feature may only move one way in counterfactual recourse (e.g. years employed only up).
MONOTONE = ("increasing", "decreasing")
OUTSIDE_TRAINING = "outside the range the model was trained on"


@dataclass(frozen=True)
class Feature:
    """One input of the model.

    ``minimum``/``maximum`` are hard limits the model owner sets: a value outside them is refused.
    ``observed_min``/``observed_max`` are the range seen in the training data (inferred): a value
    outside it is explained, with a caution that it lies outside the range the model was trained on.
    """

    name: str
    kind: Kind
    label: str
    categories: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    #: may hold a missing value (null): background and applicants may leave it empty
    nullable: bool = False
    #: a protected attribute, never stated as a reason; None: not declared (the policy's default applies)
    protected: bool | None = None
    observed_min: float | None = None
    observed_max: float | None = None
    # A typical favourable value the owner states (a category, or a number): where a stated reason's
    # accuracy is measured from (xai_gov.explain.accuracy). None: derived from the background.
    reference: str | float | None = None
    #: may counterfactual recourse change it? None: not declared (actionable unless protected);
    #: False: immutable (e.g. credit history already written). A protected feature is never actionable.
    actionable: bool | None = None
    #: "increasing" / "decreasing": recourse moves it only that way (a number); None: either way
    monotone: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("numeric", "categorical"):
            raise InvalidInput(f"feature {self.name!r}: kind must be numeric or categorical, not {self.kind!r}",
                               field=self.name)
        if self.kind == "categorical" and not self.categories:
            raise InvalidInput(f"feature {self.name!r}: a categorical feature needs its categories", field=self.name)
        if len(set(self.categories)) != len(self.categories):
            raise InvalidInput(f"feature {self.name!r}: categories repeat", field=self.name)
        if self.nullable and self.kind == "numeric" and self.range_low is None:
            raise InvalidInput(f"feature {self.name!r}: a nullable number needs a lower bound or an observed range "
                               "(its missing-value code lies below it)", field=self.name)
        if self.reference is not None:
            if self.kind == "categorical" and self.reference not in self.categories:
                raise InvalidInput(f"feature {self.name!r}: reference {self.reference!r} is not one of its categories",
                                   field=self.name)
            if self.kind == "numeric" and (isinstance(self.reference, (bool, str))
                                           or not math.isfinite(float(self.reference))):
                raise InvalidInput(f"feature {self.name!r}: reference {self.reference!r} is not a finite number",
                                   field=self.name)
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise InvalidInput(f"feature {self.name!r}: minimum {self.minimum} is above maximum {self.maximum}",
                               field=self.name)
        if self.protected and self.actionable:
            raise InvalidInput(f"feature {self.name!r} is declared protected and actionable: recourse never asks "
                               "an applicant to change a protected attribute", field=self.name)
        if self.monotone is not None:
            if self.monotone not in MONOTONE:
                raise InvalidInput(f"feature {self.name!r}: monotone is {' or '.join(MONOTONE)}, not "
                                   f"{self.monotone!r}", field=self.name)
            if self.kind != "numeric":
                raise InvalidInput(f"feature {self.name!r}: only a number can be monotone (its categories have no "
                                   "order); declare it immutable instead if it cannot change", field=self.name)

    @property
    def changeable(self) -> bool:
        """Whether counterfactual recourse may change it: not protected, not declared immutable."""
        return not self.protected and self.actionable is not False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "label": self.label}
        if self.kind == "categorical":
            out["categories"] = list(self.categories)
        else:
            out.update(minimum=self.minimum, maximum=self.maximum, integer=self.integer)
            if self.observed_min is not None or self.observed_max is not None:
                out.update(observed_min=self.observed_min, observed_max=self.observed_max)
        # Written only when declared, so schemas stored before these fields existed hash as they did.
        if self.reference is not None:
            out["reference"] = self.reference
        if self.nullable:
            out["nullable"] = True
        if self.protected is not None:
            out["protected"] = self.protected
        if self.actionable is not None:
            out["actionable"] = self.actionable
        if self.monotone is not None:
            out["monotone"] = self.monotone
        return out

    @property
    def missing_code(self) -> float:
        """The matrix value that stands for a missing value (see ``xai_gov.registry.missing``)."""
        return missing.code(self)

    @property
    def range_low(self) -> float | None:
        """The owner's lower limit, else the lowest value seen in training (None: neither is known)."""
        return self.minimum if self.minimum is not None else self.observed_min

    @property
    def range_high(self) -> float | None:
        """The owner's upper limit, else the highest value seen in training (None: neither is known)."""
        return self.maximum if self.maximum is not None else self.observed_max

    def outside_training(self, value: Any) -> bool:
        """A number outside the range seen in training (never true for a category or an unknown range)."""
        if self.kind != "numeric":
            return False
        return bool((self.observed_min is not None and value < self.observed_min)
                    or (self.observed_max is not None and value > self.observed_max))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Feature:
        try:
            return cls(
                name=str(data["name"]),
                kind=data["kind"],
                label=str(data.get("label") or data["name"]),
                categories=tuple(str(c) for c in data.get("categories") or ()),
                minimum=_optional_float(data.get("minimum")),
                maximum=_optional_float(data.get("maximum")),
                integer=bool(data.get("integer", False)),
                nullable=bool(data.get("nullable", False)),
                protected=None if data.get("protected") is None else bool(data["protected"]),
                observed_min=_optional_float(data.get("observed_min")),
                observed_max=_optional_float(data.get("observed_max")),
                reference=data.get("reference"),
                actionable=None if data.get("actionable") is None else bool(data["actionable"]),
                monotone=data.get("monotone"),
            )
        except KeyError as missing:
            raise InvalidInput(f"schema feature {dict(data).get('name', '?')!r} lacks {missing.args[0]!r}",
                               field=str(missing.args[0])) from None


@dataclass(frozen=True)
class FeatureSchema:
    """The features in the model's column order, the classes and the adverse class."""

    features: tuple[Feature, ...]
    class_names: tuple[str, ...] = ()
    adverse_class: str | None = None
    target: str | None = None
    #: per-version declarations (DESIGN §8), written at registration: the reason-code map
    #: (``xai_gov.explain.reasons``), why undeclared protected-looking features were let through,
    #: and display names for the classes (e.g. {"0": "repaid", "1": "defaulted"}).
    reason_codes: Mapping[str, Any] | None = None
    protected_override: str | None = None
    class_labels: Mapping[str, str] | None = None
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise InvalidInput(f"schema names features twice: {', '.join(duplicated)}", field=duplicated[0])
        if self.adverse_class is not None and self.class_names and self.adverse_class not in self.class_names:
            raise InvalidInput(
                f"adverse class {self.adverse_class!r} is not one of the classes {list(self.class_names)}",
                field="adverse_class",
            )
        object.__setattr__(self, "_index", {name: i for i, name in enumerate(names)})

    # -- construction -------------------------------------------------------

    @classmethod
    def infer(
        cls,
        X: pd.DataFrame,
        y: Iterable[Any] | None = None,
        *,
        adverse_class: str | None = None,
        labels: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> FeatureSchema:
        """Infer kinds, categories and observed bounds from training data.

        Numeric dtypes become numeric features with the observed range as
        ``observed_min``/``observed_max`` and no hard limits (an applicant outside
        the observed range is explained with a caution; only limits the owner sets
        are refused); everything else (strings, categoricals, booleans) becomes
        categorical with the observed values, sorted, as categories.
        """
        if not isinstance(X, pd.DataFrame):
            raise InvalidInput("training data must be a pandas DataFrame with named columns", field="X")
        if X.empty:
            raise InvalidInput("training data has no rows", field="X")
        labels = dict(labels or {})
        features = [_infer_feature(str(column), X[column], labels.get(str(column))) for column in X.columns]
        class_names: tuple[str, ...] = ()
        if y is not None:
            class_names = tuple(sorted({str(v) for v in pd.Series(list(y)).dropna()}))
            if target is None:
                target = getattr(y, "name", None)
        return cls(features=tuple(features), class_names=class_names, adverse_class=adverse_class,
                   target=None if target is None else str(target))

    def with_labels(self, labels: Mapping[str, str]) -> FeatureSchema:
        unknown = sorted(set(labels) - set(self.names))
        if unknown:
            raise InvalidInput(f"labels name unknown features: {', '.join(unknown)}", field=unknown[0])
        return replace(self, features=tuple(replace(f, label=labels.get(f.name, f.label)) for f in self.features))

    def with_classes(self, class_names: Iterable[str], adverse_class: str | None) -> FeatureSchema:
        return replace(self, class_names=tuple(str(c) for c in class_names), adverse_class=adverse_class)

    # -- (de)serialisation --------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [f.to_dict() for f in self.features],
            "class_names": list(self.class_names),
            "adverse_class": self.adverse_class,
            "target": self.target,
            **({"reason_codes": dict(self.reason_codes)} if self.reason_codes is not None else {}),
            **({"protected_override": self.protected_override} if self.protected_override else {}),
            **({"class_labels": dict(self.class_labels)} if self.class_labels else {}),
        }

    def class_label(self, name: str) -> str:
        """A class's display name: 'defaulted (1)' when the owner named class 1, else the class itself."""
        label = (self.class_labels or {}).get(str(name))
        return f"{label} ({name})" if label else str(name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSchema:
        if not isinstance(data, Mapping) or not isinstance(data.get("features"), list):
            raise InvalidInput("a schema is an object with a list of 'features'", field="features")
        return cls(
            features=tuple(Feature.from_dict(f) for f in data["features"]),
            class_names=tuple(str(c) for c in data.get("class_names") or ()),
            adverse_class=data.get("adverse_class"),
            target=data.get("target"),
            reason_codes=data.get("reason_codes"),
            protected_override=data.get("protected_override"),
            class_labels={str(k): str(v) for k, v in data["class_labels"].items()} if data.get("class_labels")
            else None,
        )

    # -- lookups ------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> Feature:
        try:
            return self.features[self._index[name]]
        except KeyError:
            raise InvalidInput(f"unknown feature {name!r}", field=name) from None

    # -- validation ---------------------------------------------------------

    def validate_instance(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        """Check one applicant as entered; return it normalised (numbers as float or int).

        Raises InvalidInput naming the first feature that is missing, extra,
        of the wrong type, NaN, an unknown category, or out of bounds.
        """
        if not isinstance(instance, Mapping):
            raise InvalidInput("an instance is an object mapping feature names to values", field="instance")
        extra = sorted(set(instance) - set(self.names))
        if extra:
            raise InvalidInput(f"unknown feature {extra[0]!r} (the model takes: {', '.join(self.names)})",
                               field=extra[0])
        clean: dict[str, Any] = {}
        for feature in self.features:
            if feature.name not in instance:
                raise InvalidInput(f"feature {feature.name!r} ({feature.label}) is missing", field=feature.name)
            clean[feature.name] = _validate_value(feature, instance[feature.name])
        return clean

    def instance_problems(self, instance: Mapping[str, Any]) -> list[InvalidInput]:
        """Every problem with one applicant at once, at most one per feature (a form shows them all beside
        their fields); empty when ``validate_instance`` would accept it. Same checks, same messages."""
        problems = [InvalidInput(f"unknown feature {name!r}", field=name)
                    for name in sorted(set(instance) - set(self.names))]
        for feature in self.features:
            if feature.name not in instance:
                problems.append(InvalidInput(f"feature {feature.name!r} ({feature.label}) is missing",
                                             field=feature.name))
                continue
            try:
                _validate_value(feature, instance[feature.name])
            except InvalidInput as problem:
                problems.append(problem)
        return problems

    def cautions(self, clean: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A caution for each value outside the range the model was trained on (a validated instance)."""
        out = []
        for feature in self.features:
            value = clean.get(feature.name)
            if value is not None and feature.outside_training(value):
                out.append({"kind": "outside_training_range", "feature": feature.name, "value": value,
                            "observed_min": feature.observed_min, "observed_max": feature.observed_max,
                            "message": f"{feature.label} = {_fmt(float(value))} is {OUTSIDE_TRAINING} "
                                       f"({_fmt(feature.observed_min)} to {_fmt(feature.observed_max)}): "
                                       "the model's behaviour there was not learnt from data"})
        return out

    def check_frame(self, frame: pd.DataFrame, *, what: str = "data") -> None:
        """Check that a frame has exactly the schema's columns and values it accepts."""
        missing = [n for n in self.names if n not in frame.columns]
        extra = [str(c) for c in frame.columns if c not in self._index]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing columns {missing}")
            if extra:
                parts.append(f"extra columns {extra}")
            raise SchemaMismatch(f"the schema does not match the {what}: {'; '.join(parts)}",
                                 field=(missing or extra)[0])
        for feature in self.features:
            column = frame[feature.name]
            if column.isna().any() and not feature.nullable:
                raise SchemaMismatch(f"{what}: feature {feature.name!r} has missing values; declare it nullable "
                                     "if a missing value is meaningful to the model", field=feature.name)
            if feature.nullable and not column.isna().any():
                raise SchemaMismatch(f"{what}: feature {feature.name!r} is declared nullable but holds no missing "
                                     "value; give rows with one, or do not declare it nullable", field=feature.name)
            column = column.dropna()
            if feature.kind == "categorical":
                unknown = sorted({str(v) for v in column.dropna()} - set(feature.categories))
                if unknown:
                    raise SchemaMismatch(
                        f"{what}: feature {feature.name!r} has values outside its categories: {unknown[:5]}",
                        field=feature.name)
            else:
                values = pd.to_numeric(column, errors="coerce")
                if values.isna().any() or values.empty:
                    raise SchemaMismatch(f"{what}: feature {feature.name!r} has non-numeric values",
                                         field=feature.name)
                low, high = values.min(), values.max()
                if (feature.minimum is not None and low < feature.minimum) or (
                        feature.maximum is not None and high > feature.maximum):
                    raise SchemaMismatch(
                        f"{what}: feature {feature.name!r} ranges {low}..{high}, outside its bounds "
                        f"{feature.minimum}..{feature.maximum}", field=feature.name)

    # -- translation --------------------------------------------------------

    def to_matrix(self, rows: pd.DataFrame) -> np.ndarray:
        """Native rows -> float matrix: numeric as is, categorical as category index, a null as its code."""
        out = np.empty((len(rows), len(self.features)), dtype=float)
        for j, feature in enumerate(self.features):
            column = rows[feature.name]
            absent = column.isna().to_numpy() if feature.nullable else np.zeros(len(column), dtype=bool)
            if feature.kind == "categorical":
                codes = pd.Categorical(column.astype(str), categories=list(feature.categories)).codes.astype(float)
                codes[absent] = feature.missing_code
                if (codes < 0).any():
                    bad = column[codes < 0].iloc[0]
                    raise InvalidInput(f"feature {feature.name!r}: unknown category {bad!r}", field=feature.name)
                out[:, j] = codes
            else:
                values = np.array(pd.to_numeric(column, errors="raise"), dtype=float)  # a copy: written below
                values[absent] = feature.missing_code
                out[:, j] = values
        return out

    def canonical(self, matrix: np.ndarray) -> np.ndarray:
        """The one rounding rule of every model path: category indices and whole-number features to the
        nearest whole number, a value in a nullable feature's missing band to its missing code.
        ``from_matrix`` applies it, and so does every explainer's call to the model."""
        matrix = np.array(matrix, dtype=float)
        for j, feature in enumerate(self.features):
            if feature.kind == "categorical" or feature.integer:
                matrix[:, j] = np.rint(matrix[:, j])
            if feature.nullable and feature.kind == "numeric":
                matrix[missing.is_missing(feature, matrix[:, j]), j] = feature.missing_code
        return matrix

    def read_background(self, data: bytes) -> pd.DataFrame:
        """A stored background sample (the CSV registration wrote) in this schema's native types: an empty
        cell is a missing value only where the feature is nullable."""
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        for feature in self.features:
            if feature.nullable:
                frame[feature.name] = frame[feature.name].replace("", np.nan)
        numeric = [f.name for f in self.features if f.kind == "numeric"]
        frame[numeric] = frame[numeric].apply(pd.to_numeric)
        return self.from_matrix(self.to_matrix(frame))

    def from_matrix(self, matrix: np.ndarray) -> pd.DataFrame:
        """Float matrix -> native rows (string categories, integers where the feature is integral, NaN for a
        missing value)."""
        matrix = np.asarray(matrix, dtype=float)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.features):
            raise InvalidInput(f"expected a matrix with {len(self.features)} columns, got shape {matrix.shape}")
        matrix = self.canonical(matrix)
        columns: dict[str, Any] = {}
        for j, feature in enumerate(self.features):
            values = matrix[:, j]
            absent = missing.is_missing(feature, values) if feature.nullable else None
            if feature.kind == "categorical":
                codes = values.astype(int)
                top = len(feature.categories) + (1 if feature.nullable else 0)
                if codes.min(initial=0) < 0 or codes.max(initial=0) >= top:
                    raise InvalidInput(f"feature {feature.name!r}: category index out of range", field=feature.name)
                names = np.asarray([*feature.categories, np.nan], dtype=object)
                columns[feature.name] = names[codes]
            elif absent is not None:
                columns[feature.name] = np.where(absent, np.nan, values)
            elif feature.integer:
                columns[feature.name] = values.astype(np.int64)
            else:
                columns[feature.name] = values
        return pd.DataFrame(columns)

    def instance_frame(self, instance: Mapping[str, Any]) -> pd.DataFrame:
        """One validated applicant as a one-row native DataFrame."""
        clean = self.validate_instance(instance)
        return self.from_matrix(self.to_matrix(pd.DataFrame([clean], columns=self.names)))


# Words are separated by "_", "-" or spaces, and where camel case turns: "loanAmount", "FICOScore" (before the
# capital that starts a word), but not before the "s" of a plural acronym ("NumATMs").
_WORD_BOUNDARY = re.compile(r"[_\-\s]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z](?!s(?:[^a-z]|$))[a-z])")


def default_label(name: str) -> str:
    """A feature's label when none is given: its name in words, as a reason reads it. Underscores, hyphens and
    camel case separate words ("EmploymentYears", "employment_years" -> "Employment years"); an acronym in a
    mixed-case name stays in capitals ("FICOScore" -> "FICO score", "NumATMs" -> "Num ATMs"), and so does a
    one-word name in capitals ("LTV"); a name all in capitals reads in lower case ("LOAN_AMOUNT" -> "Loan
    amount")."""
    words = [w for w in _WORD_BOUNDARY.split(name) if w]
    if not words:
        return name
    shouting = name.isupper() and len(words) > 1

    def word(w: str) -> str:
        stem = w[:-1] if w.endswith("s") else w
        return w if not shouting and len(stem) > 1 and stem.isupper() else w.lower()

    first, *rest = [word(w) for w in words]
    return " ".join([first[:1].upper() + first[1:], *rest])


def _infer_feature(name: str, column: pd.Series, label: str | None) -> Feature:
    label = label or default_label(name)
    nullable = bool(column.isna().any())  # a missing value in the training data is one the model takes
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        categories = tuple(sorted({str(v) for v in column.dropna()}))
        if not categories:
            raise InvalidInput(f"feature {name!r} has no values to infer categories from", field=name)
        return Feature(name=name, kind="categorical", label=label, categories=categories, nullable=nullable)
    values = pd.to_numeric(column).dropna()
    if values.empty:
        raise InvalidInput(f"feature {name!r} has no values to infer bounds from", field=name)
    integer = bool(pd.api.types.is_integer_dtype(column) or np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    # The observed range is what the model learnt from; hard limits are the owner's to set (an inferred
    # limit refused an 85-year-old while accepting a 13-year-old), so none is inferred.
    return Feature(name=name, kind="numeric", label=label, integer=integer,
                   observed_min=float(values.min()), observed_max=float(values.max()), nullable=nullable)


def _validate_value(feature: Feature, value: Any) -> Any:
    if feature.nullable and (value is None or (isinstance(value, float) and math.isnan(value))):
        return None  # declared nullable: a missing value is a value
    if value is None:
        raise InvalidInput(f"feature {feature.name!r} ({feature.label}) is null and not declared nullable",
                           field=feature.name)
    if feature.kind == "categorical":
        if not isinstance(value, str):
            raise InvalidInput(
                f"feature {feature.name!r} ({feature.label}) takes one of its categories as text, "
                f"got {type(value).__name__} {value!r}", field=feature.name)
        if value not in feature.categories:
            raise InvalidInput(
                f"feature {feature.name!r} ({feature.label}): unknown category {value!r}; "
                f"expected one of {list(feature.categories)}", field=feature.name)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInput(
            f"feature {feature.name!r} ({feature.label}) takes a number, got {type(value).__name__} {value!r}",
            field=feature.name)
    check_number(value, feature.name)  # magnitude before conversion: a 4,001-digit int must not overflow
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise InvalidInput(f"feature {feature.name!r} ({feature.label}) is {number}, not a finite number",
                           field=feature.name)
    if feature.integer and number != int(number):
        raise InvalidInput(f"feature {feature.name!r} ({feature.label}) takes a whole number, got {value!r}",
                           field=feature.name)
    if (feature.minimum is not None and number < feature.minimum) or (
            feature.maximum is not None and number > feature.maximum):
        raise InvalidInput(
            f"feature {feature.name!r} ({feature.label}) = {value!r} is outside its bounds "
            f"{_fmt(feature.minimum)}..{_fmt(feature.maximum)}", field=feature.name)
    if feature.nullable and number <= missing.threshold(feature):
        raise InvalidInput(
            f"feature {feature.name!r} ({feature.label}) = {value!r} is so far below the range the model was "
            f"trained on ({_fmt(feature.range_low)}..{_fmt(feature.range_high)}) that it cannot be told from a "
            f"missing value; set the feature's minimum in the schema if such values are real", field=feature.name)
    return int(number) if feature.integer else number


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"bound {value!r} is not a number") from None


def _fmt(bound: float | None) -> str:
    if bound is None:
        return "*"
    return str(int(bound)) if float(bound).is_integer() else str(bound)
