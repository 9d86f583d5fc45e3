"""The governance policy: its validated shape, loading with errors that name file and line, evaluation.

A policy sets thresholds on an explanation's scores (each a warn or a fail), the
features never stated as reasons, the maximum number of reasons, and the lineage
a model version needs before it may take the ``production`` alias, and what one
explanation request may cost per role (``fair_use``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from xai_gov.errors import InvalidInput
from xai_gov.explain import methods
from xai_gov.lineage.models import LINEAGE_FIELDS
from xai_gov.policies.monitoring import MonitoringPolicy

Severity = Literal["warn", "fail"]  # also in xai_gov.policies.monitoring, which this module imports
Outcome = Literal["pass", "warn", "fail", "not_measured"]

#: Scores a rule may name (paths into an explanation's scores): every registered method's metrics and the
#: engine's cross-method ones (``xai_gov.explain.methods``).
def known_metrics() -> frozenset[str]:
    return frozenset(metric.path for metric in methods.metrics())


class ScoreRule(BaseModel):
    """A threshold on one score: ``min`` or ``max``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["threshold"] = "threshold"
    metric: str
    min: float | None = None
    max: float | None = None
    severity: Severity
    why: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ScoreRule:
        known = known_metrics()
        if self.metric not in known:
            raise ValueError(f"unknown metric {self.metric!r}; known: {', '.join(sorted(known))}")
        if (self.min is None) == (self.max is None):
            raise ValueError("a rule sets exactly one of min or max")
        return self


class FeatureRule(BaseModel):
    """A rule on which features a method's result rests on, not a threshold: ``no_protected_feature`` fails
    (or warns) when the result names a protected feature, e.g. an anchor rule that conditions on age."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["no_protected_feature"]
    method: str
    severity: Severity
    why: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> FeatureRule:
        named = [m.name for m in methods.registered() if m.rests_on_features]
        if self.method not in named:
            raise ValueError(f"{self.kind} needs a method whose result names the features it rests on: one of "
                             f"{', '.join(named)}, not {self.method!r}")
        return self


def _rule_kind(rule: Any) -> str:
    """A rule's kind: its ``kind`` (a threshold where it has none, as every rule once was)."""
    return str(rule.get("kind", "threshold") if isinstance(rule, dict) else getattr(rule, "kind", "threshold"))


RULE_KINDS = ("threshold", "no_protected_feature")
Rule = Annotated[Annotated[ScoreRule, Tag("threshold")] | Annotated[FeatureRule, Tag("no_protected_feature")],
                 Discriminator(_rule_kind)]


class ExplanationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list)
    protected_features: list[str] = Field(default_factory=list)
    max_reasons: int = Field(default=4, ge=1, le=4)


class ModelPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    production_requires: list[str] = Field(default_factory=lambda: ["hyperparameters", "seeds"])
    #: A second person (an owner or approver who did not register it) approved the version.
    production_requires_approval: bool = True
    #: The version was trained from committed code: ``code_dirty`` is recorded and false.
    production_requires_clean_code: bool = True

    @field_validator("production_requires")
    @classmethod
    def _known_fields(cls, fields: list[str]) -> list[str]:
        unknown = [f for f in fields if f not in LINEAGE_FIELDS]
        if unknown:
            raise ValueError(f"unknown lineage field {unknown[0]!r}; known: {', '.join(LINEAGE_FIELDS)}")
        return fields


def cost_parameters() -> dict[str, Any]:
    """Explainer parameters that set what an explanation costs (each method's ``costs``), with the value a
    request gets without asking: a role's cap is the most a request may ask for, never below the default."""
    return {f"{m.name}.{name}": getattr(m.params(), name) for m in methods.registered() for name in m.costs}


ROLES: tuple[str, ...] = ("officer", "auditor", "owner", "approver", "admin")


class FairUsePolicy(BaseModel):
    """What one request may cost: per role, the most each cost parameter may be (absent: only the
    service's own bounds apply)."""

    model_config = ConfigDict(extra="forbid")

    explanation_caps: dict[str, dict[str, int]] = Field(default_factory=dict)

    @field_validator("explanation_caps")
    @classmethod
    def _known(cls, caps: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for role, limits in caps.items():
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
            known = cost_parameters()
            for name, cap in limits.items():
                if name not in known:
                    raise ValueError(f"{role}: unknown cost parameter {name!r}; known: {', '.join(known)}")
                if cap < known[name]:
                    raise ValueError(f"{role}: {name} cap {cap} is below its default {known[name]} (a "
                                     "request with the default parameters must always be allowed)")
        return caps


class PolicyDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    explanation: ExplanationPolicy = Field(default_factory=ExplanationPolicy)
    model: ModelPolicy = Field(default_factory=ModelPolicy)
    monitoring: MonitoringPolicy = Field(default_factory=MonitoringPolicy)
    fair_use: FairUsePolicy = Field(default_factory=FairUsePolicy)


@dataclass(frozen=True)
class Policy:
    """A loaded policy with where it came from and the SHA-256 of the file's bytes."""

    document: PolicyDocument
    path: str
    sha256: str

    @property
    def protected_features(self) -> frozenset[str]:
        return frozenset(self.document.explanation.protected_features)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.document.name, "version": self.document.version, "path": self.path,
                "sha256": self.sha256}


def load_policy(path: Path) -> Policy:
    """Load and validate a policy file; any problem names the file, the line and what is wrong."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"policy file not found: {path}", code="policy_invalid", field="policy") from None
    try:
        text = data.decode("utf-8")
        raw = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text: {exc}", code="policy_invalid", field="policy") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(f"{path}, {where}: not valid YAML: {problem}", code="policy_invalid",
                           field="policy") from exc
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        # A rule's kind appears in the location as the tagged union's tag: not a key of the file.
        location = tuple(part for part in first["loc"] if part not in RULE_KINDS)
        line = _line_of(text, location)
        dotted = ".".join(str(part) for part in location) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"{path}, line {line}: {dotted}: {message}", code="policy_invalid",
                           field="policy") from exc
    return Policy(document=document, path=str(path), sha256=hashlib.sha256(data).hexdigest())


def _line_of(text: str, location: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at ``location``, or of the nearest parent that exists."""
    node = yaml.compose(text)
    line = node.start_mark.line + 1 if node is not None else 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next((value for key, value in node.value if key.value == part), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
