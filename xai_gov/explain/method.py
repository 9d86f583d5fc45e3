"""The contract every explanation method keeps, so the engine, policy, packets, CLI and API need not know it.

A method is a module in ``xai_gov.explain.methods`` that defines ``METHOD``, an
instance of a ``Method`` subclass. It declares:

- its ``name`` (what a request's ``methods`` names), its record ``section`` (the
  record's key for its result) and a ``title`` for people;
- its parameters: a frozen dataclass of defaults (``params``) and, for each one a
  request may set, its ``bounds`` (a number range or a choice): anything else is
  refused by name before any work starts;
- its ``metrics``: the dotted paths into an explanation's scores it writes, each
  with its meaning and the quality criterion it belongs to; the policy's rules may
  name any of them;
- ``build(space)``: per model version state (a discretiser, an explainer), built
  once per process or worker; ``run(state, job)``: one applicant, on the model space,
  returning an ``Outcome`` with the record section, the scores and, for an attribution
  method, the attribution per feature (the source of reasons and agreement);
- optionally ``rows_ahead(state, x, seed, params)``: rows it will send to the model
  whatever the model answers (a remote model gets them with the explanation's first call), and
  ``params_of_record(stored)``: its parameters as a stored record's replay sets them (a
  parameter added later, whose absence in an older record means what was done then).

Renderers (the decision packet, the CLI, the web page) find a method's section by
the same key: ``xai_gov.reports.sections``, ``xai_gov.cli.sections``, ``api.pages.sections``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from xai_gov.errors import InvalidInput
from xai_gov.explain.space import ModelSpace
from xai_gov.registry.schema import FeatureSchema
from xai_gov.validation import check_number, printable

Criterion = Literal["fidelity", "stability", "sparsity", "coverage", "recourse"]


@dataclass(frozen=True)
class Metric:
    """One score a method writes: its dotted path in the record's scores, what it means, its criterion."""

    path: str  # "fidelity.lime.fresh_weighted_r2"
    meaning: str
    criterion: Criterion


@dataclass(frozen=True)
class Bound:
    """What a request may set a parameter to: a number in [low, high] (an int where the default is one),
    or one of ``choices``."""

    low: float = 0.0
    high: float = 0.0
    choices: tuple[str, ...] = ()
    nullable: bool = False  # None is allowed too (e.g. Anchor's max_anchor_size: no limit)


@dataclass(frozen=True)
class Job:
    """One applicant, as every method sees it."""

    x: np.ndarray  # the applicant on the model space (``ModelSpace``)
    clean: dict[str, Any]  # the validated instance, in the schema's words
    schema: FeatureSchema
    seed: int
    params: Any  # the method's ``params`` instance
    adverse: bool  # the version's rule declines the applicant
    cutoff: float  # the rule's cutoff on P(adverse)
    adverse_probability: float
    protected: frozenset[str]  # feature names never stated as reasons and never changed


@dataclass(frozen=True)
class Outcome:
    """What a method returns for one applicant."""

    section: dict[str, Any]  # the record's section (JSON values only)
    scores: dict[str, dict[str, Any]]  # dotted prefix -> figures: {"fidelity.lime": {...}, "stability.lime": ...}
    attributions: dict[int, float] | None = None  # feature index -> contribution toward the adverse class


