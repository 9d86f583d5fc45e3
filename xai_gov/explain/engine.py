"""One explanation, end to end: validate, predict, run the methods, score, give reasons.

Explainer state built from a version's background (LIME's discretiser, Anchor's
bins, SHAP's tree or kernel explainer) is built once per model version and kept
in a bounded cache. Explainers hold seeded random state, so in one process one
version's explanations run one at a time (a lock per version); different versions
run in parallel. The service's worker pool (``xai_gov.explain.pool``) runs N at
once, each worker with explainers of its own.
"""

from __future__ import annotations

import dataclasses
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

from xai_gov.errors import InvalidInput, ModelCheckFailed, Unavailable, XaiGovError
from xai_gov.explain import counterfactual as recourse
from xai_gov.explain.accuracy import References, reason_accuracy
from xai_gov.explain.anchor import AnchorEngine, AnchorOutcome
from xai_gov.explain.anchor_search import AnchorParams
from xai_gov.explain.counterfactual import CounterfactualEngine, CounterfactualOutcome, CounterfactualParams
from xai_gov.explain.lime import LimeEngine, LimeOutcome, LimeParams
from xai_gov.explain.records import METHODS, ExplanationRecord, Prediction, sha256_json
from xai_gov.explain.shap import ShapEngine, ShapOutcome
from xai_gov.explain.space import ModelSpace
from xai_gov.policies.evaluate import evaluate_explanation, with_reason_checks
from xai_gov.policies.models import Policy
from xai_gov.policies.protected import attribution_share, protected_names
from xai_gov.policies.reasons import ReasonMap, version_reason_map
from xai_gov.quality.agreement import lime_shap_agreement
from xai_gov.quality.fidelity import additivity_error
from xai_gov.quality.sparsity import anchor_sparsity, lime_sparsity, shap_sparsity
from xai_gov.registry.adapters import ModelAdapter
from xai_gov.registry.decision import decide
from xai_gov.registry.models import ModelVersion
from xai_gov.timeutil import utcnow
from xai_gov.validation import check_number, printable

LIBRARIES = ("xai-gov", "lime", "anchor-exp", "shap", "scikit-learn", "numpy", "pandas", "scipy")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExplainOptions:
    methods: tuple[str, ...] = METHODS
    seed: int = 0
    lime: LimeParams = field(default_factory=LimeParams)
    anchor: AnchorParams = field(default_factory=AnchorParams)
    agreement_top_n: int = 5
    #: Kernel SHAP coalitions beyond 2M (None: ``shap.KERNEL_SAMPLES``); only registration's trial sets it.
    shap_samples: int | None = None
    counterfactual: CounterfactualParams = field(default_factory=CounterfactualParams)
    #: the caller named the counterfactual method: on a decision the rule approves, that is refused
    #: (by default it is simply not run there)
    counterfactual_asked: bool = False

    @classmethod
    def build(cls, methods: Iterable[str] | None = None, seed: int = 0, **parameters: Any) -> ExplainOptions:
        chosen = tuple(dict.fromkeys(m.strip().lower() for m in (methods or METHODS)))
        unknown = [m for m in chosen if m not in METHODS]
        if unknown or not chosen:
            raise InvalidInput(f"unknown method {printable(unknown[0]) if unknown else '(none)'}: choose from "
                               f"{', '.join(METHODS)}", field="methods")
        if not isinstance(seed, int) or seed < 0:
            raise InvalidInput("seed must be a non-negative integer", field="seed")
        unknown_groups = sorted(printable(g) for g in set(parameters) - {"lime", "anchor", "counterfactual"})
        if unknown_groups:
            raise InvalidInput(f"unknown parameter group {unknown_groups[0]!r}: use lime, anchor or counterfactual",
                               field=f"parameters.{unknown_groups[0]}")
        lime = _checked(LimeParams, "lime", parameters.get("lime") or {})
        anchor = _checked(AnchorParams, "anchor", parameters.get("anchor") or {})
        counterfactual = _checked(CounterfactualParams, "counterfactual", parameters.get("counterfactual") or {})
        return cls(methods=tuple(m for m in METHODS if m in chosen), seed=seed, lime=lime, anchor=anchor,
                   counterfactual=counterfactual, counterfactual_asked=methods is not None and
                   "counterfactual" in chosen)

    def parameters(self) -> dict[str, Any]:
        """What the record stores; the counterfactual's only where it ran (older records lack it)."""
        out = {"lime": self.lime.to_dict(), "anchor": self.anchor.to_dict(), "agreement_top_n": self.agreement_top_n}
        if "counterfactual" in self.methods:
            out["counterfactual"] = self.counterfactual.to_dict()
        return out


