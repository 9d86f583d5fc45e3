"""LIME (Ribeiro et al. 2016) through the ``lime`` package, with its scores computed alongside.

One explanation runs LIME's own sampler and LIME's own weighted ridge fit k
times under seeds ``seed, seed+1, ...`` (repeat 0 is the reported explanation,
identical to a plain ``LimeTabularExplainer(random_state=seed).explain_instance``)
and once more under ``seed + FRESH_SEED_OFFSET`` for the fidelity check. All
neighbourhoods go to the model in one batched call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn.metrics
from lime.discretize import QuartileDiscretizer
from lime.lime_tabular import LimeTabularExplainer

from xai_gov.explain.space import ModelSpace
from xai_gov.quality.fidelity import weighted_r2
from xai_gov.quality.stability import StabilityScores, lime_stability
from xai_gov.registry.missing import cuts as missing_cuts

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
    standard_errors: dict[int, float]


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

    def explain(self, x: np.ndarray, *, seed: int, params: LimeParams) -> LimeOutcome:
        seeds = [seed + r for r in range(params.repeats)] + [seed + FRESH_SEED_OFFSET]
        neighbourhoods = [self._sample(x, s, params.num_samples) for s in seeds]
        probabilities = self.space.predict(np.vstack([inverse for _, inverse in neighbourhoods]))
        per_seed = np.split(probabilities, len(seeds))
        fits = [self._fit(data, probs) for (data, _), probs in zip(neighbourhoods[:-1], per_seed[:-1], strict=True)]
        main = fits[0]
        fresh_data, _ = neighbourhoods[-1]
        fresh_target = per_seed[-1][:, self.space.adverse_index]
        surrogate = main.intercept + sum(w * fresh_data[:, j] for j, w in main.weights.items())
        kernel_weights = self.explainer.base.kernel_fn(self._distances(fresh_data))
        model_prediction = float(per_seed[0][0, self.space.adverse_index])
        return LimeOutcome(
            fit=main, conditions=self._conditions(x), fresh_r2=weighted_r2(fresh_target, surrogate, kernel_weights),
            local_error=abs(main.local_prediction - model_prediction), model_prediction=model_prediction,
            stability=lime_stability([f.weights for f in fits], [f.standard_errors for f in fits], top_n=params.top_n),
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

    def _fit(self, data: np.ndarray, probabilities: np.ndarray) -> LimeFit:
        scaled = (data - self.explainer.scaler.mean_) / self.explainer.scaler.scale_
        distances = self._distances(data)
        label = self.space.adverse_index
        intercept, weights, score, local = self.explainer.base.explain_instance_with_data(
            scaled, probabilities, distances, label, scaled.shape[1], feature_selection="auto")
        coefficients = {int(j): float(w) for j, w in weights}
        errors = _ridge_standard_errors(scaled, probabilities[:, label], self.explainer.base.kernel_fn(distances),
                                        intercept, coefficients)
        return LimeFit(intercept=float(intercept), weights=coefficients, local_prediction=float(np.ravel(local)[0]),
                       score=float(score), standard_errors=errors)

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


def _ridge_standard_errors(X: np.ndarray, y: np.ndarray, weights: np.ndarray, intercept: float,
                           coefficients: dict[int, float], alpha: float = 1.0) -> dict[int, float]:
    """Standard errors of the weighted ridge coefficients (sandwich form), for the CSI.

    Var(b) = s^2 (X'WX + aI)^-1 X'WX (X'WX + aI)^-1, on centred data as Ridge fits it,
    with s^2 the weighted residual variance.
    """
    features = sorted(coefficients)
    design = X[:, features]
    mean = np.average(design, axis=0, weights=weights)
    centred = design - mean
    residuals = y - (intercept + design @ np.array([coefficients[j] for j in features]))
    dof = max(float(weights.sum()) - len(features) - 1, 1.0)
    variance = float(np.sum(weights * residuals**2) / dof)
    gram = centred.T @ (centred * weights[:, None])
    inverse = np.linalg.pinv(gram + alpha * np.eye(len(features)))
    covariance = variance * inverse @ gram @ inverse
    return {j: float(np.sqrt(max(covariance[i, i], 0.0))) for i, j in enumerate(features)}
