"""LIME (Ribeiro et al. 2016) through the ``lime`` package, with its scores computed alongside.

One explanation runs LIME's own sampler and LIME's own weighted ridge fit k
times under seeds ``seed, seed+1, ...`` (repeat 0 is the reported explanation,
identical to a plain ``LimeTabularExplainer(random_state=seed).explain_instance``)
and once more under ``seed + FRESH_SEED_OFFSET`` for the fidelity check. All
neighbourhoods go to the model in one batched call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import sklearn.metrics
from lime.discretize import QuartileDiscretizer
from lime.lime_tabular import LimeTabularExplainer

from xai_gov.explain.method import Bound, Job, Method, Metric, Outcome
from xai_gov.explain.space import ModelSpace
from xai_gov.quality.fidelity import weighted_r2
from xai_gov.quality.sparsity import lime_sparsity
from xai_gov.quality.stability import Interval, StabilityScores, coefficient_intervals, lime_stability
from xai_gov.registry.missing import cuts as missing_cuts
from xai_gov.registry.schema import Feature, FeatureSchema

FRESH_SEED_OFFSET = 10_000


@dataclass(frozen=True)
class LimeParams:
    num_samples: int = 5000
    repeats: int = 5
    top_n: int = 5

    def to_dict(self) -> dict[str, Any]:
        return {"num_samples": self.num_samples, "repeats": self.repeats, "top_n": self.top_n,
                "discretizer": "quartile", "kernel_width": "0.75*sqrt(features)", "regressor": "Ridge(alpha=1)"}


@dataclass(frozen=True)
class LimeFit:
    """One LIME fit: weights per feature index (toward the adverse class) and the surrogate's figures."""

    intercept: float
    weights: dict[int, float]
    local_prediction: float
    score: float  # LIME's in-sample weighted R^2
    intervals: dict[int, Interval]  # 95% intervals of LIME's top_n-feature model's coefficients, for the CSI


@dataclass(frozen=True)
class LimeOutcome:
    fit: LimeFit
    conditions: dict[int, str]  # feature index -> LIME's condition for the instance, e.g. "duration_months > 24.00"
    fresh_r2: float
    local_error: float  # |g(x) - f(x)|
    model_prediction: float
    stability: StabilityScores


