"""Anchor quality with each sampler stream, on the same German credit applicants (issue 9, item 6).

    OMP_NUM_THREADS=1 .venv/bin/python bench/anchor_stream_bench.py [--applicants 200] [--seeds 0]

The batched anchor search draws its samples from the "shared" stream (one generator per
search, the stream of every anchor stored before ``AnchorParams.sampler`` existed) or the
"per-candidate" stream (each candidate's k-th batch from its own generator: the default,
which lets a remote model be asked ahead). Registers the shipped German credit model
(as a Python function, as bench/http_bench.py registers it locally), runs the anchor step alone for the first
``--applicants`` held-out applicants with each stream and seed, and prints per stream: the
mean fresh precision, how many anchors met the threshold (95% lower bound of the fresh
re-estimate), the mean share of repeat pairs with the identical rule, mean rule length and
mean samples. Figures differ by seed as much as by stream: compare them with --seeds 0,1,2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xai_gov.examples.credit_model import trained
from xai_gov.explain.methods.anchor import METHOD
from xai_gov.explain.methods.anchor_search import SAMPLERS, AnchorParams
from xai_gov.sdk import Client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applicants", type=int, default=200)
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    model = trained()
    with tempfile.TemporaryDirectory() as home:
        client = Client(home=home, database_url=f"sqlite:///{home}/bench.db")
        version = client.register("xai_gov.examples.credit_model:predict_proba", model.X_train, model.y_train,
                                  name="credit", code_path=None, adverse_class="bad", class_names=["bad", "good"])
        explainers = client.explanations.explainers(version.ref)
        space, engine, rule = explainers.space, explainers.state(METHOD), version.rule
        X = version.schema.to_matrix(pd.DataFrame(model.X_test.iloc[:args.applicants]))
        adverse = space.predict(X)[:, space.adverse_index] >= rule.cutoff
        print(f"German credit, {len(X)} held-out applicants ({int(adverse.sum())} declined), seeds {seeds}, "
              f"anchor step alone, default parameters, model path: {space.model_path}")
        print(f"{'sampler':14} {'seed':>4} {'fresh precision':>16} {'threshold met':>14} {'identical rules':>16} "
              f"{'rule length':>12} {'samples':>8}")
        for sampler in SAMPLERS:
            for seed in seeds:
                params = AnchorParams(sampler=sampler)
                outcomes = [engine.explain(x, adverse=bool(a), cutoff=rule.cutoff, seed=seed, params=params)
                            for x, a in zip(X, adverse, strict=True)]
                print(f"{sampler:14} {seed:4} {statistics.mean(o.fresh_precision for o in outcomes):16.3f} "
                      f"{sum(o.threshold_met for o in outcomes):10} / {len(outcomes):<3}"
                      f"{statistics.mean(o.stability.identical_share for o in outcomes):16.3f} "
                      f"{statistics.mean(len(o.conditions) for o in outcomes):12.2f} "
                      f"{statistics.mean(o.samples for o in outcomes):8.0f}", flush=True)
        client.close()


if __name__ == "__main__":
    main()
