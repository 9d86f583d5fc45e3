"""One explanation, end to end: validate, predict, run the methods, score, give reasons.

Explainer state built from a version's background (LIME's discretiser, Anchor's
bins, SHAP's tree or kernel explainer) is built once per model version and kept
in a bounded cache. Explainers hold seeded random state, so in one process one
version's explanations run one at a time (a lock per version); different versions
run in parallel. The service's worker pool (``xai_gov.explain.pool``) runs N at
once, each worker with explainers of its own.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from xai_gov.canonical import sha256_json
from xai_gov.errors import InvalidInput, ModelCheckFailed, Unavailable, XaiGovError
from xai_gov.explain import methods as registry
from xai_gov.explain.accuracy import References, moved, reason_accuracy
from xai_gov.explain.method import Job, Method, Outcome
from xai_gov.explain.reasons import Reason, ReasonMap, version_reason_map
from xai_gov.explain.records import ExplanationRecord, Prediction
from xai_gov.explain.remembering import RememberingSpace
from xai_gov.explain.space import ModelSpace
from xai_gov.policies.evaluate import evaluate_explanation, with_reason_checks
from xai_gov.policies.models import Policy
from xai_gov.policies.protected import attribution_share, protected_names
from xai_gov.quality.agreement import lime_shap_agreement
from xai_gov.registry.adapters import ModelAdapter
from xai_gov.registry.decision import decide
from xai_gov.registry.models import ModelVersion
from xai_gov.timeutil import utcnow
from xai_gov.validation import printable

LIBRARIES = ("xai-gov", "lime", "anchor-exp", "shap", "scikit-learn", "numpy", "pandas", "scipy")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExplainOptions:
    """Which methods run, with which seed and parameters (every registered method's, defaults filled in)."""

    methods: tuple[str, ...]
    seed: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)  # method name -> its ``Method.params`` instance
    agreement_top_n: int = 5
    #: the methods the caller named: one that runs only where the rule declines is then refused on an
    #: approved applicant (by default it is simply not run there)
    asked: frozenset[str] = frozenset()

    @classmethod
    def build(cls, methods: Iterable[str] | None = None, seed: int = 0, **parameters: Any) -> ExplainOptions:
        known = registry.names()
        chosen = tuple(dict.fromkeys(m.strip().lower() for m in (methods or known)))
        unknown = [m for m in chosen if m not in known]
        if unknown or not chosen:
            raise InvalidInput(f"unknown method {printable(unknown[0]) if unknown else '(none)'}: choose from "
                               f"{', '.join(known)}", field="methods")
        if not isinstance(seed, int) or seed < 0:
            raise InvalidInput("seed must be a non-negative integer", field="seed")
        settable = [m.name for m in registry.registered() if m.bounds]
        unknown_groups = sorted(printable(g) for g in set(parameters) - set(settable))
        if unknown_groups:
            raise InvalidInput(f"unknown parameter group {unknown_groups[0]!r}: use {', '.join(settable)}",
                               field=f"parameters.{unknown_groups[0]}")
        params = {m.name: m.checked_params(parameters.get(m.name) or {}) for m in registry.registered()}
        return cls(methods=tuple(m for m in known if m in chosen), seed=seed, params=params,
                   asked=frozenset(chosen) if methods is not None else frozenset())

    def with_params(self, method: str, **changes: Any) -> ExplainOptions:
        """The same options with some of one method's parameters changed (not checked: for internal use)."""
        return replace(self, params={**self.params, method: replace(self.params[method], **changes)})

    def parameters(self) -> dict[str, Any]:
        """What the record stores: each method's parameters (see ``Method.parameters_always_stored``)."""
        out: dict[str, Any] = {}
        for method in registry.registered():
            if method.parameters_stored and (method.parameters_always_stored or method.name in self.methods):
                out[method.name] = method.stored_params(self.params[method.name])
        return {**out, "agreement_top_n": self.agreement_top_n}

    @classmethod
    def of_record(cls, record: ExplanationRecord) -> ExplainOptions:
        """The options a stored record was explained with (for its replay)."""
        stored = record.parameters
        parameters = {m.name: m.params_of_record(stored.get(m.name) or {}) for m in registry.registered() if m.bounds}
        return cls.build(record.methods, record.seed, **parameters)


