"""Anchor explanations in the features' own words, with re-estimated precision and stability."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from xai_gov.explain.method import Bound, Job, Method, Metric, Outcome
from xai_gov.explain.methods.anchor_search import (
    SAMPLERS,
    AnchorParams,
    AnchorSearch,
    AnchorSpace,
    Predicate,
    SearchResult,
    run_lockstep,
)
from xai_gov.explain.remembering import Ahead, RememberingSpace
from xai_gov.explain.space import ModelSpace
from xai_gov.quality.fidelity import precision_lower_bound
from xai_gov.quality.sparsity import anchor_sparsity
from xai_gov.quality.stability import RuleStability, rule_stability
from xai_gov.registry.missing import cuts as missing_cuts

FRESH_SEED_OFFSET = 20_000
#: Distinct rows per search a call to a remote model carries beyond the step's own, for the steps after
#: it (``AnchorSearch.speculate``); the result is the same with any value, only calls and rows differ.
LOOKAHEAD_ROWS = 8_000


@dataclass(frozen=True)
class AnchorOutcome:
    conditions: tuple[str, ...]  # readable, one per feature, e.g. "Credit amount (DM) <= 3972"
    features: tuple[str, ...]
    search_precision: float
    coverage: float  # share of background applicants the rule covers
    fresh_precision: float
    fresh_precision_lower_95: float
    fresh_samples: int
    threshold: float
    threshold_met: bool  # judged on the 95% lower bound of the fresh re-estimate
    covers_no_applicant: bool
    stability: RuleStability
    samples: int
    decision: str = "adverse"  # the rule's decision the anchor explains
    engine: str = "batched"  # which search ran: the batched engine, or plain anchor-exp


def threshold_met(lower_95: float, threshold: float) -> bool:
    """An anchor meets its precision target only when the 95% lower bound of its fresh re-estimate does:
    the point estimate alone comes out "met" about half the time for a rule whose true precision is at
    the threshold."""
    return lower_95 >= threshold


class AnchorEngine:
    def __init__(self, space: ModelSpace) -> None:
        self.space = space
        self.anchor_space = AnchorSpace(space.background, space.categorical, missing_cuts(space.schema))
        self._reference: Any = None  # anchor-exp's explainer, built when first asked for

    def label(self, rows: np.ndarray, *, adverse: bool, cutoff: float, ahead: Ahead | None = None) -> np.ndarray:
        """1 where the decision rule decides these rows as it decided the applicant (``ahead``: rows the
        search may ask for next, sent with this call to a remote model, see ``RememberingSpace.predict``)."""
        space = self.space
        if ahead is not None and isinstance(space, RememberingSpace):
            probabilities = space.predict(rows, ahead=ahead)
        else:
            probabilities = space.predict(rows)  # a wrapped predict (explain_bench's recorder) takes rows only
        return (probabilities[:, space.adverse_index] >= cutoff) == adverse

    def _asks_ahead(self) -> bool:
        return isinstance(self.space, RememberingSpace) and self.space.asks_ahead

    def explain(self, x: np.ndarray, *, adverse: bool, cutoff: float, seed: int,
                params: AnchorParams) -> AnchorOutcome:
        """An anchor for the rule's decision on ``x`` (adverse when P(adverse) >= cutoff), by the engine
        ``params.engine`` names: the batched search (default) or plain anchor-exp."""
        if params.engine == "anchor-exp":
            return self._explain_reference(x, adverse=adverse, cutoff=cutoff, seed=seed, params=params)
        searches = self._searches(x, seed, params)
        lookahead = LOOKAHEAD_ROWS if self._asks_ahead() and params.sampler == "per-candidate" else 0
        results = run_lockstep(searches, lambda rows, ahead=None: self.label(rows, adverse=adverse, cutoff=cutoff,
                                                                             ahead=ahead), lookahead=lookahead)
        main, search = results[0], searches[0]
        positives, fresh = search.fresh or (0, 0)
        fresh_precision = positives / fresh if fresh else 0.0
        rules = [frozenset(self.describe(search.state.predicates, r)) for search, r in zip(searches, results,
                                                                                           strict=True)]
        conditions = self.describe(search.state.predicates, main)
        lower = precision_lower_bound(positives, fresh)
        return AnchorOutcome(
            conditions=conditions,
            features=tuple(dict.fromkeys(self.space.schema.features[search.state.predicates[p].feature].name
                                         for p in main.predicates)),
            search_precision=main.precision, coverage=main.coverage, fresh_precision=fresh_precision,
            fresh_precision_lower_95=lower, fresh_samples=fresh,
            threshold=params.threshold, threshold_met=threshold_met(lower, params.threshold),
            covers_no_applicant=main.coverage == 0.0, stability=rule_stability(rules),
            samples=sum(r.samples for r in results), decision="adverse" if adverse else "favourable")

    def _searches(self, x: np.ndarray, seed: int, params: AnchorParams) -> list[AnchorSearch]:
        return [AnchorSearch(self.anchor_space, x, params, np.random.default_rng(seed + r), reestimate=r == 0)
                for r in range(params.repeats)]

    def rows_ahead(self, x: np.ndarray, *, seed: int, params: AnchorParams) -> list[np.ndarray]:
        """The rows the batched search will likely ask for first (they do not depend on the model), to send
        ahead to a remote model with the explanation's first call; none for anchor-exp or the shared sampler."""
        if params.engine != "batched":
            return []
        return [rows for search in self._searches(x, seed, params) for rows in search.first_rows(LOOKAHEAD_ROWS)]

    def _explain_reference(self, x: np.ndarray, *, adverse: bool, cutoff: float, seed: int,
                           params: AnchorParams) -> AnchorOutcome:
        """The same outcome from plain anchor-exp's search; the fresh re-estimate as for the batched engine."""
        from xai_gov.explain.methods.anchor_reference import ReferenceAnchors

        self._reference = self._reference or ReferenceAnchors(self.space, self.anchor_space)
        label = lambda rows: self.label(rows, adverse=adverse, cutoff=cutoff)  # noqa: E731
        found = [self._reference.search(x, label, seed=seed + r, params=params) for r in range(params.repeats)]
        rule, main = found[0]
        fresh_rows = self.anchor_space.sample(x, rule, params.fresh_samples,
                                              np.random.default_rng(seed + FRESH_SEED_OFFSET))
        positives, fresh = int(label(fresh_rows).sum()), params.fresh_samples
        lower = precision_lower_bound(positives, fresh)
        conditions = self.describe(rule, main)
        return AnchorOutcome(
            conditions=conditions,
            features=tuple(dict.fromkeys(self.space.schema.features[p.feature].name for p in rule)),
            search_precision=main.precision, coverage=main.coverage, fresh_precision=positives / fresh,
            fresh_precision_lower_95=lower, fresh_samples=fresh, threshold=params.threshold,
            threshold_met=threshold_met(lower, params.threshold), covers_no_applicant=main.coverage == 0.0,
            stability=rule_stability([frozenset(self.describe(r, result)) for r, result in found]),
            samples=sum(result.samples for _, result in found),
            decision="adverse" if adverse else "favourable", engine="anchor-exp")

    def describe(self, predicates: list[Predicate], result: SearchResult) -> tuple[str, ...]:
        """One readable condition per feature, in the order the search added them."""
        schema = self.space.schema
        by_feature: dict[int, list[Predicate]] = {}
        for p in result.predicates:
            by_feature.setdefault(predicates[p].feature, []).append(predicates[p])
        out = []
        for j, group in by_feature.items():
            feature = schema.features[j]
            if group[0].op == "eq":
                value = group[0].value
                out.append(f"{feature.label} is missing" if value >= len(feature.categories)
                           else f"{feature.label} = {feature.categories[value]}")
                continue
            thresholds = self.anchor_space.thresholds[j]
            lows = [thresholds[p.value] for p in group if p.op == "geq"]
            highs = [thresholds[p.value] for p in group if p.op == "leq"]
            low, high = (max(lows) if lows else None), (min(highs) if highs else None)
            cut = self.anchor_space.missing.get(j)
            if cut is not None and high == cut:
                out.append(f"{feature.label} is missing")
            elif cut is not None and low == cut:
                out.append(f"{feature.label} is given" + (f" and <= {_number(high)}" if high is not None else ""))
            elif low is not None and high is not None:
                out.append(f"{_number(low)} < {feature.label} <= {_number(high)}")
            elif low is not None:
                out.append(f"{feature.label} > {_number(low)}")
            else:
                out.append(f"{feature.label} <= {_number(high)}")
        return tuple(out)


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


