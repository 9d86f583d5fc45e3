"""SHAP values toward the adverse class, per original feature (Lundberg & Lee 2017).

- A tree ensemble, alone or at the end of a scikit-learn Pipeline whose transform
  maps each input column to known output columns (one-hot encoders, scalers,
  passthrough): ``shap.TreeExplainer`` in probability space (interventional, on the
  transformed background), one-hot columns summed back to their feature.
- Anything else (a black box: a Python function, an HTTP endpoint, a model shap's
  tree code does not read): ``shap.KernelExplainer`` in the schema's matrix space,
  calling the model through the adapter.

Both use the same background: a seeded sample of ``BACKGROUND_ROWS`` real applicants
from the version's stored background (never cluster centres: k-means over category
indices invents applicants, and weighted them so that one category stood for most
of German credit). Both so estimate the same interventional Shapley values, and the
same fitted model gives the same reasons whether it was registered as an artifact,
a Python function or an HTTP endpoint: the kernel estimate is within
``KERNEL_TOLERANCE`` (absolute, on P(adverse)) of interventional TreeSHAP on the
German credit model (tests/explain/test_same_reasons.py).

The tree path is used only when it explains the first background row and adds up
to the adapter's own probability; otherwise the kernel path is taken.

The additivity error |base + sum(phi) - f(x)| against the adapter's own
probability is reported either way, so a fast path that drifted from
``predict_proba`` shows.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xai_gov.explain import library_rng
from xai_gov.explain.method import Job, Method, Metric, Outcome
from xai_gov.explain.space import ModelSpace
from xai_gov.quality.fidelity import additivity_error
from xai_gov.quality.sparsity import shap_sparsity
from xai_gov.registry.adapters import SklearnAdapter

BACKGROUND_ROWS = 100  # 50 left near-tied 4th reasons ordered differently by Kernel and Tree SHAP
BACKGROUND_SEED = 0
KERNEL_SAMPLES = 2048  # coalitions per explanation, on top of the 2M+... shap adds as "auto" would
KERNEL_TOLERANCE = 0.03
TREE_CHECK_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ShapOutcome:
    values: dict[int, float]  # feature index -> contribution to P(adverse)
    base_value: float
    algorithm: str  # "tree" or "kernel"


def _import_shap() -> Any:
    with warnings.catch_warnings():  # shap imports matplotlib, which warns about its own future
        warnings.simplefilter("ignore")
        import shap
    library_rng.use_local_generators("shap.explainers._kernel")
    return shap


class ShapEngine:
    def __init__(self, space: ModelSpace, *, force_kernel: bool = False) -> None:
        self.space = space
        self.background = shap_background(space.background)
        self._tree = None if force_kernel else _TreePath.build(space, self.background)
        if self._tree is None:
            shap = _import_shap()
            self._kernel = shap.KernelExplainer(self._adverse_probability, self.background)

    @property
    def algorithm(self) -> str:
        return "tree" if self._tree is not None else "kernel"

    def _adverse_probability(self, matrix: np.ndarray) -> np.ndarray:
        return self.space.predict(matrix)[:, self.space.adverse_index]

    def explain(self, x: np.ndarray, *, seed: int, samples: int | None = None) -> ShapOutcome:
        if self._tree is not None:
            return self._tree.explain(x)
        # KernelExplainer draws its coalitions from np.random: this call's own generator (library_rng).
        with library_rng.seeded(seed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.asarray(self._kernel.shap_values(x.reshape(1, -1), silent=True, l1_reg=False,
                                                         nsamples=2 * len(x) + (samples or KERNEL_SAMPLES))
                                ).reshape(-1)
        return ShapOutcome(values={j: float(v) for j, v in enumerate(values)},
                           base_value=float(np.ravel(self._kernel.expected_value)[0]), algorithm="kernel")


@dataclass
class _TreePath:
    space: ModelSpace
    transform: Any  # the Pipeline's steps before the estimator, or None
    explainer: Any
    columns_of: list[list[int]]  # original feature -> transformed columns
    sign: float  # -1 when the explainer explains the other class of a binary model
    output: int | None  # class dimension to read, when the explainer has one

    @classmethod
    def build(cls, space: ModelSpace, background: np.ndarray) -> _TreePath | None:
        try:
            path = cls._build(space, background)
            if path is None:
                return None
            first = background[:1]
            outcome = path.explain(first[0])
            expected = float(space.predict(first)[0, space.adverse_index])
            total = outcome.base_value + sum(outcome.values.values())
            return path if abs(total - expected) <= TREE_CHECK_TOLERANCE else None
        except Exception:  # shap cannot read this model (e.g. native categorical strings): the kernel path
            return None

    @classmethod
    def _build(cls, space: ModelSpace, background_matrix: np.ndarray) -> _TreePath | None:
        adapter = space.adapter
        if not isinstance(adapter, SklearnAdapter):
            return None
        model = adapter.estimator
        steps = getattr(model, "steps", None)
        transform, final = (model[:-1], model[-1]) if steps else (None, model)
        columns_of = _column_map(transform, space.schema.names)
        if columns_of is None:
            return None
        shap = _import_shap()
        background = cls._dense(transform, space.schema.from_matrix(background_matrix))
        try:
            explainer = shap.TreeExplainer(final, data=background, feature_perturbation="interventional",
                                           model_output="probability")
        except Exception:  # not a tree model shap knows, or no probability output: use the kernel path
            return None
        classes = [str(c) for c in getattr(final, "classes_", [])]
        adverse = space.schema.adverse_class
        expected = np.ravel(explainer.expected_value)
        if len(expected) > 1:
            return cls(space, transform, explainer, columns_of, 1.0, classes.index(adverse or ""))
        if len(classes) != 2:
            return None
        sign = 1.0 if classes.index(adverse or "") == 1 else -1.0  # one output: the probability of classes_[1]
        return cls(space, transform, explainer, columns_of, sign, None)

    @staticmethod
    def _dense(transform: Any, frame: Any) -> np.ndarray:
        design = transform.transform(frame) if transform is not None else frame.to_numpy(dtype=float)
        return np.asarray(design.toarray() if hasattr(design, "toarray") else design, dtype=float)

    def explain(self, x: np.ndarray) -> ShapOutcome:
        design = self._dense(self.transform, self.space.schema.from_matrix(x.reshape(1, -1)))
        raw = np.asarray(self.explainer.shap_values(design))
        expected = np.ravel(self.explainer.expected_value)
        if self.output is not None:
            per_column = raw[0, :, self.output] if raw.ndim == 3 else raw[self.output][0]
            base = float(expected[self.output])
        else:
            per_column = self.sign * raw.reshape(-1)
            base = float(expected[0]) if self.sign > 0 else 1.0 - float(expected[0])
        values = {j: float(per_column[columns].sum()) for j, columns in enumerate(self.columns_of)}
        return ShapOutcome(values=values, base_value=base, algorithm="tree")


def shap_background(background: np.ndarray) -> np.ndarray:
    """A seeded sample of real background rows (all of them when there are few), in stored order."""
    if len(background) <= BACKGROUND_ROWS:
        return background
    chosen = np.sort(np.random.default_rng(BACKGROUND_SEED).choice(len(background), BACKGROUND_ROWS, replace=False))
    return background[chosen]


def _column_map(transform: Any, names: list[str]) -> list[list[int]] | None:
    """Which transformed columns each original feature became, or None if that is not knowable."""
    if transform is None:
        return [[j] for j in range(len(names))]
    steps = [step for _, step in getattr(transform, "steps", [("only", transform)])]
    if len(steps) != 1:
        return None
    column_transformer = steps[0]
    transformers = getattr(column_transformer, "transformers_", None)
    indices = getattr(column_transformer, "output_indices_", None)
    if transformers is None or indices is None:
        return None
    out: list[list[int]] = [[] for _ in names]
    for name, fitted, columns in transformers:
        if fitted == "drop" or not len(columns):
            continue
        column_names = [names[c] if isinstance(c, (int, np.integer)) else c for c in columns]
        width = indices[name].stop - indices[name].start
        categories = getattr(fitted, "categories_", None)
        if categories is not None and getattr(fitted, "drop_idx_", None) is None:
            counts = [len(c) for c in categories]
        elif width == len(column_names):
            counts = [1] * len(column_names)
        else:
            return None
        if sum(counts) != width:
            return None
        start = indices[name].start
        for column, count in zip(column_names, counts, strict=True):
            if column not in names:
                return None
            out[names.index(column)].extend(range(start, start + count))
            start += count
    return out


@dataclass(frozen=True)
class ShapParams:
    """Nothing a request may set: Kernel SHAP's coalitions beyond 2M (None: ``KERNEL_SAMPLES``) are lowered
    only by registration's trial explanation, which is never stored."""

    kernel_samples: int | None = None