class VersionExplainers:
    """Everything explainers need for one model version, each method's state built once, when first used."""

    def __init__(self, version: ModelVersion, adapter: ModelAdapter, background: pd.DataFrame) -> None:
        self.version = version
        self.space = RememberingSpace(version.schema, adapter, version.schema.to_matrix(background))
        self.lock = threading.Lock()
        self._states: dict[str, Any] = {}
        self._references: References | None = None

    def state(self, method: Method) -> Any:
        if method.name not in self._states:
            self._states[method.name] = method.build(self.space)
        return self._states[method.name]

    @property
    def references(self) -> References:
        """Each feature's reference value, for reason accuracy (built once, under the version's rule)."""
        self._references = self._references or References.build(self.space, self.version.rule)
        return self._references


class ExplainerCache:
    """A bounded LRU of ``VersionExplainers`` keyed by model version and its stored hashes."""

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str | None, str], VersionExplainers] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: ModelVersion, build: Callable[[], VersionExplainers]) -> VersionExplainers:
        key = (version.ref, version.artifact_sha256, version.background_sha256)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        built = build()
        with self._lock:
            self._entries[key] = built
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return built


def explain_instance(explainers: VersionExplainers, instance: dict[str, Any], *, options: ExplainOptions,
                     decision_id: str, requested_by: str, reason_map: ReasonMap, policy: Policy,
                     progress: Progress | None = None, bank_decision: str | None = None,
                     reasons_asked: bool = False) -> ExplanationRecord:
    """Explain one applicant; the record is returned, not stored.

    The decision is the version's rule (adverse class and cutoff), or the bank's actual decision
    (``bank_decision``, a class name) where it overrides the rule. An adverse decision gets principal
    reasons; a favourable one gets "what counted against" only when ``reasons_asked``.

    A remote model (``RememberingSpace``) is asked few times: each distinct row is sent once, and rows known
    in advance go with the first call that is needed anyway."""
    with explainers.space.remembering():
        return _explain_instance(explainers, instance, options=options, decision_id=decision_id,
                                 requested_by=requested_by, reason_map=reason_map, policy=policy, progress=progress,
                                 bank_decision=bank_decision, reasons_asked=reasons_asked)


#: Small sample counts, for an explanation whose figures nobody reads: registration's check that every default
#: method runs on a model, and a worker building a version's explainers before its first request.
TRIAL = ExplainOptions.build(lime={"num_samples": 200, "repeats": 2},
                             anchor={"repeats": 1, "fresh_samples": 50, "threshold": 0.5,
                                     "max_anchor_size": 1}).with_params("shap", kernel_samples=64)


def trial_explanation(explainers: VersionExplainers, *, requested_by: str, reason_map: ReasonMap,
                      policy: Policy) -> ExplanationRecord:
    """One explanation of the version's first background row with every default method at ``TRIAL``'s sample
    counts: each step runs once on this model and each method's state is built. Its record is not stored."""
    row = explainers.version.schema.from_matrix(explainers.space.background[:1]).iloc[0]
    instance = {name: _plain(value) for name, value in row.items()}
    return explain_instance(explainers, instance, options=TRIAL, decision_id="registration-check",
                            requested_by=requested_by, reason_map=reason_map, policy=policy)


