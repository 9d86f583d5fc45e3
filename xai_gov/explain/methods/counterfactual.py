"""Counterfactual recourse: what would have to change for this applicant to be approved (DESIGN §8).

For a decision the version's rule declines, up to ``count`` diverse, minimal sets of
changes to actionable features that bring P(adverse) below the rule's cutoff.
Protected features and features the owner declared immutable never change; a
monotone feature moves only its declared way; a number stays within the owner's
hard limits and the range seen in the background; a missing value may be given
(a declared income) but nothing is ever made missing.

The search runs on the model space and draws no random numbers, so a replay finds
the same sets:

1. Candidates per changeable feature: every other category; for a number, the
   background's quantiles (``grid`` + 1 of them, whole numbers rounded) on the
   allowed side of the applicant's value.
2. Level by level (1 change, 2, ... ``max_changes``), every set of the level is
   scored in one model call. A set that brings P(adverse) below the cutoff is
   found; the ``beam_size`` best of the rest (lowest P(adverse), one per set of
   features) grow by one more change. A set that contains an already found set's
   features is not minimal and is not grown into.
3. A found set's numbers are moved back toward the applicant's values, one feature
   at a time, as far as the decision stays favourable (the smallest change on the
   grid between the two values); then any change the decision no longer needs is
   dropped, so every returned set is minimal: undo any one change and the rule
   declines again.
4. Chosen: by number of changes, then distance, each with a set of features no
   earlier choice's features are contained in (diverse, minimal).
5. Verified: the chosen rows go to the model through its adapter (never the fast
   path), and only those the model approves under the rule are returned, with the
   probability it gave. Where the search itself asked the adapter (no fast path:
   a Python function, a model over HTTP), its answers are the adapter's and are
   not asked again.

For a model with a high cost per call (``RememberingSpace``: a model over HTTP),
every row steps 3 may ask for (each change of a shortlisted set at the
applicant's value, a step back toward it, or its found value) goes with the
first call step 3 needs, up to ``AHEAD_ROWS``: steps 3-5 then take one call, not
one per change and round. The sets found are the same either way.

Scores (``scores["recourse"]``): validity (share of the chosen sets the model
approved on verification), sparsity (features changed) and distance: the sum over
changed numbers of |change| / the median absolute deviation of the feature in the
background (DiCE's proximity for continuous features), plus 1 per category
changed or missing value given.

What it is not: a causal statement or advice. It says what the model would decide
with these values, not that the applicant can reach them, nor that changing one
value would leave the others as they are.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from xai_gov.errors import InvalidInput
from xai_gov.explain.method import Bound, Job, Method, Metric, Outcome
from xai_gov.explain.remembering import RememberingSpace
from xai_gov.explain.space import ModelSpace
from xai_gov.registry import missing

SEARCH = "level-wise search on the model space over actionable features, verified by the model"
FINE_STEPS = 10  # points between the applicant's value and a found value when a number is moved back
#: Distinct rows sent ahead to a remote model for tightening and dropping changes (step 3); the sets found are
#: the same with any value, only the number of calls differs. 3 sets of 3 numeric changes: 3 x 11^3 rows.
AHEAD_ROWS = 4_000

Change = tuple[int, float]  # (feature index, new matrix value)


@dataclass(frozen=True)
class CounterfactualParams:
    count: int = 3
    max_changes: int = 3
    beam_size: int = 10
    grid: int = 10

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Counterfactual:
    changes: tuple[Change, ...]
    search_adverse_probability: float
    adverse_probability: float  # the model's own answer on verification
    distance: float


@dataclass(frozen=True)
class CounterfactualOutcome:
    found: tuple[Counterfactual, ...]
    fixed: dict[int, str]  # feature index -> why it may not change
    verified: int  # chosen sets the model approved on verification
    chosen: int  # chosen sets sent to verification
    sets_scored: int

    @property
    def validity(self) -> float | None:
        return None if not self.chosen else self.verified / self.chosen


class CounterfactualEngine:
    """Per model version: each number's candidate grid and scale, built once from the background."""

    def __init__(self, space: ModelSpace) -> None:
        self.space = space
        self._present: dict[int, np.ndarray] = {}
        self.scale: dict[int, float] = {}
        for j in space.numeric:
            feature = space.schema.features[j]
            column = space.background[:, j]
            if feature.nullable:
                column = column[~missing.is_missing(feature, column)]
            self._present[j] = np.sort(column)
            self.scale[j] = _scale(column)

    def explain(self, x: np.ndarray, *, cutoff: float, protected: Iterable[str],
                params: CounterfactualParams) -> CounterfactualOutcome:
        schema = self.space.schema
        protected = set(protected)
        fixed = {j: ("protected" if f.name in protected or f.protected else "immutable")
                 for j, f in enumerate(schema.features) if f.name in protected or not f.changeable}
        candidates = {j: self._candidates(j, x[j], params.grid)
                      for j in range(len(schema.features)) if j not in fixed}
        candidates = {j: values for j, values in candidates.items() if len(values)}
        found: dict[frozenset[int], tuple[Change, ...]] = {}  # features changed -> the nearest such set
        level: list[tuple[Change, ...]] = [((j, v),) for j, values in candidates.items() for v in values]
        scored = 0
        for _size in range(params.max_changes):
            if not level:
                break
            probabilities = self._adverse(x, level)
            scored += len(level)
            growing: dict[frozenset[int], tuple[float, float, tuple[Change, ...]]] = {}
            for changes, p in zip(level, probabilities, strict=True):
                features = frozenset(j for j, _ in changes)
                distance = self.distance(x, changes)
                if p < cutoff:
                    if features not in found or distance < self.distance(x, found[features]):
                        found[features] = changes
                elif features not in growing or (p, distance) < growing[features][:2]:
                    growing[features] = (float(p), distance, changes)
            if len(found) >= params.count:
                break  # more changes cannot be sparser than what was found
            beam = sorted(growing.values(), key=lambda item: (item[0], item[1]))[:params.beam_size]
            level = self._grow([changes for _, _, changes in beam], candidates, found)
        def distance_of(changes: tuple[Change, ...]) -> float:
            return self.distance(x, changes)

        # Tighten a few more than needed: two sets can shrink to the same one.
        shortlist = _choose(found, distance_of, params.count * 3)
        if isinstance(self.space, RememberingSpace) and self.space.asks_ahead:
            self.space.ask_ahead(self._tightening_rows(x, shortlist))
        tightened = self._minimal(x, self._tighten(x, shortlist, cutoff), cutoff)
        chosen = _choose({frozenset(j for j, _ in changes): changes for changes in tightened}, distance_of,
                         params.count)
        return self._verify(x, chosen, cutoff=cutoff, fixed=fixed, scored=scored)

    def first_rows(self, x: np.ndarray, params: CounterfactualParams) -> np.ndarray:
        """The first level's rows (one change each), before the policy's protected features are known: every
        feature the schema lets change (a few rows more than the search may ask for)."""
        features = self.space.schema.features
        level: list[tuple[Change, ...]] = [((j, float(v)),) for j, f in enumerate(features)
                                           if f.changeable and not f.protected
                                           for v in self._candidates(j, x[j], params.grid)]
        return _rows(x, level)

    def distance(self, x: np.ndarray, changes: Iterable[Change]) -> float:
        """|change| / MAD per number (1 where a missing value is given), 1 per category."""
        total = 0.0
        for j, value in changes:
            feature = self.space.schema.features[j]
            if feature.kind == "categorical" or self.is_missing(j, x[j]):
                total += 1.0
            else:
                total += abs(value - x[j]) / self.scale[j]
        return total

    # -- steps ----------------------------------------------------------------

    def _candidates(self, j: int, current: float, grid: int) -> np.ndarray:
        feature = self.space.schema.features[j]
        if feature.kind == "categorical":
            return np.array([float(c) for c in range(len(feature.categories)) if c != int(current)])
        present = self._present[j]
        if not len(present):
            return np.array([])
        values = np.quantile(present, np.linspace(0.0, 1.0, grid + 1))
        values = np.unique(np.rint(values) if feature.integer else values)
        if feature.minimum is not None:
            values = values[values >= feature.minimum]
        if feature.maximum is not None:
            values = values[values <= feature.maximum]
        if self.is_missing(j, current):
            return values  # any declared value; the direction is from a value, and there is none
        if feature.monotone == "increasing":
            return values[values > current]
        if feature.monotone == "decreasing":
            return values[values < current]
        return values[values != current]

    def _grow(self, beam: list[tuple[Change, ...]], candidates: dict[int, np.ndarray],
              found: dict[frozenset[int], Any]) -> list[tuple[Change, ...]]:
        """Each set in the beam with one more change on a feature it does not change, unless the grown set
        would contain a found set's features (then it is not minimal); each grown set once."""
        seen: set[tuple[Change, ...]] = set()
        grown = []
        for changes in beam:
            features = {j for j, _ in changes}
            for j, values in candidates.items():
                if j in features or any(f <= features | {j} for f in found):
                    continue
                for value in values:
                    bigger = tuple(sorted((*changes, (j, float(value)))))
                    if bigger not in seen:
                        seen.add(bigger)
                        grown.append(bigger)
        return grown

    def _tighten(self, x: np.ndarray, sets: list[tuple[Change, ...]], cutoff: float) -> list[tuple[Change, ...]]:
        """Move each changed number back toward the applicant's value while the decision stays favourable.
        Each set's changes are tightened in order; every set's trials for its n-th change go to the model in
        one call (a set's result is the one it gets alone)."""
        current = [list(changes) for changes in sets]
        for position in range(max((len(changes) for changes in sets), default=0)):
            trials: list[tuple[int, int, np.ndarray, list[tuple[Change, ...]]]] = []  # (set, feature, steps, rows)
            for i, changes in enumerate(sets):
                if position >= len(changes):
                    continue
                j, value = changes[position]
                steps = self._steps_back(j, x[j], value)
                if len(steps):
                    trials.append((i, j, steps, [(*current[i][:position], (j, float(v)), *current[i][position + 1:])
                                                 for v in steps]))
            if not trials:
                continue
            probabilities = self._adverse(x, [row for *_, rows in trials for row in rows])
            start = 0
            for i, j, steps, rows in trials:
                answered, start = probabilities[start:start + len(rows)], start + len(rows)
                favourable = [(abs(v - x[j]), float(v)) for v, p in zip(steps, answered, strict=True) if p < cutoff]
                if favourable:
                    current[i][position] = (j, min(favourable)[1])
        return [tuple(changes) for changes in current]

    def _steps_back(self, j: int, current: float, value: float) -> np.ndarray:
        """The values tightening tries for feature j, from the applicant's value toward ``value`` (included);
        none for a category or a missing value given (there is nothing between)."""
        feature = self.space.schema.features[j]
        if feature.kind == "categorical" or self.is_missing(j, current):
            return np.array([])
        steps = np.linspace(current, value, FINE_STEPS + 1)[1:]
        steps = np.unique(np.rint(steps) if feature.integer else steps)
        return steps[steps != current]

    def _tightening_rows(self, x: np.ndarray, sets: list[tuple[Change, ...]]) -> np.ndarray:
        """Every row ``_tighten`` and ``_minimal`` may ask for on these sets: each change at the applicant's
        value (dropped), its found value, or (a number with a value) a step back; sets in order while the
        rows stay within ``AHEAD_ROWS``."""
        rows: list[np.ndarray] = []
        for changes in sets:
            options = [sorted({float(x[j]), float(value), *map(float, self._steps_back(j, x[j], value))})
                       for j, value in changes]
            if len(rows) + math.prod(len(o) for o in options) > AHEAD_ROWS:
                break
            for values in itertools.product(*options):
                row = x.copy()
                row[[j for j, _ in changes]] = values
                rows.append(row)
        return np.array(rows).reshape(-1, len(x))

    def _minimal(self, x: np.ndarray, sets: list[tuple[Change, ...]], cutoff: float) -> list[tuple[Change, ...]]:
        """Drop any change the decision does not need (a tightened set can leave one redundant); every set's
        smaller sets go to the model in one call per round."""
        current = list(sets)
        open_ = [i for i, changes in enumerate(current) if len(changes) > 1]
        while open_:
            smaller = {i: [current[i][:k] + current[i][k + 1:] for k in range(len(current[i]))] for i in open_}
            probabilities = self._adverse(x, [row for i in open_ for row in smaller[i]])
            start, still = 0, []
            for i in open_:
                answered, start = probabilities[start:start + len(smaller[i])], start + len(smaller[i])
                enough = [c for c, p in zip(smaller[i], answered, strict=True) if p < cutoff]
                if enough:
                    current[i] = min(enough, key=lambda c: self.distance(x, c))
                    if len(current[i]) > 1:
                        still.append(i)
            open_ = still
        return current

    def _verify(self, x: np.ndarray, chosen: list[tuple[Change, ...]], *, cutoff: float, fixed: dict[int, str],
                scored: int) -> CounterfactualOutcome:
        if not chosen:
            return CounterfactualOutcome(found=(), fixed=fixed, verified=0, chosen=0, sets_scored=scored)
        space = self.space
        search = self._adverse(x, chosen)
        if space.on_fast_path:
            rows = space.schema.from_matrix(_rows(x, chosen))
            answered = np.asarray(space.adapter.predict_proba(rows), dtype=float)[:, space.adverse_index]
        else:  # the search asked the adapter itself: these are its answers
            answered = search
        found = tuple(Counterfactual(changes=changes, search_adverse_probability=float(s),
                                     adverse_probability=float(p), distance=self.distance(x, changes))
                      for changes, s, p in zip(chosen, search, answered, strict=True) if p < cutoff)
        return CounterfactualOutcome(found=found, fixed=fixed, verified=len(found), chosen=len(chosen),
                                     sets_scored=scored)

    def _adverse(self, x: np.ndarray, sets: list[tuple[Change, ...]]) -> np.ndarray:
        return self.space.predict(_rows(x, sets))[:, self.space.adverse_index]

    def is_missing(self, j: int, value: float) -> bool:
        feature = self.space.schema.features[j]
        return bool(feature.nullable and missing.is_missing(feature, np.array([value]))[0])