class LimeEngine:
    """LIME state built once per model version (the discretiser over the background)."""

    def __init__(self, space: ModelSpace) -> None:
        self.space = space
        self.explainer = self.plain_explainer(0)  # each explanation reseeds it
        self._ahead: tuple[tuple[bytes, int, LimeParams], list[tuple[np.ndarray, np.ndarray]]] | None = None

    def plain_explainer(self, seed: int) -> LimeTabularExplainer:
        """LIME's explainer with the engine's settings (also the benchmark's and the equivalence test's)."""
        schema = self.space.schema
        cuts = missing_cuts(schema)
        # A nullable number gets "missing" as a bin of its own; otherwise LIME's own quartiles, unchanged.
        discretizer: Any = "quartile" if not cuts else MissingAwareQuartiles(
            self.space.background, self.space.categorical, schema.names, cuts, random_state=seed)
        return LimeTabularExplainer(
            self.space.background, mode="classification", feature_names=schema.names,
            categorical_features=self.space.categorical,
            categorical_names={j: [*schema.features[j].categories, *(["(missing)"] if schema.features[j].nullable
                                                                     else [])] for j in self.space.categorical},
            class_names=list(schema.class_names), discretize_continuous=True, discretizer=discretizer,
            random_state=seed)

    def rows(self, x: np.ndarray, *, seed: int, params: LimeParams) -> np.ndarray:
        """The rows ``explain`` will send to the model (to send them ahead to a remote model); the
        neighbourhoods are kept for that ``explain``."""
        neighbourhoods = self._neighbourhoods(x, seed, params)
        self._ahead = ((x.tobytes(), seed, params), neighbourhoods)
        return np.vstack([inverse for _, inverse in neighbourhoods])

    def _neighbourhoods(self, x: np.ndarray, seed: int, params: LimeParams) -> list[tuple[np.ndarray, np.ndarray]]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == (x.tobytes(), seed, params):
            return ahead[1]
        seeds = [seed + r for r in range(params.repeats)] + [seed + FRESH_SEED_OFFSET]
        return [self._sample(x, s, params.num_samples) for s in seeds]

    def explain(self, x: np.ndarray, *, seed: int, params: LimeParams) -> LimeOutcome:
        seeds = [seed + r for r in range(params.repeats)] + [seed + FRESH_SEED_OFFSET]
        neighbourhoods = self._neighbourhoods(x, seed, params)
        probabilities = self.space.predict(np.vstack([inverse for _, inverse in neighbourhoods]))
        per_seed = np.split(probabilities, len(seeds))
        fits = [self._fit(data, probs, params.top_n)
                for (data, _), probs in zip(neighbourhoods[:-1], per_seed[:-1], strict=True)]
        main = fits[0]
        fresh_data, _ = neighbourhoods[-1]
        fresh_target = per_seed[-1][:, self.space.adverse_index]
        surrogate = np.asarray(main.intercept + sum(w * fresh_data[:, j] for j, w in main.weights.items()))
        kernel_weights = self.explainer.base.kernel_fn(self._distances(fresh_data))
        model_prediction = float(per_seed[0][0, self.space.adverse_index])
        return LimeOutcome(
            fit=main, conditions=self._conditions(x), fresh_r2=weighted_r2(fresh_target, surrogate, kernel_weights),
            local_error=abs(main.local_prediction - model_prediction), model_prediction=model_prediction,
            stability=lime_stability([f.weights for f in fits], [f.intervals for f in fits], top_n=params.top_n),
        )

    # -- LIME's own steps ------------------------------------------------------------

    def _sample(self, x: np.ndarray, seed: int, num_samples: int) -> tuple[np.ndarray, np.ndarray]:
        state = np.random.RandomState(seed)
        self.explainer.random_state = state
        self.explainer.discretizer.random_state = state
        sample = self.explainer._LimeTabularExplainer__data_inverse  # type: ignore[attr-defined]
        return sample(x, num_samples)

    def _distances(self, data: np.ndarray) -> np.ndarray:
        scaled = (data - self.explainer.scaler.mean_) / self.explainer.scaler.scale_
        return sklearn.metrics.pairwise_distances(scaled, scaled[0].reshape(1, -1), metric="euclidean").ravel()

    def _fit(self, data: np.ndarray, probabilities: np.ndarray, top_n: int) -> LimeFit:
        scaled = (data - self.explainer.scaler.mean_) / self.explainer.scaler.scale_
        distances = self._distances(data)
        label = self.space.adverse_index
        intercept, weights, score, local = self.explainer.base.explain_instance_with_data(
            scaled, probabilities, distances, label, scaled.shape[1], feature_selection="auto")
        coefficients = {int(j): float(w) for j, w in weights}
        # The CSI's intervals come from LIME's top_n-feature model, as LIME would fit it with
        # num_features=top_n (its own feature selection), not from the all-feature fit reported above.
        kernel = self.explainer.base.kernel_fn(distances)
        if top_n <= FORWARD_SELECTION_MAX:
            used, coefficients_k = local_model(scaled, probabilities[:, label], kernel, top_n)
        else:
            _, selected, _, _ = self.explainer.base.explain_instance_with_data(
                scaled, probabilities, distances, label, top_n, feature_selection="auto")
            used, coefficients_k = [int(j) for j, _ in selected], np.array([w for _, w in selected])
        bounds = coefficient_intervals(scaled[:, used], probabilities[:, label], kernel, coefficients_k)
        return LimeFit(intercept=float(intercept), weights=coefficients, local_prediction=float(np.ravel(local)[0]),
                       score=float(score), intervals=dict(zip(used, bounds, strict=True)))

    def _conditions(self, x: np.ndarray) -> dict[int, str]:
        discretizer = self.explainer.discretizer
        binned = discretizer.discretize(x.reshape(1, -1))[0]
        return {j: discretizer.names[j][int(binned[j])] for j in discretizer.names}