class AnchorMethod(Method):
    name = section = "anchor"
    title = "Anchor"
    summary = ("a rule (IF conditions THEN the decision) with its precision re-estimated on fresh samples and "
               "its coverage")
    order = 20
    params = AnchorParams
    bounds: ClassVar[Mapping[str, Bound]] = {
        "threshold": Bound(0.5, 0.999), "delta": Bound(0.001, 0.5), "tau": Bound(0.001, 0.5),
        "epsilon_stop": Bound(0.001, 0.5), "batch_size": Bound(10, 10_000), "beam_size": Bound(1, 10),
        "max_anchor_size": Bound(1, 100, nullable=True), "repeats": Bound(1, 20),
        "fresh_samples": Bound(50, 100_000), "arms_per_step": Bound(2, 64),
        "engine": Bound(choices=("batched", "anchor-exp")), "sampler": Bound(choices=SAMPLERS)}
    parameters_always_stored = True
    costs = ("repeats", "fresh_samples", "batch_size", "beam_size")
    metrics = (
        Metric("fidelity.anchor.search_precision", "The search's own precision estimate (biased upward by its "
               "selection).", "fidelity"),
        Metric("fidelity.anchor.fresh_precision", "Precision re-estimated on fresh synthetic samples that satisfy "
               "the rule.", "fidelity"),
        Metric("fidelity.anchor.fresh_precision_lower_95", "95% lower bound of the re-estimated precision.",
               "fidelity"),
        Metric("fidelity.anchor.coverage", "Share of the reference applicants the rule describes.", "coverage"),
        Metric("stability.anchor.identical_share", "Share of seed pairs whose searches found the identical rule.",
               "stability"),
        Metric("stability.anchor.predicate_jaccard", "Mean Jaccard overlap of the rules' conditions between seeds.",
               "stability"),
        Metric("sparsity.anchor.rule_length", "Conditions in the rule.", "sparsity"),
    )

    def build(self, space: ModelSpace) -> AnchorEngine:
        return AnchorEngine(space)

    def rows_ahead(self, state: AnchorEngine, x: np.ndarray, *, seed: int, params: AnchorParams) -> list[np.ndarray]:
        return state.rows_ahead(x, seed=seed, params=params)

    def params_of_record(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """A record whose anchor parameters name no sampler was explained with the stream there was before
        the choice existed ("shared"), and replays with it."""
        return {"sampler": "shared", **super().params_of_record(stored)}

    def run(self, state: AnchorEngine, job: Job) -> Outcome:
        # The anchor explains the rule's decision, not the more probable class.
        outcome = state.explain(job.x, adverse=job.adverse, cutoff=job.cutoff, seed=job.seed, params=job.params)
        return Outcome(section=_section(outcome), scores={
            "fidelity.anchor": {
                "search_precision": outcome.search_precision, "fresh_precision": outcome.fresh_precision,
                "fresh_precision_lower_95": outcome.fresh_precision_lower_95, "fresh_samples": outcome.fresh_samples,
                "coverage": outcome.coverage, "covers_no_applicant": outcome.covers_no_applicant,
                "threshold": outcome.threshold, "threshold_met": outcome.threshold_met,
                "threshold_judged_on": "fresh_precision_lower_95", "engine": outcome.engine},
            "stability.anchor": outcome.stability.to_dict(),
            "sparsity.anchor": anchor_sparsity(outcome.conditions).to_dict()})

    rests_on_features = True

    def features_of(self, section: Mapping[str, Any]) -> list[str]:
        return list(section["features"])

    def glance(self, scores: Mapping[str, Any]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if fit := scores.get("fidelity", {}).get("anchor"):
            out["fidelity"] = [f"anchor precision {fit['fresh_precision']:.3f} on fresh synthetic samples "
                               f"(95% lower bound {fit['fresh_precision_lower_95']:.3f})"]
            out["coverage"] = [f"the anchor rule describes {fit['coverage']:.1%} of the reference applicants"
                               + (" (none: it is specific to this case)" if fit["covers_no_applicant"] else "")]
        if stable := scores.get("stability", {}).get("anchor"):
            out["stability"] = [f"anchor rules identical in {stable['identical_share']:.0%} of seed pairs"]
        if sparse := (scores.get("sparsity") or {}).get("anchor"):
            count = sparse["rule_length"]
            out["sparsity"] = [f"anchor rule of {count} condition{'' if count == 1 else 's'}"]
        return out


def _section(outcome: AnchorOutcome) -> dict[str, Any]:
    """The rule, with the figure to trust first: its precision re-estimated on fresh synthetic samples that
    satisfy the rule (not applicants), and that estimate's 95% lower bound, on which the threshold is judged.
    The search's own estimate is kept, named as such: it is biased upward by the search's selection."""
    return {"rule": list(outcome.conditions), "features": list(outcome.features), "decision": outcome.decision,
            "precision": outcome.fresh_precision, "precision_lower_95": outcome.fresh_precision_lower_95,
            "precision_source": f"re-estimated on {outcome.fresh_samples} fresh synthetic samples that satisfy the "
                                "rule (not applicants)",
            "search_precision_estimate": outcome.search_precision, "coverage": outcome.coverage,
            "threshold": outcome.threshold, "threshold_met": outcome.threshold_met,
            "threshold_judged_on": "the 95% lower bound of the re-estimate", "engine": outcome.engine,
            "samples": outcome.samples}


METHOD = AnchorMethod()