def _rows(x: np.ndarray, sets: list[tuple[Change, ...]]) -> np.ndarray:
    rows = np.repeat(x.reshape(1, -1), len(sets), axis=0)
    for i, changes in enumerate(sets):
        for j, value in changes:
            rows[i, j] = value
    return rows


def _scale(column: np.ndarray) -> float:
    """The median absolute deviation, else the standard deviation, else 1: a unit change of the feature."""
    if not len(column):
        return 1.0
    mad = float(np.median(np.abs(column - np.median(column))))
    if mad > 0:
        return mad
    spread = float(np.std(column))
    return spread if spread > 0 else 1.0


def _choose(found: dict[frozenset[int], tuple[Change, ...]], distance: Any,
            count: int) -> list[tuple[Change, ...]]:
    """Fewest changes first, then nearest; never a set whose features contain an earlier choice's."""
    ranked = sorted(found.items(), key=lambda item: (len(item[0]), distance(item[1]), sorted(item[0])))
    chosen: list[tuple[frozenset[int], tuple[Change, ...]]] = []
    for features, changes in ranked:
        if any(earlier <= features for earlier, _ in chosen):
            continue
        chosen.append((features, changes))
        if len(chosen) == count:
            break
    return [changes for _, changes in chosen]


def require_adverse(by_rule: str, adverse_probability: float, cutoff: float) -> None:
    """A counterfactual asked for a decision the rule already approves is refused, naming why."""
    if by_rule != "adverse":
        raise InvalidInput(f"counterfactual recourse is for a decision the version's rule declines; this applicant's "
                           f"P(adverse) {adverse_probability:.3f} is below the cutoff {cutoff:g}, so nothing needs to "
                           "change", field="methods")


