"""Counterfactual recourse: xai-gov's search against DiCE's model-agnostic methods (issue 13 item 4).

On held-out German credit applicants the demo model declines (cutoff 0.35 on P(bad), the demo's
immutable and monotone declarations, protected features fixed), each method is asked for 3
counterfactuals changing only the actionable features. Every counterfactual is checked by the
model itself; the figures are computed the same way for both:

- validity: share of returned counterfactuals the model approves under the rule (P(bad) < cutoff);
- found: applicants with at least one valid counterfactual;
- features changed (sparsity) and distance (|change| / the feature's median absolute deviation in
  the background, 1 per category), over the valid ones;
- minimal: share of valid ones where undoing any single change makes the rule decline again;
- seconds per applicant.

DiCE (``pip install -e '.[bench]'``) is given the same features to vary and, for the monotone
feature, a permitted range on its allowed side. Run:

    .venv/bin/python bench/counterfactual_bench.py [--applicants 20] [--methods random,genetic]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from xai_gov.datasets.german_credit import TARGET
from xai_gov.examples import credit_model
from xai_gov.explain.methods.counterfactual import CounterfactualEngine, CounterfactualParams
from xai_gov.explain.space import ModelSpace
from xai_gov.registry.schema import FeatureSchema
from xai_gov.sdk import as_adapter

os.environ.setdefault("TQDM_DISABLE", "1")  # DiCE's progress bars, one per applicant
CUTOFF = 0.35
PROTECTED = ("age", "personal_status_sex", "foreign_worker")


def setting() -> tuple[Any, ModelSpace, pd.DataFrame]:
    trained = credit_model.trained()
    schema = FeatureSchema.infer(trained.X_train, trained.y_train, adverse_class="bad")
    schema = replace(schema, features=tuple(
        replace(f, protected=True if f.name in PROTECTED else None,
                actionable=False if f.name in credit_model.IMMUTABLE else None,
                monotone=credit_model.MONOTONE.get(f.name)) for f in schema.features))
    background = trained.X_train.sample(n=min(500, len(trained.X_train)), random_state=0).sort_index()
    space = ModelSpace(schema, as_adapter(trained.pipeline), schema.to_matrix(background))
    return trained, space, background


def p_bad(pipeline: Any, rows: pd.DataFrame) -> np.ndarray:
    return pipeline.predict_proba(rows[list(pipeline.feature_names_in_)])[:, list(pipeline.classes_).index("bad")]


def judge(pipeline: Any, space: ModelSpace, engine: CounterfactualEngine, applicant: pd.Series,
          counterfactuals: pd.DataFrame) -> dict[str, Any]:
    """The same figures for any method's counterfactuals (native rows)."""
    if counterfactuals is None or counterfactuals.empty:
        return {"returned": 0, "valid": 0, "changed": [], "distance": [], "minimal": []}
    schema = space.schema
    x = schema.to_matrix(applicant.to_frame().T)[0]
    rows = schema.to_matrix(counterfactuals[schema.names])
    p = p_bad(pipeline, counterfactuals)
    out: dict[str, Any] = {"returned": len(rows), "valid": int((p < CUTOFF).sum()), "changed": [], "distance": [],
                           "minimal": []}
    for row, probability in zip(rows, p, strict=True):
        if probability >= CUTOFF:
            continue
        changes = [(j, float(row[j])) for j in range(len(x)) if not np.isclose(row[j], x[j])]
        out["changed"].append(len(changes))
        out["distance"].append(engine.distance(x, changes))
        undone = np.repeat(row.reshape(1, -1), len(changes), axis=0)
        for i, (j, _) in enumerate(changes):
            undone[i, j] = x[j]
        out["minimal"].append(bool((p_bad(pipeline, schema.from_matrix(undone)) >= CUTOFF).all()))
    return out


def ours(space: ModelSpace, engine: CounterfactualEngine, applicant: pd.Series) -> pd.DataFrame:
    schema = space.schema
    x = schema.to_matrix(applicant.to_frame().T)[0]
    outcome = engine.explain(x, cutoff=CUTOFF, protected=PROTECTED, params=CounterfactualParams())
    rows = np.repeat(x.reshape(1, -1), len(outcome.found), axis=0)
    for i, found in enumerate(outcome.found):
        for j, value in found.changes:
            rows[i, j] = value
    return schema.from_matrix(rows)