def _plain(value: Any) -> Any:
    """A background cell as an applicant would enter it: plain numbers, None for a missing value."""
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def _explain_instance(explainers: VersionExplainers, instance: dict[str, Any], *, options: ExplainOptions,
                      decision_id: str, requested_by: str, reason_map: ReasonMap, policy: Policy,
                      progress: Progress | None, bank_decision: str | None,
                      reasons_asked: bool) -> ExplanationRecord:
    version, space = explainers.version, explainers.space
    schema = version.schema
    clean = schema.validate_instance(instance)
    rule = version.rule
    x = schema.to_matrix(pd.DataFrame([clean], columns=schema.names))[0]
    timings: dict[str, float] = {}
    step = _Stepper(timings, progress)
    outcomes: dict[Method, Outcome] = {}
    with explainers.lock:
        _ask_ahead(explainers, x, options)
        with step("predict"):
            probabilities = _predict_one(space, x)
        if space.asks_ahead:  # every feature's move to its reference: the reasons' accuracy, whichever they are
            space.ask_ahead(moved(explainers.references, x, list(range(len(schema.features)))))
        prediction = Prediction(
            probabilities={c: float(p) for c, p in zip(schema.class_names, probabilities, strict=True)},
            predicted_class=schema.class_names[int(np.argmax(probabilities))],
            adverse_class=schema.adverse_class or "", adverse_probability=float(probabilities[space.adverse_index]),
            cutoff=rule.cutoff)
        decision = decide(rule, prediction.adverse_probability, schema.class_names, bank_decision=bank_decision,
                          reasons_asked=reasons_asked)
        protected = protected_names(schema, policy.protected_features)
        job = Job(x=x, clean=clean, schema=schema, seed=options.seed, params=None,
                  adverse=decision.by_rule == "adverse", cutoff=rule.cutoff,
                  adverse_probability=prediction.adverse_probability, protected=frozenset(protected))
        to_run = _methods_to_run(options, job)
        try:
            for method in to_run:
                with step(method.name):
                    outcomes[method] = method.run(explainers.state(method), replace(job, params=options.params[
                        method.name]))
        except XaiGovError:
            raise
        except Exception as exc:  # the model failed mid-explanation: say so, store nothing
            raise ModelCheckFailed(f"the model failed while explaining {version.ref}: {type(exc).__name__}: {exc}",
                                   code="model_failed") from exc
    names = schema.names
    # Reasons come from the best-ranked attribution method that ran (SHAP, else LIME).
    attributing = sorted((m for m in outcomes if outcomes[m].attributions is not None),
                         key=lambda m: m.attribution_rank or 0)
    contributions: dict[int, float] = (outcomes[attributing[0]].attributions or {}) if attributing else {}
    source = attributing[0].name if attributing else "none"
    reason_map = version_reason_map(schema, reason_map)
    reasons: list[Reason] = []
    withheld: list[str] = []
    if decision.reasons_kind is not None:
        reasons, withheld = reason_map.principal_reasons(
            contributions, schema, clean, source=source, protected=protected,
            limit=policy.document.explanation.max_reasons)
    with explainers.lock:
        accuracies = reason_accuracy(space, explainers.references, x, [names.index(r.feature) for r in reasons],
                                     prediction.adverse_probability)
    reason_dicts = [{**r.to_dict(), "accuracy": a} for r, a in zip(reasons, accuracies, strict=True)]
    scores: dict[str, Any] = {"fidelity": {}, "stability": {}, "sparsity": {}, "agreement": None}
    for outcome in outcomes.values():
        for path, figures in outcome.scores.items():
            _put(scores, path, figures)
    if len(attributing) >= 2:  # the runner-up against the source of reasons (LIME against SHAP)
        scores["agreement"] = lime_shap_agreement(outcomes[attributing[1]].attributions or {}, contributions, names,
                                                  top_n=options.agreement_top_n).to_dict()
    scores["protected"] = {"features": sorted(protected), "source": source,
                           "attribution_share": attribution_share(contributions, schema, protected)}
    sections = {m.section: outcomes[m].section for m in to_run}
    verdict = with_reason_checks(evaluate_explanation(policy, scores, withheld, sections=sections,
                                                      protected=protected), reason_dicts,
                                 adverse=decision.adverse)
    methods = tuple(m.name for m in to_run)
    return ExplanationRecord(
        id=uuid.uuid4().hex, model=version.name, version=version.version, decision_id=decision_id,
        requested_by=requested_by, requested_at=utcnow(), instance=as_entered(instance),
        instance_sha256=sha256_json(clean), prediction=prediction, methods=methods,
        sections=sections, scores=scores, reasons=reason_dicts,
        withheld_reasons=withheld, seed=options.seed,
        parameters={**replace(options, methods=methods).parameters(), "model_path": space.model_path},
        library_versions=library_versions(),
        background_sha256=version.background_sha256, reason_map=reason_map.source, verdict=verdict.to_dict(),
        timings=timings, decision=decision.to_dict(), cautions=schema.cautions(clean))


