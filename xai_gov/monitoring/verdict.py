"""A monitoring run's verdict: each check against the policy's thresholds, the worst one overall."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xai_gov.monitoring.models import (
    Check,
    ExplanationDrift,
    FairLending,
    InputDrift,
    MonitoringVerdict,
    Outcome,
    PredictionDrift,
    TrustDrift,
)
from xai_gov.policies.models import Policy

_RANK = {"pass": 0, "not_computed": 0, "warn": 1, "fail": 2}


def verdict(policy: Policy, inputs: InputDrift | None, scores: PredictionDrift | None,
            attribution: ExplanationDrift | None, trust: TrustDrift | None,
            fair: FairLending | None) -> MonitoringVerdict:
    rules = policy.document.monitoring
    checks = [
        _check("input drift", inputs, lambda d: d.drifted, lambda d: d.drifted_share,
               f"share of drifted features < {rules.input_drift.dataset_share:g} (a feature drifts at p < "
               f"{rules.input_drift.p_value:g} or PSI >= {rules.input_drift.psi:g})",
               rules.input_drift.severity, rules.input_drift.why),
        _check("prediction drift", scores, lambda d: d.drifted, lambda d: min(d.ks_p_value, d.rate_p_value),
               f"KS and decision-rate p-values >= {rules.prediction_drift.p_value:g}",
               rules.prediction_drift.severity, rules.prediction_drift.why),
        _check("explanation drift", attribution, lambda d: d.drifted, lambda d: d.top_overlap,
               f"top-{rules.explanation_drift.top_n} overlap >= {rules.explanation_drift.min_top_overlap:g}",
               rules.explanation_drift.severity, rules.explanation_drift.why),
        _check("trust drift", trust, lambda d: d.drifted, lambda d: d.current_flagged_share,
               f"no score lower with KS p < {rules.trust_drift.p_value:g}; no rise in policy warnings or "
               f"failures at Fisher p < {rules.trust_drift.p_value:g}",
               rules.trust_drift.severity, rules.trust_drift.why),
    ]
    fairness = rules.fair_lending
    if fair is None:
        checks.append(Check(check="four-fifths rule", outcome="not_computed", value=None,
                            threshold=f"adverse impact ratio >= {fairness.four_fifths:g}", why=fairness.why))
    else:
        for result in fair.results:
            passed = result.four_fifths_passed
            checks.append(Check(
                check=f"four-fifths rule: {result.label}",
                outcome="not_computed" if passed is None else ("pass" if passed else fairness.severity),
                value=result.min_adverse_impact_ratio,
                threshold=f"adverse impact ratio >= {fairness.four_fifths:g}", why=fairness.why))
            proxy = result.proxy
            checks.append(Check(
                check=f"proxy check: {result.label}",
                outcome="not_computed" if proxy is None else (fairness.proxy_severity if proxy.flagged else "pass"),
                value=None if proxy is None else proxy.auc, threshold=f"AUC < {fairness.proxy_auc:g}",
                why=fairness.proxy_why))
    worst: Outcome = max((c.outcome for c in checks), key=lambda o: _RANK[o], default="pass")
    return MonitoringVerdict(outcome="pass" if worst == "not_computed" else worst, checks=tuple(checks),
                             policy=policy.to_dict())


def _check(name: str, part: Any, drifted: Callable[[Any], bool], value: Callable[[Any], float], threshold: str,
           severity: str, why: str) -> Check:
    if part is None:
        return Check(check=name, outcome="not_computed", value=None, threshold=threshold, why=why)
    outcome: Outcome = severity if drifted(part) else "pass"  # type: ignore[assignment]
    return Check(check=name, outcome=outcome, value=float(value(part)), threshold=threshold, why=why)