#: Bounds of every explainer parameter a request may set: a bad value is refused, never run.
_LIMITS: dict[str, tuple[float, float]] = {
    "num_samples": (50, 50_000), "repeats": (1, 20), "top_n": (1, 20), "threshold": (0.5, 0.999),
    "delta": (0.001, 0.5), "tau": (0.001, 0.5), "epsilon_stop": (0.001, 0.5), "batch_size": (10, 10_000),
    "beam_size": (1, 10), "max_anchor_size": (1, 100), "fresh_samples": (50, 100_000), "arms_per_step": (2, 64),
    "count": (1, 5), "max_changes": (1, 5), "grid": (2, 40),
}


#: Parameters that name a choice rather than a number.
_CHOICES: dict[str, tuple[str, ...]] = {"engine": ("batched", "anchor-exp")}


def _checked(kind: Any, group: str, values: Any) -> Any:
    """``kind(**values)`` after checking each name, type and range, so nothing odd reaches an explainer."""
    if not isinstance(values, dict):
        raise InvalidInput(f"{group} parameters must be an object", field=f"parameters.{group}")
    defaults = kind()
    # Only the declared parameters, by name: hasattr() would let "__class__" through to the limits table.
    declared = {f.name for f in dataclasses.fields(kind)} & (set(_LIMITS) | set(_CHOICES))
    for name, value in values.items():
        if not isinstance(name, str) or name not in declared:
            raise InvalidInput(f"unknown {group} parameter {printable(name)!r}; known: {', '.join(sorted(declared))}",
                               field=f"parameters.{group}.{printable(name)}")
        if value is None and name == "max_anchor_size":
            continue
        if name in _CHOICES:
            if value not in _CHOICES[name]:
                raise InvalidInput(f"{group} parameter {name} is one of {', '.join(_CHOICES[name])}, "
                                   f"not {printable(repr(value))}",
                                   field=f"parameters.{group}.{name}")
            continue
        expected = float if isinstance(getattr(defaults, name), float) else int
        check_number(value, f"parameters.{group}.{name}")  # magnitude first: float() of a huge int overflows
        low, high = _LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (expected is int and
                                                                             not float(value).is_integer()):
            raise InvalidInput(f"{group} parameter {name} takes a {expected.__name__}, got {value!r}",
                               field=f"parameters.{group}.{name}")
        if not low <= value <= high:
            raise InvalidInput(f"{group} parameter {name} = {value} is outside {low:g}..{high:g}",
                               field=f"parameters.{group}.{name}")
    return kind(**{k: (int(v) if v is not None and k not in _CHOICES and not isinstance(getattr(defaults, k), float)
                       else v) for k, v in values.items()})