def dice_explainer(trained: Any, method: str) -> Any:
    import dice_ml

    frame = trained.X_train.assign(**{TARGET: (trained.y_train == "good").astype(int)})
    numeric = [c for c in trained.X_train.columns if pd.api.types.is_numeric_dtype(trained.X_train[c])]
    data = dice_ml.Data(dataframe=frame, continuous_features=numeric, outcome_name=TARGET)
    model = dice_ml.Model(model=trained.pipeline, backend="sklearn", model_type="classifier")
    return dice_ml.Dice(data, model, method=method)


def dice(explainer: Any, space: ModelSpace, applicant: pd.Series, trained: Any, method: str) -> pd.DataFrame:
    vary = [f.name for f in space.schema.features if f.changeable and f.name not in PROTECTED]
    permitted = {}
    for name, direction in credit_model.MONOTONE.items():
        low, high = trained.X_train[name].min(), trained.X_train[name].max()
        permitted[name] = [low, applicant[name]] if direction == "decreasing" else [applicant[name], high]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = explainer.generate_counterfactuals(
            applicant.to_frame().T.astype(trained.X_train.dtypes.to_dict()), total_CFs=3, desired_class=1,
            features_to_vary=vary, permitted_range=permitted, stopping_threshold=1 - CUTOFF,
            **({"random_seed": 0} if method == "random" else {}), verbose=False)
    frame = result.cf_examples_list[0].final_cfs_df
    return None if frame is None else frame.drop(columns=[TARGET], errors="ignore")


def summary(name: str, results: list[dict[str, Any]], seconds: list[float]) -> None:
    returned = sum(r["returned"] for r in results)
    valid = sum(r["valid"] for r in results)
    changed = [c for r in results for c in r["changed"]]
    distance = [d for r in results for d in r["distance"]]
    minimal = [m for r in results for m in r["minimal"]]
    found = sum(1 for r in results if r["valid"])
    print(f"{name:>16}: found for {found}/{len(results)} applicants; {returned} returned, validity "
          f"{valid / returned if returned else float('nan'):.2f}; features changed {np.mean(changed):.2f}; "
          f"distance {np.mean(distance):.2f} (median {np.median(distance):.2f}); minimal "
          f"{np.mean(minimal) if minimal else float('nan'):.2f}; {np.mean(seconds):.3f} s per applicant")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applicants", type=int, default=20)
    parser.add_argument("--methods", default="random,genetic", help="DiCE methods to compare ('' for none)")
    args = parser.parse_args()
    trained, space, _ = setting()
    engine = CounterfactualEngine(space)
    X = trained.X_test
    declined = X[p_bad(trained.pipeline, X) >= CUTOFF].head(args.applicants)
    print(f"{len(declined)} held-out applicants the demo model declines (P(bad) >= {CUTOFF}); 3 counterfactuals "
          f"each; fixed: {', '.join(f.name for f in space.schema.features if not f.changeable or f.name in PROTECTED)}")
    methods: list[tuple[str, str, Any]] = [("xai-gov", "", None)]
    for method in filter(None, args.methods.split(",")):
        try:
            methods.append((f"DiCE {method}", method, dice_explainer(trained, method)))
        except ImportError:
            print(f"DiCE {method}: dice-ml is not installed (pip install -e '.[bench]'); skipped")
    for name, method, explainer in methods:
        results, seconds = [], []
        for _, applicant in declined.iterrows():
            started = time.perf_counter()
            try:
                rows = ours(space, engine, applicant) if explainer is None else dice(explainer, space, applicant,
                                                                                     trained, method)
            except Exception as exc:  # DiCE raises when it finds nothing: count it as nothing found
                rows = None
                if "No counterfactuals found" not in str(exc):
                    print(f"{name}: {type(exc).__name__}: {exc}")
            seconds.append(time.perf_counter() - started)
            results.append(judge(trained.pipeline, space, engine, applicant, rows))
        summary(name, results, seconds)


if __name__ == "__main__":
    main()
