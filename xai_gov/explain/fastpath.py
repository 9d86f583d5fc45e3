"""A fast path for the commonest model family: a Pipeline of one-hot encoding and an estimator.

Explainers call the model with thousands of rows in the schema's matrix form.
The general path turns them into a DataFrame of strings and lets the Pipeline's
ColumnTransformer encode them again, which costs more than the trees. For a
Pipeline whose transform is a ColumnTransformer of OneHotEncoders and
passthrough columns, the encoded design can be built straight from the category
indices (and standard-scaled numbers), and the final estimator called on it.

It is used only when its probabilities are *identical* (bit for bit) to the
Pipeline's own ``predict_proba`` on rows like the explainers send: the
background, background columns mixed at random (anchor samples), and rows with
fractional jitter on every number (LIME's samples), each put through the same
canonical rounding (``FeatureSchema.canonical``) ``ModelSpace.predict`` applies
before either path. Otherwise the general path is kept. Nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from xai_gov.registry.adapters import ModelAdapter, SklearnAdapter
from xai_gov.registry.schema import FeatureSchema

VERIFY_ROWS = 2000
Predict = Callable[[np.ndarray], np.ndarray]


def build_fast_path(adapter: ModelAdapter, schema: FeatureSchema, background: np.ndarray) -> Predict | None:
    """A matrix -> probabilities function verified identical to the adapter, or None."""
    if not isinstance(adapter, SklearnAdapter):
        return None
    model = adapter.estimator
    steps = getattr(model, "steps", None)
    if not steps or len(steps) != 2:
        return None
    encoder_step, final = steps[0][1], steps[1][1]
    plan = _plan(encoder_step, schema)
    if plan is None or not hasattr(final, "predict_proba"):
        return None
    width = getattr(encoder_step, "output_indices_", {})
    total = max((s.stop for s in width.values()), default=0)

    def predict(matrix: np.ndarray) -> np.ndarray:
        design = np.zeros((len(matrix), total))
        for kind, j, target, lookup in plan:
            if kind == "passthrough":
                design[:, target] = matrix[:, j]
                if lookup is not None:  # a nullable number: its missing code is NaN to the model
                    design[matrix[:, j] == lookup, target] = np.nan
            elif kind == "scaled":  # StandardScaler.transform's own arithmetic: subtract, then divide
                mean, scale = lookup
                column = matrix[:, j].copy()
                if mean is not None:
                    column -= mean
                if scale is not None:
                    column /= scale
                design[:, target] = column
            else:
                positions = lookup[matrix[:, j].astype(int)]
                known = positions >= 0
                design[np.nonzero(known)[0], target + positions[known]] = 1.0
        return np.asarray(final.predict_proba(design), dtype=float)

    raw = _verification_rows(background, np.random.default_rng(0))
    try:
        fast = predict(schema.canonical(raw))
        slow = np.asarray(adapter.predict_proba(schema.from_matrix(raw)), dtype=float)
    except Exception:
        return None
    return predict if fast.shape == slow.shape and np.array_equal(fast, slow) else None


def _verification_rows(background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The background, rows mixing its columns at random (as anchor samples do) and the same rows with
    fractional jitter on every column (as LIME's samples have); categories are kept to valid indices."""
    mixed = np.column_stack([rng.choice(background[:, j], VERIFY_ROWS) for j in range(background.shape[1])])
    spread = background.std(axis=0) + 1e-9
    jittered = mixed + rng.normal(0.0, 0.5, mixed.shape) * spread
    low, high = background.min(axis=0), background.max(axis=0)
    return np.vstack([background, mixed, np.clip(jittered, low, high)])


def _plan(transformer: Any, schema: FeatureSchema) -> list[tuple[str, int, int, Any]] | None:
    """(kind, feature index, first output column, category lookup) for every input column."""
    transformers = getattr(transformer, "transformers_", None)
    indices = getattr(transformer, "output_indices_", None)
    inputs = getattr(transformer, "feature_names_in_", None)
    if transformers is None or indices is None or inputs is None:
        return None
    names = schema.names
    plan: list[tuple[str, int, int, Any]] = []
    covered: set[int] = set()
    for name, fitted, columns in transformers:
        if fitted == "drop":
            continue
        start = indices[name].start
        column_names = [str(inputs[c]) if isinstance(c, (int, np.integer)) else str(c) for c in columns]
        if any(c not in names for c in column_names):
            return None
        if _is_identity(fitted):
            for offset, column in enumerate(column_names):
                j = names.index(column)
                feature = schema.features[j]
                if feature.kind != "numeric":
                    return None
                plan.append(("passthrough", j, start + offset, feature.missing_code if feature.nullable else None))
                covered.add(j)
            continue
        if type(fitted).__name__ == "StandardScaler":
            for offset, column in enumerate(column_names):
                j = names.index(column)
                feature = schema.features[j]
                if feature.kind != "numeric" or feature.nullable:
                    return None
                mean = None if fitted.mean_ is None else float(fitted.mean_[offset])
                scale = None if fitted.scale_ is None else float(fitted.scale_[offset])
                plan.append(("scaled", j, start + offset, (mean, scale)))
                covered.add(j)
            continue
        if type(fitted).__name__ != "OneHotEncoder" or getattr(fitted, "drop_idx_", None) is not None:
            return None
        if getattr(fitted, "min_frequency", None) is not None or getattr(fitted, "max_categories", None) is not None:
            return None
        for column, categories in zip(column_names, fitted.categories_, strict=True):
            j = names.index(column)
            feature = schema.features[j]
            if feature.kind != "categorical":
                return None
            known = {str(c): k for k, c in enumerate(categories)}
            if fitted.handle_unknown == "error" and any(c not in known for c in feature.categories):
                return None
            lookup = np.array([known.get(c, -1) for c in feature.categories])
            plan.append(("onehot", j, start, lookup))
            covered.add(j)
            start += len(categories)
    return plan if covered == set(range(len(names))) else None


def _is_identity(fitted: Any) -> bool:
    """'passthrough', or the identity FunctionTransformer scikit-learn fits in its place."""
    if isinstance(fitted, str):
        return fitted == "passthrough"
    return type(fitted).__name__ == "FunctionTransformer" and fitted.func is None and fitted.inverse_func is None
