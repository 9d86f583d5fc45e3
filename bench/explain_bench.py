"""Explanation engine vs the plain libraries, measured in the same run on this machine.

    .venv/bin/python bench/explain_bench.py [--applicants 20] [--models credit,forest,logistic]

Models, all on the shipped German credit data (750 training rows, the same split):
- credit:   the shipped model (one-hot Pipeline + GradientBoostingClassifier, 300 trees)
- forest:   one-hot Pipeline + RandomForestClassifier, 200 trees
- logistic: one-hot + scaled Pipeline + LogisticRegression

For each model and each of N held-out applicants:
- LIME: the engine's LIME step (k=5 seeds + 1 fresh neighbourhood, 5,000 samples each, all
  in one model call) against 6 plain ``LimeTabularExplainer.explain_instance`` calls with the
  same settings; the per-neighbourhood ratio is what the 1.1x target is read against.
- Anchor: one engine search (threshold 0.95, delta 0.1, tau 0.15, batch 100, beam 1, plus the
  1,000-sample fresh re-estimate) against plain anchor-exp (``get_sample_fn`` + ``anchor_beam``,
  what ``explain_instance`` runs) at the same settings. Both rules' precision is re-estimated
  on 1,000 fresh samples from the same sampler. The floor is one model call on the unique rows
  that explanation needed; peak memory is tracemalloc's peak during one explanation.
- Full: one default explanation (LIME k=5, Anchor x3, SHAP, all scores) through the engine.

Prints a table per model and the targets, each marked met or NOT met. Loopback-free: no
network, nothing written.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from xai_gov.config import Settings
from xai_gov.datasets import GERMAN_CREDIT_LABELS
from xai_gov.examples.credit_model import SEED, train_credit_model
from xai_gov.explain.engine import ExplainOptions, VersionExplainers, explain_instance
from xai_gov.explain.methods.anchor import AnchorEngine, AnchorOutcome
from xai_gov.explain.methods.anchor_search import AnchorParams
from xai_gov.explain.methods.lime import LimeEngine, LimeParams
from xai_gov.explain.reasons import REASON_CODES_FILE, ReasonMap
from xai_gov.explain.space import ModelSpace
from xai_gov.policies.models import load_policy
from xai_gov.registry.adapters import SklearnAdapter
from xai_gov.registry.models import ModelVersion
from xai_gov.registry.schema import FeatureSchema

warnings.filterwarnings("ignore")


@dataclass
class Recorder:
    """Wraps a ModelSpace's predict to keep every row the model saw (for the floor)."""

    space: ModelSpace
    rows: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        inner = self.space.predict

        def predict(matrix: np.ndarray) -> np.ndarray:
            self.rows.append(np.asarray(matrix, dtype=float))
            return inner(matrix)

        self.space.predict = predict  # type: ignore[method-assign]

    def floor(self) -> float:
        """Seconds for one model call on the unique rows seen since the last reset."""
        unique = np.unique(np.vstack(self.rows), axis=0)
        started = time.perf_counter()
        self.space.adapter.predict_proba(self.space.schema.from_matrix(unique))
        return time.perf_counter() - started

    def reset(self) -> None:
        self.rows.clear()
        self.space.stats.reset()


def models(names: list[str]) -> dict[str, Any]:
    trained = train_credit_model()
    categorical = [c for c in trained.X_train.columns if not pd.api.types.is_numeric_dtype(trained.X_train[c])]
    encode = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), categorical)],
                               remainder="passthrough")
    scaled = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), categorical)],
                               remainder=StandardScaler())
    builders: dict[str, Callable[[], Any]] = {
        "credit": lambda: trained.pipeline,
        "forest": lambda: Pipeline([("encode", encode), ("classify", RandomForestClassifier(
            n_estimators=200, random_state=SEED))]).fit(trained.X_train, trained.y_train),
        "logistic": lambda: Pipeline([("encode", scaled), ("classify", LogisticRegression(max_iter=1000))])
        .fit(trained.X_train, trained.y_train),
    }
    return {"data": trained, **{name: builders[name]() for name in names}}