class Method(ABC):
    """An explanation method: see the module's docstring."""

    name: ClassVar[str]
    section: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]  # what its section holds, in a sentence (the API's schema says it)
    #: Place in records, packets and pages (and in the default ``methods``): lower comes first.
    order: ClassVar[int]
    params: ClassVar[type]
    bounds: ClassVar[Mapping[str, Bound]] = {}
    metrics: ClassVar[tuple[Metric, ...]] = ()
    #: The parameters that set what one explanation costs: the policy's fair-use caps may limit them per role.
    costs: ClassVar[tuple[str, ...]] = ()
    #: Runs by default only where the rule declines; named for an applicant it approves, it is refused.
    only_adverse: ClassVar[bool] = False
    #: The record's parameters hold this method's even where it did not run (LIME's and Anchor's always
    #: did, and replays of those records compare them); a new method's appear only where it ran.
    parameters_always_stored: ClassVar[bool] = False
    #: Whether the record's parameters hold this method's at all (SHAP's only one is not a request's to set).
    parameters_stored: ClassVar[bool] = True
    #: For an attribution method, its rank as the source of reasons (lowest first); None: not one.
    attribution_rank: ClassVar[int | None] = None

    @abstractmethod
    def build(self, space: ModelSpace) -> Any:
        """Per model version state, built once per process (or worker) and reused for every applicant."""

    @abstractmethod
    def run(self, state: Any, job: Job) -> Outcome:
        """Explain one applicant."""

    def rows_ahead(self, state: Any, x: np.ndarray, *, seed: int, params: Any) -> list[np.ndarray]:
        """Rows (model space) ``run`` will send to the model for the applicant ``x`` whatever the model answers
        (so known before any call): a model with a high cost per call gets them with the explanation's first
        call. None by default."""
        return []

    def params_of_record(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters a stored record's replay sets, from the record's stored ones (``stored_params``'
        form): by default those a request may set. A method that adds a parameter whose absence in an older
        record means what was done before fills that in here."""
        return {k: v for k, v in stored.items() if k in self.bounds}

    def refuse_favourable(self, job: Job) -> None:
        """Called where the method was named for an applicant the rule approves and ``only_adverse``."""
        raise InvalidInput(f"{self.name} is for a decision the version's rule declines; this applicant's "
                           f"P(adverse) {job.adverse_probability:.3f} is below the cutoff {job.cutoff:g}",
                           field="methods")

    def glance(self, scores: Mapping[str, Any]) -> dict[str, list[str]]:
        """Headline figures per quality criterion, in words, from an explanation's scores (none by default)."""
        return {}

    #: Whether ``features_of`` names the features its result rests on (a policy rule may then forbid some).
    rests_on_features: ClassVar[bool] = False

    def features_of(self, section: Mapping[str, Any]) -> list[str]:
        """The features a stored section's result rests on (an anchor's conditions, a counterfactual's
        changes); only for a method with ``rests_on_features``."""
        return []

    def attributions_of(self, section: Mapping[str, Any]) -> dict[str, float] | None:
        """A stored section's attribution per feature name (for monitoring), or None."""
        return None

    def checked_params(self, values: Any) -> Any:
        """``params(**values)`` after checking each name, type and range against ``bounds``, so nothing odd
        reaches an explainer; a bad one is refused naming ``parameters.<name>.<parameter>``."""
        group = self.name
        if not isinstance(values, dict):
            raise InvalidInput(f"{group} parameters must be an object", field=f"parameters.{group}")
        defaults = self.params()
        for key, value in values.items():
            # Only the declared parameters, by name: hasattr() would let "__class__" through.
            if not isinstance(key, str) or key not in self.bounds:
                known = ", ".join(sorted(self.bounds)) or "none"
                raise InvalidInput(f"unknown {group} parameter {printable(key)!r}; known: {known}",
                                   field=f"parameters.{group}.{printable(key)}")
            _check(self.bounds[key], value, getattr(defaults, key), f"parameters.{group}.{key}", group, key)
        return self.params(**{k: _as_declared(v, getattr(defaults, k)) for k, v in values.items()})

    def stored_params(self, params: Any) -> dict[str, Any]:
        """The parameters as the record keeps them."""
        to_dict = getattr(params, "to_dict", None)
        return to_dict() if to_dict else dataclasses.asdict(params)


def _check(bound: Bound, value: Any, default: Any, field: str, group: str, name: str) -> None:
    if value is None and bound.nullable:
        return
    if bound.choices:
        if value not in bound.choices:
            raise InvalidInput(f"{group} parameter {name} is one of {', '.join(bound.choices)}, "
                               f"not {printable(repr(value))}", field=field)
        return
    expected = float if isinstance(default, float) else int
    check_number(value, field)  # magnitude first: float() of a huge int overflows
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (expected is int and
                                                                         not float(value).is_integer()):
        raise InvalidInput(f"{group} parameter {name} takes a {expected.__name__}, got {value!r}", field=field)
    if not bound.low <= value <= bound.high:
        raise InvalidInput(f"{group} parameter {name} = {value} is outside {bound.low:g}..{bound.high:g}",
                           field=field)


def _as_declared(value: Any, default: Any) -> Any:
    """A whole number given as 3.0 for an int parameter is stored as 3."""
    if value is None or isinstance(value, str) or isinstance(default, float):
        return value
    return int(value)