def to_record(outcome: CounterfactualOutcome, engine: CounterfactualEngine, x: np.ndarray, *, cutoff: float,
              params: CounterfactualParams) -> dict[str, Any]:
    """The record's ``counterfactuals`` section: each set of changes in the features' words, its statement,
    the model's probability on verification, distance and sparsity; what could not change and why."""
    schema = engine.space.schema
    adverse = schema.adverse_class or "adverse"
    options = []
    for found in outcome.found:
        changes = [{"feature": schema.features[j].name, "label": schema.features[j].label,
                    "from": _native(engine, j, x[j]), "to": _native(engine, j, value)}
                   for j, value in found.changes]
        # Rounded to 9 places: a model's last bit can differ with the batch a row is sent in (BLAS kernels),
        # and the same model must give the same record on every registration path.
        options.append({"changes": changes, "features_changed": len(changes), "distance": _stored(found.distance),
                        "adverse_probability": _stored(found.adverse_probability),
                        "search_adverse_probability": _stored(found.search_adverse_probability),
                        "statement": statement(changes, adverse=adverse, probability=found.adverse_probability,
                                               cutoff=cutoff)})
    return {
        "target": f"P({adverse}) below the cutoff {cutoff:g} (the version's rule approves)",
        "options": options,
        "fixed": [{"feature": schema.features[j].name, "label": schema.features[j].label, "why": why}
                  for j, why in sorted(outcome.fixed.items())],
        "monotone": {f.name: f.monotone for f in schema.features if f.monotone and f.changeable},
        "method": SEARCH, "sets_scored": outcome.sets_scored, "validity": outcome.validity,
        "note": None if options else (f"no set of at most {params.max_changes} changes to the actionable features "
                                      "within the ranges seen in training makes the rule approve this applicant"),
    }