def peak_mb(action: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def run_model(name: str, estimator: Any, trained: Any, applicants: int, arms: int) -> dict[str, Any]:
    schema = FeatureSchema.infer(trained.X_train, trained.y_train, adverse_class="bad", labels=GERMAN_CREDIT_LABELS)
    background = schema.to_matrix(trained.X_train.sample(200, random_state=0).sort_index())
    # The engine reaches the model its own way (the verified fast path where it applies); the plain
    # libraries get what their users have: predict_proba on a DataFrame.
    space = ModelSpace(schema, SklearnAdapter(estimator), background)
    plain_space = ModelSpace(schema, SklearnAdapter(estimator), background, use_fast_path=False)
    recorder, plain_recorder = Recorder(space), Recorder(plain_space)
    lime_engine, anchor_engine = LimeEngine(space), AnchorEngine(space)
    plain_lime = LimeEngine(plain_space)
    xs = schema.to_matrix(trained.X_test.iloc[:applicants])
    params_lime = LimeParams()
    params_anchor = AnchorParams(repeats=1, arms_per_step=arms)
    reference_engine = AnchorEngine(plain_space)
    params_reference = replace(params_anchor, engine="anchor-exp")
    out: dict[str, list[float]] = {key: [] for key in (
        "lime_engine", "lime_plain", "anchor_engine", "anchor_plain", "anchor_engine_model", "anchor_plain_model",
        "anchor_engine_floor", "anchor_plain_floor", "anchor_engine_calls", "anchor_plain_calls",
        "anchor_engine_precision", "anchor_plain_precision", "anchor_engine_mb", "anchor_plain_mb", "full",
        "full_model", "full_calls",
        "anchor_engine_lower", "anchor_plain_lower", "anchor_engine_met", "anchor_plain_met")}
    version = ModelVersion(name=name, version=1, adapter_spec={}, artifact_sha256=None, schema=schema,
                           background_sha256="bench", background_rows=200, description=None,
                           registered_at=pd.Timestamp.now(tz="UTC").to_pydatetime(), registered_by="bench",
                           aliases=(), lineage=None)  # type: ignore[arg-type]
    full_explainers = VersionExplainers(version, SklearnAdapter(estimator), schema.from_matrix(background))
    reasons = ReasonMap.load(Settings().resolved_policies_dir / REASON_CODES_FILE)
    policy = load_policy(Settings().policy_file)
    for i, x in enumerate(xs):
        seed = 1000 + i
        # LIME: engine (6 neighbourhoods, one call) vs 6 plain calls.
        started = time.perf_counter()
        lime_engine.explain(x, seed=seed, params=params_lime)
        out["lime_engine"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for r in range(params_lime.repeats + 1):
            plain_lime.plain_explainer(seed + r).explain_instance(
                x, plain_space.predict, labels=(space.adverse_index,), num_features=len(schema.features),
                num_samples=params_lime.num_samples)
        out["lime_plain"].append(time.perf_counter() - started)

        target = int(space.predict_class(x[None])[0])
        # Anchor: engine. Timed alone; its peak memory in a second, traced run (tracing slows it).
        recorder.reset()
        started = time.perf_counter()
        adverse = target == space.adverse_index  # the rule at cutoff 0.5: the more probable of two classes
        engine_result = anchor_engine.explain(x, adverse=adverse, cutoff=0.5, seed=seed, params=params_anchor)
        out["anchor_engine"].append(time.perf_counter() - started)
        out["anchor_engine_model"].append(space.stats.seconds)
        out["anchor_engine_calls"].append(space.stats.calls)
        out["anchor_engine_floor"].append(recorder.floor())
        out["anchor_engine_precision"].append(engine_result.fresh_precision)
        def engine_search(x: np.ndarray = x, seed: int = seed, adverse: bool = adverse) -> AnchorOutcome:
            return anchor_engine.explain(x, adverse=adverse, cutoff=0.5, seed=seed, params=params_anchor)

        out["anchor_engine_mb"].append(peak_mb(engine_search))

        # Anchor: the reference engine, plain anchor-exp's own search at the same settings, as a request
        # selects it (anchor engine "anchor-exp"), calling predict_proba on a DataFrame as its users do.
        def plain_search(x: np.ndarray = x, seed: int = seed, adverse: bool = adverse) -> AnchorOutcome:
            return reference_engine.explain(x, adverse=adverse, cutoff=0.5, seed=seed, params=params_reference)

        plain_recorder.reset()
        started = time.perf_counter()
        plain = plain_search()
        out["anchor_plain"].append(time.perf_counter() - started)
        out["anchor_plain_model"].append(plain_space.stats.seconds)
        out["anchor_plain_calls"].append(plain_space.stats.calls)
        out["anchor_plain_floor"].append(plain_recorder.floor())
        out["anchor_plain_mb"].append(peak_mb(plain_search))
        out["anchor_plain_precision"].append(plain.fresh_precision)
        out["anchor_plain_lower"].append(plain.fresh_precision_lower_95)
        out["anchor_plain_met"].append(float(plain.threshold_met))
        out["anchor_engine_lower"].append(engine_result.fresh_precision_lower_95)
        out["anchor_engine_met"].append(float(engine_result.threshold_met))

        stats = full_explainers.space.stats
        model_before, calls_before = stats.seconds, stats.calls
        started = time.perf_counter()
        explain_instance(full_explainers, schema.from_matrix(x[None]).iloc[0].to_dict(), options=ExplainOptions.build(
            seed=seed), decision_id=f"bench-{i}", requested_by="bench", reason_map=reasons, policy=policy)
        out["full"].append(time.perf_counter() - started)
        out["full_model"].append(stats.seconds - model_before)  # the model's own time, rows already distinct
        out["full_calls"].append(stats.calls - calls_before)
    return out


def report(name: str, out: dict[str, list[float]]) -> dict[str, bool]:
    med = {k: statistics.median(v) for k, v in out.items()}
    p90 = {k: percentile(v, 90) for k, v in out.items()}
    lime_ratio = med["lime_engine"] / med["lime_plain"]
    anchor_speedup = med["anchor_plain"] / med["anchor_engine"]
    engine_over_floor = statistics.median(e / f for e, f in zip(out["anchor_engine"], out["anchor_engine_floor"],
                                                              strict=True))
    plain_over_floor = statistics.median(e / f for e, f in zip(out["anchor_plain"], out["anchor_plain_floor"],
                                                             strict=True))
    print(f"\n== {name}: {len(out['full'])} applicants ==")
    print(f"{'step':34} {'median s':>9} {'p90 s':>8} {'model share':>11} {'calls':>6} {'peak MB':>8}")
    rows = [
        ("LIME engine (6 neighbourhoods)", "lime_engine", None, None, None),
        ("LIME plain x6", "lime_plain", None, None, None),
        ("Anchor engine (1 search + fresh)", "anchor_engine", "anchor_engine_model", "anchor_engine_calls",
         "anchor_engine_mb"),
        ("Anchor plain anchor-exp", "anchor_plain", "anchor_plain_model", "anchor_plain_calls", "anchor_plain_mb"),
        ("Full default explanation", "full", "full_model", "full_calls", None),
    ]
    for label, key, model, calls, mb in rows:
        share = f"{statistics.median(m / t for m, t in zip(out[model], out[key], strict=True)):.0%}" if model else ""
        print(f"{label:34} {med[key]:9.3f} {p90[key]:8.3f} {share:>11} "
              f"{(f'{med[calls]:.0f}' if calls else ''):>6} {(f'{max(out[mb]):.1f}' if mb else ''):>8}")
    print(f"LIME engine / plain: {lime_ratio:.2f}x   Anchor plain / engine: {anchor_speedup:.2f}x   "
          f"Anchor time / floor: engine {engine_over_floor:.1f}x, plain {plain_over_floor:.1f}x "
          f"(floor median {med['anchor_engine_floor'] * 1000:.1f} ms)")
    print(f"Anchor precision re-estimated on 1,000 fresh samples: engine median {med['anchor_engine_precision']:.3f} "
          f"(mean {statistics.mean(out['anchor_engine_precision']):.3f}), plain median "
          f"{med['anchor_plain_precision']:.3f} (mean {statistics.mean(out['anchor_plain_precision']):.3f})")
    print(f"Anchor engines side by side (batched | anchor-exp): fresh precision mean "
          f"{statistics.mean(out['anchor_engine_precision']):.3f} | "
          f"{statistics.mean(out['anchor_plain_precision']):.3f}"
          f", 95% lower bound mean {statistics.mean(out['anchor_engine_lower']):.3f} | "
          f"{statistics.mean(out['anchor_plain_lower']):.3f}, threshold met (on the lower bound) "
          f"{statistics.mean(out['anchor_engine_met']):.0%} | {statistics.mean(out['anchor_plain_met']):.0%}, "
          f"median time {med['anchor_engine']:.3f} | {med['anchor_plain']:.3f} s")
    return {
        "LIME engine <= 1.1x plain": lime_ratio <= 1.1,
        "Anchor engine >= 4x faster than plain": anchor_speedup >= 4.0,
        "Anchor re-estimated precision no worse (mean)": statistics.mean(out["anchor_engine_precision"])
        >= statistics.mean(out["anchor_plain_precision"]),
        "Anchor under 10x the floor": engine_over_floor < 10.0,
        "Anchor peak memory < 100 MB": max(out["anchor_engine_mb"]) < 100.0,
        **({"Full explanation median < 1.5 s": med["full"] < 1.5} if name == "credit" else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applicants", type=int, default=20)
    parser.add_argument("--models", default="credit,forest,logistic")
    parser.add_argument("--arms", type=int, default=AnchorParams().arms_per_step,
                        help="anchor LUCB arms sampled per step (the engine's default unless given)")
    args = parser.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    built = models(names)
    verdicts: dict[str, dict[str, bool]] = {}
    for name in names:
        verdicts[name] = report(name, run_model(name, built[name], built["data"], args.applicants, args.arms))
    print("\n== Targets ==")
    for name, checks in verdicts.items():
        for target, met in checks.items():
            print(f"{name:9} {target:48} {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