class ShapMethod(Method):
    name = section = "shap"
    title = "SHAP"
    summary = "each feature's Shapley contribution to P(adverse), from the base value (tree or kernel)"
    order = 30
    params = ShapParams
    parameters_stored = False
    attribution_rank = 1
    metrics = (
        Metric("fidelity.shap.additivity_error", "|base + sum of SHAP values - the model's P(adverse)|.",
               "fidelity"),
        Metric("sparsity.shap.features_for_80", "Fewest features carrying 80% of the absolute attribution.",
               "sparsity"),
    )

    def build(self, space: ModelSpace) -> ShapEngine:
        return ShapEngine(space)

    def run(self, state: ShapEngine, job: Job) -> Outcome:
        outcome = state.explain(job.x, seed=job.seed, samples=job.params.kernel_samples)
        values = np.array(list(outcome.values.values()))
        return Outcome(
            section=_section(outcome, job), attributions=outcome.values,
            scores={"fidelity.shap": {"additivity_error": additivity_error(outcome.base_value, values,
                                                                           job.adverse_probability)},
                    "sparsity.shap": shap_sparsity(outcome.values).to_dict()})

    def glance(self, scores: Mapping[str, Any]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if fit := scores.get("fidelity", {}).get("shap"):
            out["fidelity"] = [f"SHAP additivity error {fit['additivity_error']:.1e}"]
        if sparse := (scores.get("sparsity") or {}).get("shap"):
            out["sparsity"] = [f"SHAP: 80% of the attribution on {sparse['features_for_80']} features"]
        return out

    def attributions_of(self, section: Mapping[str, Any]) -> dict[str, float]:
        return {v["feature"]: float(v["contribution"]) for v in section["values"]}


def _section(outcome: ShapOutcome, job: Job) -> dict[str, Any]:
    schema, instance = job.schema, job.clean
    values = sorted(outcome.values.items(), key=lambda item: (-abs(item[1]), item[0]))
    return {"explained_class": schema.adverse_class, "algorithm": outcome.algorithm, "base_value": outcome.base_value,
            "values": [{"feature": schema.features[j].name, "label": schema.features[j].label,
                        "value": instance[schema.features[j].name], "contribution": v} for j, v in values]}


METHOD = ShapMethod()
