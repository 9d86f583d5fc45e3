"""Evaluating explanations and model versions against the policy in force."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from xai_gov.errors import XaiGovError
from xai_gov.explain import methods
from xai_gov.lineage.models import LineageRecord
from xai_gov.policies.models import FeatureRule, Outcome, Policy

_RANK = {"pass": 0, "not_measured": 0, "warn": 1, "fail": 2}


class PolicyViolation(XaiGovError):
    code = "policy_violation"
    reasons: tuple[tuple[str, str], ...] = ()  # (field, reason) for each rule the attempt broke


@dataclass(frozen=True)
class RuleVerdict:
    metric: str
    outcome: Outcome
    value: float | None
    threshold: str  # e.g. ">= 0.95"
    severity: str
    why: str


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome  # the worst of the rules: pass, warn or fail
    rules: tuple[RuleVerdict, ...]
    withheld_reasons: tuple[str, ...]
    policy: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "rules": [asdict(r) for r in self.rules],
                "withheld_reasons": list(self.withheld_reasons), "policy": self.policy}


def evaluate_explanation(policy: Policy, scores: dict[str, Any], withheld: list[str], *,
                         sections: Mapping[str, Any] | None = None, protected: Iterable[str] = ()) -> Verdict:
    """Each rule against the explanation: a threshold against its score, a feature rule against the method's
    section; a score or section the request did not compute is 'not_measured'."""
    verdicts = []
    for rule in policy.document.explanation.rules:
        if isinstance(rule, FeatureRule):
            verdicts.append(_feature_verdict(rule, sections or {}, frozenset(protected)))
            continue
        value = _lookup(scores, rule.metric)
        if rule.min is not None:
            threshold, passed = f">= {rule.min:g}", value is not None and value >= rule.min
        else:
            threshold, passed = f"<= {rule.max:g}", value is not None and value <= (rule.max or 0.0)
        outcome: Outcome = "not_measured" if value is None else ("pass" if passed else rule.severity)
        verdicts.append(RuleVerdict(rule.metric, outcome, value, threshold, rule.severity, rule.why))
    worst: Outcome = max((v.outcome for v in verdicts), key=lambda o: _RANK[o], default="pass")
    return Verdict(outcome="pass" if worst == "not_measured" else worst, rules=tuple(verdicts),
                   withheld_reasons=tuple(withheld), policy=policy.to_dict())


def _feature_verdict(rule: FeatureRule, sections: Mapping[str, Any], protected: frozenset[str]) -> RuleVerdict:
    method = methods.method(rule.method)
    section = sections.get(method.section)
    metric = f"{rule.kind}.{rule.method}"
    if section is None:
        return RuleVerdict(metric, "not_measured", None, "no protected feature", rule.severity, rule.why)
    found = sorted(protected.intersection(method.features_of(section)))
    return RuleVerdict(metric, rule.severity if found else "pass", float(len(found)), "no protected feature",
                       rule.severity, rule.why + (f" (it rests on: {', '.join(found)})" if found else ""))


def with_reason_checks(verdict: Verdict, reasons: list[dict[str, Any]], *, adverse: bool) -> Verdict:
    """The verdict with the reasons checked too: an adverse decision without a principal reason fails;
    a stated reason whose feature, moved alone to its reference value, does not lower the probability
    of the adverse class is flagged (warn) as not accurate."""
    extra = []
    if adverse and not reasons:
        extra.append(RuleVerdict("reasons.count", "fail", 0.0, ">= 1", "fail",
                                 "An adverse decision must state its principal reasons; none could be stated."))
    for reason in reasons:
        accuracy = reason.get("accuracy")
        if accuracy and not accuracy["lowers_adverse"]:
            extra.append(RuleVerdict(
                f"reasons.accuracy.{reason['feature']}", "warn", accuracy["change"], "< 0", "warn",
                f"The stated reason '{reason['statement']}' is not accurate: moving {reason['label']} alone to "
                f"{accuracy['reference']} does not lower the probability of the adverse class."))
    if not extra:
        return verdict
    rules = verdict.rules + tuple(extra)
    worst: Outcome = max((r.outcome for r in rules), key=lambda o: _RANK[o], default="pass")
    return Verdict(outcome="pass" if worst == "not_measured" else worst, rules=rules,
                   withheld_reasons=verdict.withheld_reasons, policy=verdict.policy)


def production_refusals(policy: Policy, lineage: LineageRecord) -> list[tuple[str, str]]:
    """Why a version may not take the production alias under ``policy``: (field, reason) pairs, empty if it may.

    The lineage fields the policy names must be present; where the policy says so, the code must be
    recorded as committed (``code_dirty`` false) and a second person must have approved the version.
    """
    rules = policy.document.model
    reasons = [(name, f"lineage lacks {name}") for name in missing_for_production(policy, lineage)]
    if rules.production_requires_clean_code and lineage.code_dirty is not False:
        reasons.append(("code_dirty", "trained from uncommitted code" if lineage.code_dirty else
                        "whether the code was committed is not recorded"))
    if rules.production_requires_approval and not lineage.approver:
        reasons.append(("approver", "no second person approved it (xai-gov models approve)"))
    return reasons


def check_production_lineage(policy: Policy, ref: str, lineage: LineageRecord) -> None:
    """Refuse the production alias to a version the policy does not allow there, naming every reason."""
    reasons = production_refusals(policy, lineage)
    if reasons:
        missing = [name for name, why in reasons if why.startswith("lineage lacks")]
        parts = ([f"requires lineage it lacks: {', '.join(missing)}"] if missing else []) + [
            why for name, why in reasons if name not in missing]
        error = PolicyViolation(f"{ref} may not take the production alias: policy {policy.document.name!r}"
                                + (" " if missing else ": ") + "; ".join(parts), field=reasons[0][0])
        error.reasons = tuple(reasons)
        raise error


def missing_for_production(policy: Policy, lineage: LineageRecord) -> list[str]:
    """The lineage fields the policy requires for the production alias that ``lineage`` lacks, in policy order."""
    return [name for name in policy.document.model.production_requires if _is_missing(getattr(lineage, name))]


def _is_missing(value: Any) -> bool:
    return value is None or value == {} or value == ""


def score_at(scores: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of an explanation's scores ("fidelity.lime.local_error"), or None."""
    node: Any = scores
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return None
        node = node[part]
    return node


def _lookup(scores: dict[str, Any], metric: str) -> float | None:
    node = score_at(scores, metric)
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else None