def scores(outcome: CounterfactualOutcome) -> dict[str, Any]:
    """Validity, sparsity and distance of the returned sets (see the module's docstring)."""
    found = outcome.found
    return {"options": len(found), "validity": outcome.validity,
            "mean_features_changed": float(np.mean([len(f.changes) for f in found])) if found else None,
            "mean_distance": _stored(float(np.mean([f.distance for f in found]))) if found else None}


def statement(changes: list[dict[str, Any]], *, adverse: str, probability: float, cutoff: float) -> str:
    """'Had Loan duration (months) been 12 instead of 36 and ..., the model would have approved it (...)'."""
    parts = [f"{c['label']} been {_words(c['to'])} instead of {_words(c['from'])}" for c in changes]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    shown = math.floor(probability * 1000) / 1000  # never rounded up to the cutoff it is below
    return (f"Had {joined}, the model would have approved the application "
            f"(P({adverse}) {shown:.3f}, below the cutoff {cutoff:g}).")


def _stored(value: float) -> float:
    return round(float(value), 9)


def _native(engine: CounterfactualEngine, j: int, value: float) -> Any:
    """A matrix value as a person reads it: the category, the number (whole where the feature is), or None."""
    feature = engine.space.schema.features[j]
    if engine.is_missing(j, value):
        return None
    if feature.kind == "categorical":
        return feature.categories[round(float(value))]
    return round(float(value)) if feature.integer else round(float(value), 6)