class VersionExplainers:
    """Everything explainers need for one model version, built once."""

    def __init__(self, version: ModelVersion, adapter: ModelAdapter, background: pd.DataFrame) -> None:
        self.version = version
        self.space = ModelSpace(version.schema, adapter, version.schema.to_matrix(background))
        self.lock = threading.Lock()
        self._lime: LimeEngine | None = None
        self._anchor: AnchorEngine | None = None
        self._shap: ShapEngine | None = None
        self._counterfactual: CounterfactualEngine | None = None
        self._references: References | None = None

    @property
    def lime(self) -> LimeEngine:
        self._lime = self._lime or LimeEngine(self.space)
        return self._lime

    @property
    def anchor(self) -> AnchorEngine:
        self._anchor = self._anchor or AnchorEngine(self.space)
        return self._anchor

    @property
    def shap(self) -> ShapEngine:
        self._shap = self._shap or ShapEngine(self.space)
        return self._shap

    @property
    def counterfactual(self) -> CounterfactualEngine:
        self._counterfactual = self._counterfactual or CounterfactualEngine(self.space)
        return self._counterfactual

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
    reasons; a favourable one gets "what counted against" only when ``reasons_asked``."""
    version, space = explainers.version, explainers.space
    schema = version.schema
    clean = schema.validate_instance(instance)
    rule = version.rule
    x = schema.to_matrix(pd.DataFrame([clean], columns=schema.names))[0]
    timings: dict[str, float] = {}
    step = _Stepper(timings, progress)
    with explainers.lock:
        with step("predict"):
            probabilities = _predict_one(space, x)
        prediction = Prediction(
            probabilities={c: float(p) for c, p in zip(schema.class_names, probabilities, strict=True)},
            predicted_class=schema.class_names[int(np.argmax(probabilities))],
            adverse_class=schema.adverse_class or "", adverse_probability=float(probabilities[space.adverse_index]),
            cutoff=rule.cutoff)
        decision = decide(rule, prediction.adverse_probability, schema.class_names, bank_decision=bank_decision,
                          reasons_asked=reasons_asked)
        lime_out = anchor_out = shap_out = None
        counterfactual_out: CounterfactualOutcome | None = None
        protected = protected_names(schema, policy.protected_features)
        methods = options.methods
        if "counterfactual" in methods and decision.by_rule != "adverse":
            if options.counterfactual_asked:  # asked by name: say why not; by default: simply not run
                recourse.require_adverse(decision.by_rule, prediction.adverse_probability, rule.cutoff)
            methods = tuple(m for m in methods if m != "counterfactual")
        try:
            if "lime" in options.methods:
                with step("lime"):
                    lime_out = explainers.lime.explain(x, seed=options.seed, params=options.lime)
            if "anchor" in options.methods:
                with step("anchor"):  # the anchor explains the rule's decision, not the more probable class
                    anchor_out = explainers.anchor.explain(x, adverse=decision.by_rule == "adverse",
                                                           cutoff=rule.cutoff, seed=options.seed,
                                                           params=options.anchor)
            if "shap" in options.methods:
                with step("shap"):
                    shap_out = explainers.shap.explain(x, seed=options.seed, samples=options.shap_samples)
            if "counterfactual" in methods:
                with step("counterfactual"):
                    counterfactual_out = explainers.counterfactual.explain(
                        x, cutoff=rule.cutoff, protected=protected, params=options.counterfactual)
        except XaiGovError:
            raise
        except Exception as exc:  # the model failed mid-explanation: say so, store nothing
            raise ModelCheckFailed(f"the model failed while explaining {version.ref}: {type(exc).__name__}: {exc}",
                                   code="model_failed") from exc
    names = schema.names
    contributions, source = ((shap_out.values, "shap") if shap_out else
                             (lime_out.fit.weights, "lime") if lime_out else ({}, "none"))
    reason_map = version_reason_map(schema, reason_map)
    reasons, withheld = [], []
    if decision.reasons_kind is not None:
        reasons, withheld = reason_map.principal_reasons(
            contributions, schema, clean, source=source, protected=protected,
            limit=policy.document.explanation.max_reasons)
    with explainers.lock:
        accuracies = reason_accuracy(space, explainers.references, x, [names.index(r.feature) for r in reasons],
                                     prediction.adverse_probability)
    reason_dicts = [{**r.to_dict(), "accuracy": a} for r, a in zip(reasons, accuracies, strict=True)]
    scores = _scores(lime_out, anchor_out, shap_out, prediction, names, options)
    scores["protected"] = {"features": sorted(protected), "source": source,
                           "attribution_share": attribution_share(contributions, schema, protected)}
    if counterfactual_out is not None:
        scores["recourse"] = recourse.scores(counterfactual_out)
    verdict = with_reason_checks(evaluate_explanation(policy, scores, withheld), reason_dicts,
                                 adverse=decision.adverse)
    sections = {key: section for key, section in (
        ("lime", _lime_dict(lime_out, schema, clean) if lime_out else None),
        ("anchor", _anchor_dict(anchor_out) if anchor_out else None),
        ("shap", _shap_dict(shap_out, schema, clean) if shap_out else None),
        ("counterfactuals", None if counterfactual_out is None else recourse.to_record(
            counterfactual_out, explainers.counterfactual, x, cutoff=rule.cutoff, params=options.counterfactual)),
    ) if section is not None}
    return ExplanationRecord(
        id=uuid.uuid4().hex, model=version.name, version=version.version, decision_id=decision_id,
        requested_by=requested_by, requested_at=utcnow(), instance=as_entered(instance),
        instance_sha256=sha256_json(clean), prediction=prediction, methods=methods,
        sections=sections, scores=scores, reasons=reason_dicts, withheld_reasons=withheld, seed=options.seed,
        parameters={**replace(options, methods=methods).parameters(), "model_path": space.model_path},
        library_versions=library_versions(),
        background_sha256=version.background_sha256, reason_map=reason_map.source, verdict=verdict.to_dict(),
        timings=timings, decision=decision.to_dict(), cautions=schema.cautions(clean))


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


def _scores(lime: LimeOutcome | None, anchor: AnchorOutcome | None, shap: ShapOutcome | None,
            prediction: Prediction, names: list[str], options: ExplainOptions) -> dict[str, Any]:
    fidelity: dict[str, Any] = {}
    stability: dict[str, Any] = {}
    sparsity: dict[str, Any] = {}
    agreement: dict[str, Any] | None = None
    if lime:
        fidelity["lime"] = {"fresh_weighted_r2": lime.fresh_r2, "in_sample_r2": lime.fit.score,
                            "local_error": lime.local_error}
        stability["lime"] = lime.stability.to_dict()
        sparsity["lime"] = lime_sparsity(lime.fit.weights).to_dict()
    if anchor:
        fidelity["anchor"] = {
            "search_precision": anchor.search_precision, "fresh_precision": anchor.fresh_precision,
            "fresh_precision_lower_95": anchor.fresh_precision_lower_95, "fresh_samples": anchor.fresh_samples,
            "coverage": anchor.coverage, "covers_no_applicant": anchor.covers_no_applicant,
            "threshold": anchor.threshold, "threshold_met": anchor.threshold_met,
            "threshold_judged_on": "fresh_precision_lower_95", "engine": anchor.engine}
        stability["anchor"] = anchor.stability.to_dict()
        sparsity["anchor"] = anchor_sparsity(anchor.conditions).to_dict()
    if shap:
        fidelity["shap"] = {"additivity_error": additivity_error(shap.base_value,
                                                                 np.array(list(shap.values.values())),
                                                                 prediction.adverse_probability)}
        sparsity["shap"] = shap_sparsity(shap.values).to_dict()
    if lime and shap:
        agreement = lime_shap_agreement(lime.fit.weights, shap.values, names, top_n=options.agreement_top_n).to_dict()
    return {"fidelity": fidelity, "stability": stability, "sparsity": sparsity, "agreement": agreement}


def _lime_dict(outcome: LimeOutcome, schema: Any, instance: dict[str, Any]) -> dict[str, Any]:
    weights = sorted(outcome.fit.weights.items(), key=lambda item: (-abs(item[1]), item[0]))
    return {
        "explained_class": schema.adverse_class,
        "weights": [{"feature": schema.features[j].name, "label": schema.features[j].label,
                     "condition": _lime_condition(schema.features[j], outcome.conditions.get(j), instance),
                     "value": instance[schema.features[j].name], "weight": w} for j, w in weights],
        "intercept": outcome.fit.intercept, "local_prediction": outcome.fit.local_prediction,
        "model_prediction": outcome.model_prediction, "in_sample_r2": outcome.fit.score,
    }


def _lime_condition(feature: Any, binned: str | None, instance: dict[str, Any]) -> str:
    """LIME's condition in the feature's words: the bin for numbers, the category for categories."""
    if instance[feature.name] is None:
        return f"{feature.label} is missing"
    if feature.kind == "categorical" or binned is None:
        return f"{feature.label} = {instance[feature.name]}"
    return binned.replace(feature.name, feature.label)


def _anchor_dict(outcome: AnchorOutcome) -> dict[str, Any]:
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


def _shap_dict(outcome: ShapOutcome, schema: Any, instance: dict[str, Any]) -> dict[str, Any]:
    values = sorted(outcome.values.items(), key=lambda item: (-abs(item[1]), item[0]))
    return {"explained_class": schema.adverse_class, "algorithm": outcome.algorithm, "base_value": outcome.base_value,
            "values": [{"feature": schema.features[j].name, "label": schema.features[j].label,
                        "value": instance[schema.features[j].name], "contribution": v} for j, v in values]}


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