class MissingAwareQuartiles(QuartileDiscretizer):
    """LIME's quartile discretiser, with "missing" a bin of its own for each nullable number:
    the cut below which a value is missing, then the quartiles of the values present. LIME then
    samples a missing value as the missing code and never mixes it with real ones."""

    def __init__(self, data: np.ndarray, categorical: list[int], names: list[str], cuts: dict[int, float],
                 random_state: int | None = None) -> None:
        self.cuts = cuts
        super().__init__(data, categorical, names, random_state=random_state)

    def bins(self, data: np.ndarray, labels: Any) -> list[np.ndarray]:
        out = []
        for j in self.to_discretize:
            column = data[:, j]
            if j in self.cuts:
                present = column[column > self.cuts[j]]
                quartiles = np.percentile(present, [25, 50, 75]) if len(present) else np.array([])
                out.append(np.concatenate([[self.cuts[j]], quartiles]))
            else:
                out.append(np.array(np.percentile(column, [25, 50, 75])))
        return out


#: LIME's feature_selection="auto" runs forward selection up to this many features (highest weights above).
FORWARD_SELECTION_MAX = 6


def local_model(data: np.ndarray, labels: np.ndarray, weights: np.ndarray, k: int,
                alpha: float = 1.0) -> tuple[list[int], np.ndarray]:
    """LIME's k-feature local model: its forward selection, then its weighted ridge on the selected features.

    The same steps as ``lime_base.LimeBase`` with ``num_features=k <= 6`` (forward selection adds, k times,
    the feature whose weighted least-squares fit with an intercept has the highest weighted R^2; then
    ``Ridge(alpha=1)`` with the kernel weights), computed from one weighted Gram matrix instead of one
    scikit-learn fit per candidate: about 90 fits per repeat become small linear solves. The selection
    and coefficients equal LIME's (tests/explain/test_lime.py). Returns the features in selection order
    and their ridge coefficients."""
    total = float(weights.sum())
    centred_x = data - (weights @ data) / total
    centred_y = labels - float(weights @ labels) / total
    gram = centred_x.T @ (centred_x * weights[:, None])
    cross = centred_x.T @ (weights * centred_y)
    spread = float(centred_y @ (weights * centred_y))
    used: list[int] = []
    for _ in range(min(k, data.shape[1])):
        best, best_score = 0, -1e8
        for feature in range(data.shape[1]):
            if feature in used:
                continue
            chosen = [*used, feature]
            beta = np.linalg.lstsq(gram[np.ix_(chosen, chosen)], cross[chosen], rcond=None)[0]
            score = 1.0 - (spread - float(beta @ cross[chosen])) / spread if spread > 0 else 0.0
            if score > best_score:  # strictly greater: the first of equals wins, as in LIME
                best, best_score = feature, score
        used.append(best)
    ridge = np.linalg.solve(gram[np.ix_(used, used)] + alpha * np.eye(len(used)), cross[used])
    return used, ridge


