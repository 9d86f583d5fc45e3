"""Explaining away from the store: in a worker process or on a Dask worker.

A ``DetachedExplainer`` carries everything one model version's explanations
need — the version, its artifact's bytes, its background sample, the reason map,
the policy and the explanation options — so a worker that cannot reach the
database or the data directory computes exactly the record the service would.
Workers build each version's explainers once (a per-process cache) and return
records; the submitting process stores them with their ledger events.

Explanations are seeded per call, so a record computed in a worker is the same,
field by field, as one computed in the service (tested).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pandas as pd

from xai_gov.explain.engine import ExplainOptions, VersionExplainers, explain_instance
from xai_gov.explain.records import ExplanationRecord
from xai_gov.policies.models import Policy
from xai_gov.policies.reasons import ReasonMap
from xai_gov.registry.adapters import adapter_from_spec
from xai_gov.registry.models import ModelVersion

#: Explainers built in this process, by version and stored hashes. A batch uses one version, so this
#: stays small; it is cleared when another version arrives.
_BUILT: dict[tuple[str, str | None, str], VersionExplainers] = {}
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class DetachedExplainer:
    version: ModelVersion
    artifact: bytes | None
    background: pd.DataFrame
    reason_map: ReasonMap
    policy: Policy
    options: ExplainOptions
    requested_by: str

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.version.ref, self.version.artifact_sha256, self.version.background_sha256)

    def explainers(self) -> VersionExplainers:
        with _BUILD_LOCK:
            built = _BUILT.get(self.key)
            if built is None:
                _BUILT.clear()
                adapter = adapter_from_spec(self.version.adapter_spec, self.artifact)
                built = _BUILT[self.key] = VersionExplainers(self.version, adapter, self.background)
            return built

    def explain(self, decision_id: str, instance: dict[str, Any]) -> ExplanationRecord:
        """The record for one applicant, not stored."""
        return explain_instance(self.explainers(), instance, options=self.options, decision_id=decision_id,
                                requested_by=self.requested_by, reason_map=self.reason_map, policy=self.policy)


def explain_detached(explainer: DetachedExplainer, decision_id: str, instance: dict[str, Any]) -> ExplanationRecord:
    """A module-level function (picklable by reference) for process pools and Dask."""
    return explainer.explain(decision_id, instance)