def _words(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"


class CounterfactualMethod(Method):
    name = "counterfactual"
    section = "counterfactuals"
    title = "Counterfactual recourse"
    summary = ("for a decision the rule declines, up to 3 minimal sets of changes to actionable features the "
               "model approves, each with its statement")
    order = 40
    params = CounterfactualParams
    bounds: ClassVar[Mapping[str, Bound]] = {
        "count": Bound(1, 5), "max_changes": Bound(1, 5), "beam_size": Bound(1, 10), "grid": Bound(2, 40)}
    only_adverse = True
    costs = ("count", "max_changes", "beam_size", "grid")
    metrics = (
        Metric("recourse.options", "Sets of changes found that the model approves (at most count).", "recourse"),
        Metric("recourse.validity", "Share of the chosen sets the model approved when each was sent to it.",
               "recourse"),
        Metric("recourse.mean_features_changed", "Mean number of features a set changes.", "recourse"),
        Metric("recourse.mean_distance", "Mean distance of a set from the applicant, in median absolute "
               "deviations (1 per category).", "recourse"),
    )

    def build(self, space: ModelSpace) -> CounterfactualEngine:
        return CounterfactualEngine(space)

    def rows_ahead(self, state: CounterfactualEngine, x: np.ndarray, *, seed: int,
                   params: CounterfactualParams) -> list[np.ndarray]:
        return [state.first_rows(x, params)]

    def run(self, state: CounterfactualEngine, job: Job) -> Outcome:
        outcome = state.explain(job.x, cutoff=job.cutoff, protected=job.protected, params=job.params)
        return Outcome(section=to_record(outcome, state, job.x, cutoff=job.cutoff, params=job.params),
                       scores={"recourse": scores(outcome)})

    rests_on_features = True

    def features_of(self, section: Mapping[str, Any]) -> list[str]:
        return sorted({change["feature"] for option in section["options"] for change in option["changes"]})

    def refuse_favourable(self, job: Job) -> None:
        require_adverse("favourable", job.adverse_probability, job.cutoff)


METHOD = CounterfactualMethod()