def _methods_to_run(options: ExplainOptions, job: Job) -> list[Method]:
    """The chosen methods, in order; one that runs only where the rule declines is left out for an approved
    applicant, or refused if the caller named it."""
    chosen = []
    for name in options.methods:
        method = registry.method(name)
        if method.only_adverse and not job.adverse:
            if name in options.asked:
                method.refuse_favourable(job)
            continue
        chosen.append(method)
    return chosen


def _put(scores: dict[str, Any], path: str, figures: dict[str, Any]) -> None:
    """``figures`` at a dotted path of the scores ("fidelity.lime" -> scores["fidelity"]["lime"])."""
    *parents, last = path.split(".")
    node = scores
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = figures


def as_entered(instance: Mapping[str, Any]) -> dict[str, Any]:
    """The input as given, with numpy scalars as plain numbers so it can be stored as JSON."""
    return {name: value.item() if isinstance(value, np.generic) else value for name, value in instance.items()}


def library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _ask_ahead(explainers: VersionExplainers, x: np.ndarray, options: ExplainOptions) -> None:
    """For a remote model: the rows known before the first call (each method's ``rows_ahead``: LIME's
    neighbourhoods, the anchor search's first samples; the background, for the reference values, the first
    time) go with that call."""
    space = explainers.space
    if not space.asks_ahead:
        return
    if explainers._references is None:
        space.ask_ahead(space.background)
    for name in options.methods:
        method = registry.method(name)
        space.ask_ahead(*method.rows_ahead(explainers.state(method), x, seed=options.seed,
                                           params=options.params[name]))


def _predict_one(space: ModelSpace, x: np.ndarray) -> np.ndarray:
    probabilities = space.predict(x.reshape(1, -1))[0]
    if not np.all(np.isfinite(probabilities)) or not np.isclose(probabilities.sum(), 1.0, atol=1e-6):
        raise ModelCheckFailed("the model returned probabilities that are not finite or do not sum to 1",
                               code="model_failed")
    return probabilities


class _Stepper:
    def __init__(self, timings: dict[str, float], progress: Progress | None) -> None:
        self.timings, self.progress = timings, progress

    def __call__(self, name: str) -> _Step:
        return _Step(self, name)


class _Step:
    def __init__(self, stepper: _Stepper, name: str) -> None:
        self.stepper, self.name = stepper, name

    def __enter__(self) -> None:
        if self.stepper.progress:
            self.stepper.progress(self.name)
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.stepper.timings[self.name] = round(time.perf_counter() - self.started, 6)


class TimeBudget:
    """A progress callback that stops an explanation at the next step once its time is spent.

    Steps cannot be interrupted midway, so an explanation can overrun by one step;
    it then fails with ``explanation_over_budget`` and nothing is stored."""

    def __init__(self, seconds: float, then: Progress | None = None) -> None:
        self.seconds = seconds
        self.then = then
        self.started = time.perf_counter()

    def remaining(self) -> float:
        """Seconds left (at least a little, so a worker still says 'over budget' in its own words)."""
        return max(self.seconds - (time.perf_counter() - self.started), 0.001)

    def __call__(self, step: str) -> None:
        spent = time.perf_counter() - self.started
        if spent > self.seconds:
            raise Unavailable(f"the explanation's time budget of {self.seconds:g} s was spent before its "
                              f"{step} step ({spent:.1f} s); nothing was stored", code="explanation_over_budget")
        if self.then is not None:
            self.then(step)
