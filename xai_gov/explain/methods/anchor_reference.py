"""The reference anchor engine: plain anchor-exp (Ribeiro et al. 2018), for anyone who must cite it.

Selected per request with the anchor parameter ``engine="anchor-exp"`` (the default,
``"batched"``, is ``anchor_search``). The sampler settings are the same — the
background sample, quartile bins, threshold, delta, tau (anchor-exp's epsilon),
epsilon_stop, batch size, beam size, maximum anchor size, repeats — but the search
is anchor-exp's own ``AnchorBaseBeam.anchor_beam`` over its own
``AnchorTabularExplainer.get_sample_fn``, one model call per sampling step.

What is the same as the batched engine afterwards: the rule is re-estimated on
``fresh_samples`` fresh synthetic samples that satisfy it (a separate seed), with
its 95% Clopper-Pearson lower bound, on which the threshold is judged; coverage
is the share of background applicants the rule covers; stability compares the
repeats' rules. anchor-exp draws from ``np.random``, which its modules see as each
search's own generator (``xai_gov.explain.library_rng``; seeded per repeat: ``seed + repeat``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from anchor import anchor_base, anchor_tabular

from xai_gov.explain import library_rng
from xai_gov.explain.methods.anchor_search import AnchorParams, AnchorSpace, Predicate, SearchResult
from xai_gov.explain.space import ModelSpace

# anchor-exp draws from np.random: each search sees its own generator (library_rng), never the global one.
library_rng.use_local_generators("anchor.anchor_tabular", "anchor.anchor_base")


class ReferenceAnchors:
    """anchor-exp's explainer over a version's background, built once."""

    def __init__(self, space: ModelSpace, anchor_space: AnchorSpace) -> None:
        schema = space.schema
        self.space, self.anchor_space = space, anchor_space
        self.explainer = anchor_tabular.AnchorTabularExplainer(
            list(schema.class_names), schema.names, space.background,
            {j: list(schema.features[j].categories) for j in space.categorical})

    def search(self, x: np.ndarray, label: Callable[[np.ndarray], np.ndarray], *, seed: int,
               params: AnchorParams) -> tuple[list[Predicate], SearchResult]:
        """One anchor-exp search; the rule as predicates over the anchor space, and the search's figures."""
        calls = {"rows": 0}

        def classify(rows: np.ndarray) -> np.ndarray:
            calls["rows"] += len(rows)
            return label(np.asarray(rows, dtype=float)).astype(int)

        with library_rng.seeded(seed):  # anchor-exp samples from np.random: this call's own generator
            sample_fn, mapping = self.explainer.get_sample_fn(x, classify, desired_label=1)
            found = anchor_base.AnchorBaseBeam.anchor_beam(
                sample_fn, delta=params.delta, epsilon=params.tau, batch_size=params.batch_size,
                desired_confidence=params.threshold, beam_size=params.beam_size,
                epsilon_stop=params.epsilon_stop, max_anchor_size=params.max_anchor_size)
        rule = [Predicate(int(mapping[p][0]), str(mapping[p][1]), int(mapping[p][2])) for p in found["feature"]]
        precision = found["precision"][-1] if found["precision"] else float(found.get("all_precision", 1.0))
        covered = self.anchor_space.membership(self.anchor_space.background, self.anchor_space.binned, rule)
        coverage = float(covered.all(axis=1).mean()) if rule else 1.0
        return rule, SearchResult(predicates=tuple(range(len(rule))), precision=float(precision),
                                  coverage=coverage, samples=calls["rows"])
