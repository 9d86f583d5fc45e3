"""Anchor search (Ribeiro et al. 2018), as anchor-exp runs it, with the model calls batched.

The predicates, the conditional sampler and the beam search with KL-LUCB follow
``anchor.anchor_tabular`` / ``anchor.anchor_base`` (anchor-exp 0.0.2): quartile
bins of the background; ``eq`` predicates for categories, ``leq``/``geq`` on bins
for numbers; samples are background rows with the anchored features forced into
the rule; samples drawn for one candidate count for every candidate they satisfy.

What differs is only how samples reach the model. The search is a generator: it
yields the rows it needs labelled and receives their labels, so several
searches (the stability repeats) run in lockstep and share one model call per
step, and within a search every candidate whose confidence bound still matters
is sampled in the same step (anchor-exp samples two candidates per call). The
stopping rules and confidence bounds are anchor-exp's, so each step's guarantee
is the same; more candidates are sampled per step, in fewer steps.

Where the samples come from is the parameter ``sampler``:

- ``"per-candidate"`` (the default since issue 9, item 6): the k-th batch of
  candidate t is drawn from a generator seeded by the search's seed, t and k, so
  the rows a search asks for do not depend on the order in which candidates are
  sampled. That lets a model with a high cost per call (a model served over HTTP)
  be asked ahead: ``run_lockstep(..., lookahead=N)`` adds to each step's call the
  batches the searches may ask for next (``AnchorSearch.speculate``), and the
  model space keeps their predictions for the steps that do ask. The search's
  decisions, and so its result, are the same with or without lookahead: only the
  number of calls differs.
- ``"shared"``: every batch from the search's one generator, in the order asked
  (the stream of every anchor stored before the choice existed; a stored record
  whose anchor parameters name no sampler was explained with it, and replays
  with it). It cannot look ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import numpy as np

from xai_gov.explain.methods.anchor_ahead import FRESH_DRAW, AskingAhead, Tuple

#: The sampler streams (``AnchorParams.sampler``): the default first; "shared" is the one before it existed.
SAMPLERS = ("per-candidate", "shared")
Search = Generator[np.ndarray, np.ndarray, "SearchResult"]


@dataclass(frozen=True)
class AnchorParams:
    threshold: float = 0.95
    delta: float = 0.1
    tau: float = 0.15  # anchor-exp's epsilon for the beam's LUCB
    epsilon_stop: float = 0.05
    batch_size: int = 100
    # anchor-exp's explain_instance declares beam_size=4 but does not pass it on: its search runs with 1.
    beam_size: int = 1
    max_anchor_size: int | None = None
    repeats: int = 3
    fresh_samples: int = 1000
    # LUCB arms sampled per step. anchor-exp samples 2 (its upper and lower contenders), one call each;
    # sampling the 8 most contested in one call keeps the stopping rule and its guarantee and takes fewer
    # calls: bench/explain_bench.py --arms 2|4|8 on a 200-tree forest, 10 applicants: 8 was 9.3x the floor.
    arms_per_step: int = 8
    # Which search runs: "batched" (this module, the default) or "anchor-exp" (the published implementation,
    # xai_gov.explain.methods.anchor_reference; same sampler settings, its own search, one model call per step).
    engine: str = "batched"
    # Where the batched search's samples come from (see the module's docstring): "per-candidate", the default,
    # or "shared", the stream of the anchors stored before this parameter existed. Stored only when it is not
    # "shared", so those records' parameters read as they did (and a record without it replays with "shared").
    sampler: str = "per-candidate"

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "threshold": self.threshold, "delta": self.delta, "tau": self.tau, "epsilon_stop": self.epsilon_stop,
            "batch_size": self.batch_size, "beam_size": self.beam_size, "max_anchor_size": self.max_anchor_size,
            "repeats": self.repeats, "fresh_samples": self.fresh_samples, "arms_per_step": self.arms_per_step,
            "engine": self.engine, "discretizer": "quartile"}
        return out if self.sampler == "shared" else {**out, "sampler": self.sampler}


@dataclass(frozen=True)
class Predicate:
    feature: int
    op: str  # "eq" (category index), "leq" (bin <= value), "geq" (bin > value)
    value: int


@dataclass(frozen=True)
class SearchResult:
    predicates: tuple[int, ...]  # in the order the search added them
    precision: float  # the search's own estimate
    coverage: float  # share of background rows satisfying the rule
    samples: int


class AnchorSpace:
    """Bins and predicates over the background, built once per model version."""

    def __init__(self, background: np.ndarray, categorical: list[int],
                 missing: dict[int, float] | None = None) -> None:
        self.background = background
        self.categorical = set(categorical)
        self.missing = dict(missing or {})  # nullable number -> the cut below which a value is missing
        self.thresholds: dict[int, np.ndarray] = {}
        for j in range(background.shape[1]):
            if j in self.missing:  # "missing" is a bin of its own, then the quartiles of the values present
                column = background[:, j]
                present = column[column > self.missing[j]]
                quartiles = np.percentile(present, [25, 50, 75]) if len(present) else np.array([])
                self.thresholds[j] = np.unique(np.concatenate([[self.missing[j]], quartiles]))
            elif j not in self.categorical:  # the quartiles LIME's QuartileDiscretizer uses
                self.thresholds[j] = np.unique(np.percentile(background[:, j], [25, 50, 75]))
        self.binned = self.discretize(background)

    def discretize(self, rows: np.ndarray) -> np.ndarray:
        binned = np.array(rows, dtype=float, copy=True)
        for j, qts in self.thresholds.items():
            binned[:, j] = np.searchsorted(qts, rows[:, j])
        return binned

    def predicates(self, x: np.ndarray) -> list[Predicate]:
        """anchor-exp's mapping: eq for categories; for binned numbers leq v (v >= x's bin, not the last)
        and geq v (v < x's bin)."""
        binned = self.discretize(x.reshape(1, -1))[0]
        out: list[Predicate] = []
        for j in range(len(x)):
            if j in self.categorical:
                out.append(Predicate(j, "eq", int(x[j])))
                continue
            bins = len(self.thresholds[j]) + 1
            for v in range(bins):
                if binned[j] <= v and v != bins - 1:
                    out.append(Predicate(j, "leq", v))
                elif binned[j] > v:
                    out.append(Predicate(j, "geq", v))
        return out

    def membership(self, rows: np.ndarray, binned: np.ndarray, predicates: list[Predicate]) -> np.ndarray:
        """Boolean matrix: row i satisfies predicate p."""
        out = np.empty((len(rows), len(predicates)), dtype=bool)
        for p, predicate in enumerate(predicates):
            column = binned[:, predicate.feature]
            if predicate.op == "eq":
                out[:, p] = rows[:, predicate.feature] == predicate.value
            elif predicate.op == "leq":
                out[:, p] = column <= predicate.value
            else:
                out[:, p] = column > predicate.value
        return out

    def sample(self, x: np.ndarray, rule: list[Predicate], n: int, rng: np.random.Generator) -> np.ndarray:
        """Background rows with the rule's features forced into it (anchor-exp's sample_from_train)."""
        index = rng.integers(0, len(self.background), n)
        rows = self.background[index].copy()
        binned = self.binned[index]
        lower: dict[int, int] = {}
        upper: dict[int, int] = {}
        for predicate in rule:
            if predicate.op == "eq":
                rows[:, predicate.feature] = predicate.value
            elif predicate.op == "geq":
                lower[predicate.feature] = max(lower.get(predicate.feature, -1), predicate.value)
            else:
                upper[predicate.feature] = min(upper.get(predicate.feature, 10**9), predicate.value)
        for j in set(lower) | set(upper):
            low, high = lower.get(j, -1), upper.get(j, 10**9)
            outside = (binned[:, j] <= low) | (binned[:, j] > high)
            if not outside.any():
                continue
            options = self.background[(self.binned[:, j] > low) & (self.binned[:, j] <= high), j]
            rows[outside, j] = rng.choice(options, int(outside.sum())) if options.size else x[j]
        return rows


@dataclass
class _State:
    predicates: list[Predicate]
    coverage_members: np.ndarray  # background rows x predicates
    members: list[np.ndarray] = field(default_factory=list)  # per drawn batch: rows x predicates
    labels: list[np.ndarray] = field(default_factory=list)
    t_idx: dict[Tuple, np.ndarray] = field(default_factory=dict)
    t_n: dict[Tuple, float] = field(default_factory=dict)
    t_pos: dict[Tuple, float] = field(default_factory=dict)
    t_order: dict[Tuple, list[int]] = field(default_factory=dict)
    t_coverage: dict[Tuple, float] = field(default_factory=dict)
    total: int = 0

    def all_members(self) -> np.ndarray:
        if not self.members:
            return np.zeros((0, len(self.predicates)), dtype=bool)
        return np.vstack(self.members)

    def all_labels(self) -> np.ndarray:
        return np.concatenate(self.labels) if self.labels else np.zeros(0)


class AnchorSearch(AskingAhead):
    """One anchor search for one instance, driven by ``run_lockstep``; what it may ask for next:
    ``AskingAhead`` (the per-candidate sampler)."""

    def __init__(self, space: AnchorSpace, x: np.ndarray, params: AnchorParams, rng: np.random.Generator,
                 *, reestimate: bool = False) -> None:
        self.space, self.x, self.params, self.rng = space, x, params, rng
        self.per_candidate = params.sampler != "shared"
        # the seed of every candidate's own stream (per-candidate sampler)
        self.root = int(rng.integers(2**62)) if self.per_candidate else 0
        self.reestimate = reestimate
        predicates = space.predicates(x)
        coverage = space.membership(space.background, space.binned, predicates)
        self.state = _State(predicates=predicates, coverage_members=coverage)
        self.fresh: tuple[int, int] | None = None  # (positives, samples) on fresh samples of the final rule
        self.draws: dict[Tuple, int] = {}  # batches drawn so far per candidate
        self.drawn: dict[tuple[Tuple, int, int], np.ndarray] = {}  # rows drawn ahead, by (t, k, n)
        self.stage: tuple[str, list[Tuple]] = ("empty", [])  # what the search is doing, for speculate()
        self.pending: np.ndarray | None = None  # rows asked for and not yet labelled

    # -- sampling ---------------------------------------------------------------------

    def _take(self, t: Tuple, n: int) -> np.ndarray:
        if not self.per_candidate:
            return self.space.sample(self.x, [self.state.predicates[p] for p in t], n, self.rng)
        k = self.draws.get(t, 0)
        self.draws[t] = k + 1
        rows = self.rows(t, k, n)
        del self.drawn[(t, k, n)]
        return rows

    def _draw(self, requests: list[tuple[Tuple, int]]) -> Generator[np.ndarray, np.ndarray, None]:
        state = self.state
        batches = [self._take(t, n) for t, n in requests]
        self.pending = np.vstack(batches)
        labels = yield self.pending
        self.pending = None
        start = 0
        for (t, n), rows in zip(requests, batches, strict=True):
            batch_labels = np.asarray(labels[start:start + n], dtype=float)
            start += n
            members = self.space.membership(rows, self.space.discretize(rows), state.predicates)
            state.members.append(members)
            state.labels.append(batch_labels)
            new = np.arange(state.total, state.total + n)
            state.total += n
            state.t_idx[t] = np.concatenate([state.t_idx.get(t, np.zeros(0, dtype=int)), new])
            state.t_n[t] = state.t_n.get(t, 0.0) + n
            state.t_pos[t] = state.t_pos.get(t, 0.0) + float(batch_labels.sum())

    # -- anchor-exp's beam search ------------------------------------------------------------

    def _make_tuples(self, previous: list[Tuple]) -> list[Tuple]:
        state = self.state
        members, labels = state.all_members(), state.all_labels()
        if not previous:
            tuples: list[Tuple] = [(p,) for p in range(len(state.predicates))]
            for t in tuples:
                idx = np.nonzero(members[:, t[0]])[0] if len(members) else np.zeros(0, dtype=int)
                state.t_idx[t], state.t_n[t], state.t_pos[t] = idx, float(len(idx)), float(labels[idx].sum())
                state.t_order[t] = [t[0]]
                state.t_coverage[t] = float(state.coverage_members[:, t[0]].mean())
            return tuples
        new_tuples: list[Tuple] = []
        seen: set[Tuple] = set()
        for f in range(len(state.predicates)):
            for t in previous:
                new_t = tuple(sorted(set(t) | {f}))
                if len(new_t) != len(t) + 1 or new_t in seen:
                    continue
                seen.add(new_t)
                new_tuples.append(new_t)
                state.t_order[new_t] = [*state.t_order[t], f]
                state.t_coverage[new_t] = float(state.coverage_members[:, list(new_t)].all(axis=1).mean())
                parent = state.t_idx[t]
                idx = parent[members[parent, f]] if len(parent) else parent
                state.t_idx[new_t], state.t_n[new_t] = idx, float(len(idx))
                state.t_pos[new_t] = float(labels[idx].sum())
        return new_tuples

    def _lucb(self, tuples: list[Tuple], top_n: int) -> Generator[np.ndarray, np.ndarray, list[int]]:
        params, state = self.params, self.state
        empty = [t for t in tuples if state.t_n[t] == 0]
        self.stage = ("lucb", tuples)
        if empty:
            yield from self._draw([(t, 1) for t in empty])
        if len(tuples) == top_n:
            return list(range(len(tuples)))
        step = 1
        while True:
            n = np.array([state.t_n[t] for t in tuples])
            means = np.array([state.t_pos[t] for t in tuples]) / n
            order = np.argsort(means, kind="stable")
            chosen, rest = order[-top_n:], order[:-top_n]
            beta = _compute_beta(len(tuples), step, params.delta)
            ub = _kl_upper(means[rest], beta / n[rest])
            lb = _kl_lower(means[chosen], beta / n[chosen])
            ut, lt = rest[int(np.argmax(ub))], chosen[int(np.argmin(lb))]
            if ub.max() - lb.min() <= params.tau:
                return [int(i) for i in np.argsort(means, kind="stable")[-top_n:]]
            # anchor-exp samples the upper contender ut and the lower lt; with arms_per_step > 2 the next
            # most contested arms on each side are sampled in the same step.
            extra = max(params.arms_per_step - 2, 0)
            uppers = [int(rest[i]) for i in np.argsort(-ub, kind="stable")[:1 + extra // 2]]
            lowers = [int(chosen[i]) for i in np.argsort(lb, kind="stable")[:1 + extra - extra // 2]]
            contested = sorted({int(ut), int(lt), *uppers, *lowers})
            yield from self._draw([(tuples[i], params.batch_size) for i in contested])
            step += 1

    def run(self) -> Search:
        params, state = self.params, self.state
        n_predicates = len(state.predicates)
        max_size = params.max_anchor_size or n_predicates
        best_of_size: dict[int, list[Tuple]] = {0: []}
        best_coverage: float = -1.0
        best: Tuple = ()
        beta = np.log(1.0 / (params.delta / (1 + (params.beam_size - 1) * n_predicates)))
        empty_rule_holds = yield from self._sample_empty_rule()
        size = 1
        while size <= max_size and not empty_rule_holds:
            tuples = [t for t in self._make_tuples(best_of_size[size - 1]) if state.t_coverage[t] > best_coverage]
            if not tuples:
                break
            picked = yield from self._lucb(tuples, min(params.beam_size, len(tuples)))
            best_of_size[size] = [tuples[i] for i in picked]
            self.stage = ("refine", best_of_size[size])
            while True:  # refine the chosen candidates' precision, all in one step each time
                unsure = [t for t in best_of_size[size] if self._unsure(t, beta)]
                if not unsure:
                    break
                yield from self._draw([(t, params.batch_size) for t in unsure])
            stop = False
            for t in best_of_size[size]:
                mean = state.t_pos[t] / state.t_n[t]
                low = float(_kl_lower(np.array([mean]), np.array([beta / state.t_n[t]]))[0])
                if mean >= params.threshold and low > params.threshold - params.epsilon_stop \
                        and state.t_coverage[t] > best_coverage:
                    best_coverage, best = state.t_coverage[t], t
                    stop = best_coverage == 1
            if stop:
                break
            size += 1
        if best == () and not empty_rule_holds:
            # No candidate met the threshold: the most precise of every size's best, as anchor-exp does.
            candidates = [t for s in range(size) for t in best_of_size.get(s, [])]
            if candidates:
                best = candidates[(yield from self._lucb(candidates, 1))[0]]
        result = SearchResult(predicates=tuple(state.t_order.get(best, [])),
                              precision=state.t_pos[best] / state.t_n[best],
                              coverage=state.t_coverage.get(best, 1.0), samples=state.total)
        if self.reestimate:
            self.stage = ("fresh", [best])
            if self.per_candidate:
                rows = self.rows(best, FRESH_DRAW, params.fresh_samples)
            else:
                rows = self.space.sample(self.x, [state.predicates[p] for p in result.predicates],
                                         params.fresh_samples, self.rng)
            labels = yield rows
            self.fresh = (int(np.sum(labels)), params.fresh_samples)
        return result

    def _sample_empty_rule(self) -> Generator[np.ndarray, np.ndarray, bool]:
        """anchor-exp's start: sample the empty rule while its precision is high but unproven.
        True when the model gives nearly everyone this class, so no predicate is needed."""
        params, state = self.params, self.state
        beta = np.log(1.0 / params.delta)
        yield from self._draw([((), 1)])
        while True:
            mean = state.t_pos[()] / state.t_n[()]
            low = float(_kl_lower(np.array([mean]), np.array([beta / state.t_n[()]]))[0])
            if not (mean > params.threshold and low < params.threshold - params.tau):
                return low > params.threshold
            yield from self._draw([((), params.batch_size)])

    def _unsure(self, t: Tuple, beta: float) -> bool:
        params, state = self.params, self.state
        mean = state.t_pos[t] / state.t_n[t]
        level = np.array([beta / state.t_n[t]])
        low = float(_kl_lower(np.array([mean]), level)[0])
        high = float(_kl_upper(np.array([mean]), level)[0])
        return bool((mean >= params.threshold and low < params.threshold - params.epsilon_stop)
                    or (mean < params.threshold and high >= params.threshold + params.epsilon_stop))


def run_lockstep(searches: list[AnchorSearch], label: Callable[..., np.ndarray], *,
                 lookahead: int = 0) -> list[SearchResult]:
    """Run searches together: at each step, every search's rows go to the model in one call.

    With ``lookahead`` (rows per search), ``label`` is also given ``ahead``: a function returning the rows
    the searches may ask for next (``AnchorSearch.speculate``), for a model space that keeps predictions,
    to send with the call should the step need one."""
    generators = [search.run() for search in searches]
    results: list[SearchResult | None] = [None] * len(generators)
    pending: dict[int, np.ndarray] = {}
    for i, generator in enumerate(generators):
        try:
            pending[i] = next(generator)
        except StopIteration as done:
            results[i] = done.value
    while pending:
        order = sorted(pending)
        rows = np.vstack([pending[i] for i in order])
        if lookahead:
            active = [searches[i] for i in order]
            labels = label(rows, ahead=lambda active=active: [b for s in active for b in s.speculate(lookahead)])
        else:
            labels = label(rows)
        start = 0
        for i in order:
            size = len(pending.pop(i))
            try:
                pending[i] = generators[i].send(labels[start:start + size])
            except StopIteration as done:
                results[i] = done.value
            start += size
    return [r for r in results if r is not None]


def _compute_beta(n_features: int, t: int, delta: float) -> float:
    alpha, k = 1.1, 405.5
    temp = np.log(k * n_features * (t**alpha) / delta)
    return float(temp + np.log(temp))


_KL_LOW, _KL_HIGH = 0.0000001, 0.9999999999999999  # anchor-exp's clip


def _kl_bernoulli(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(p || q) of Bernoullis, p and q clipped as anchor-exp clips them (``np.minimum(np.maximum())``
    is ``np.clip`` without its wrapper's cost: the bisection below calls this 16 times per bound)."""
    p = np.minimum(np.maximum(p, _KL_LOW), _KL_HIGH)
    q = np.minimum(np.maximum(q, _KL_LOW), _KL_HIGH)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def _kl_upper(p: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Vectorised anchor-exp dup_bernoulli: the largest q with KL(p, q) <= level."""
    return _kl_bound(p, level, upper=True)


def _kl_lower(p: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Vectorised anchor-exp dlow_bernoulli: the smallest q with KL(p, q) <= level."""
    return _kl_bound(p, level, upper=False)


def _kl_bound(p: np.ndarray, level: np.ndarray, *, upper: bool) -> np.ndarray:
    """Bisection (16 steps, as anchor-exp) between p and p -/+ sqrt(level / 2), clipped to [0, 1]."""
    inner = p.astype(float).copy()
    outer = np.clip(p + (1 if upper else -1) * np.sqrt(level / 2.0), 0.0, 1.0)
    for _ in range(16):
        mid = (inner + outer) / 2.0
        beyond = _kl_bernoulli(p, mid) > level
        outer = np.where(beyond, mid, outer)
        inner = np.where(beyond, inner, mid)
    return outer