class LimeMethod(Method):
    name = section = "lime"
    title = "LIME"
    summary = ("a local linear surrogate around the applicant: each condition's weight toward the adverse "
               "class, with its fit")
    order = 10
    params = LimeParams
    bounds: ClassVar[Mapping[str, Bound]] = {
        "num_samples": Bound(50, 50_000), "repeats": Bound(1, 20), "top_n": Bound(1, 20)}
    parameters_always_stored = True
    attribution_rank = 2
    costs = ("num_samples", "repeats")
    metrics = (
        Metric("fidelity.lime.fresh_weighted_r2", "Kernel-weighted R2 of LIME's surrogate on a fresh neighbourhood "
               "it was not fitted on.", "fidelity"),
        Metric("fidelity.lime.in_sample_r2", "LIME's own weighted R2 on the samples it was fitted on (optimistic).",
               "fidelity"),
        Metric("fidelity.lime.local_error", "|surrogate - model| at the applicant, on P(adverse).", "fidelity"),
        Metric("stability.lime.top_n_jaccard", "Mean Jaccard overlap of the top-n features between seeds.",
               "stability"),
        Metric("stability.lime.vsi", "Variables stability index (Visani et al. 2022): same features chosen.",
               "stability"),
        Metric("stability.lime.csi", "Coefficients stability index (Visani et al. 2022): overlapping intervals.",
               "stability"),
        Metric("sparsity.lime.features_used", "Features with a non-zero LIME weight.", "sparsity"),
        Metric("sparsity.lime.effective_features_80", "Fewest features carrying 80% of the absolute weight.",
               "sparsity"),
    )

    def build(self, space: ModelSpace) -> LimeEngine:
        return LimeEngine(space)

    def rows_ahead(self, state: LimeEngine, x: np.ndarray, *, seed: int, params: LimeParams) -> list[np.ndarray]:
        return [state.rows(x, seed=seed, params=params)]

    def run(self, state: LimeEngine, job: Job) -> Outcome:
        outcome = state.explain(job.x, seed=job.seed, params=job.params)
        return Outcome(
            section=_section(outcome, job.schema, job.clean),
            scores={"fidelity.lime": {"fresh_weighted_r2": outcome.fresh_r2, "in_sample_r2": outcome.fit.score,
                                      "local_error": outcome.local_error},
                    "stability.lime": outcome.stability.to_dict(),
                    "sparsity.lime": lime_sparsity(outcome.fit.weights).to_dict()},
            attributions=outcome.fit.weights)

    def glance(self, scores: Mapping[str, Any]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if fit := scores.get("fidelity", {}).get("lime"):
            out["fidelity"] = [f"LIME R2 {fit['fresh_weighted_r2']:.2f} on a fresh neighbourhood, "
                               f"|surrogate - model| {fit['local_error']:.3f}"]
        if stable := scores.get("stability", {}).get("lime"):
            out["stability"] = [f"LIME top-{stable['top_n']} Jaccard {stable['top_n_jaccard']:.2f} over "
                                f"{stable['repeats']} seeds"]
        if sparse := (scores.get("sparsity") or {}).get("lime"):
            out["sparsity"] = [f"LIME: 80% of the weight on {sparse['effective_features_80']} of "
                               f"{sparse['features_used']} features"]
        return out

    def attributions_of(self, section: Mapping[str, Any]) -> dict[str, float]:
        return {w["feature"]: float(w["weight"]) for w in section["weights"]}


def _section(outcome: LimeOutcome, schema: FeatureSchema, instance: dict[str, Any]) -> dict[str, Any]:
    weights = sorted(outcome.fit.weights.items(), key=lambda item: (-abs(item[1]), item[0]))
    return {
        "explained_class": schema.adverse_class,
        "weights": [{"feature": schema.features[j].name, "label": schema.features[j].label,
                     "condition": _condition(schema.features[j], outcome.conditions.get(j), instance),
                     "value": instance[schema.features[j].name], "weight": w} for j, w in weights],
        "intercept": outcome.fit.intercept, "local_prediction": outcome.fit.local_prediction,
        "model_prediction": outcome.model_prediction, "in_sample_r2": outcome.fit.score,
    }


def _condition(feature: Feature, binned: str | None, instance: dict[str, Any]) -> str:
    """LIME's condition in the feature's words: the bin for numbers, the category for categories."""
    if instance[feature.name] is None:
        return f"{feature.label} is missing"
    if feature.kind == "categorical" or binned is None:
        return f"{feature.label} = {instance[feature.name]}"
    return binned.replace(feature.name, feature.label)


METHOD = LimeMethod()
