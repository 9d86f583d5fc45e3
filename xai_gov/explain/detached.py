"""Explaining away from the store: in a worker process or on a Dask worker.

A ``DetachedExplainer`` carries everything one model version's explanations
need — the version, its artifact's bytes, its background sample, the reason map,
the policy and the explanation options — so a worker that cannot reach the
database or the data directory computes exactly the record the service would.
Workers build each version's explainers once (a per-process cache) and return
records; the submitting process stores them with their ledger events.

Explanations are seeded per call, so a record computed in a worker is the same,
field by field, as one computed in the service (tested).

A worker process computes one explanation at a time on one core: ``one_thread_per_process``
keeps numerical libraries from starting threads of their own there (OpenBLAS's spin while
they wait, taking the core another worker needs). Local workers also run at a
lower CPU priority than the service (``yield_to_the_service``), so its lookups never queue
behind explanations for a core.

The service's own pool runs on the service's machine: its requests name the version's
files in the artifact store instead of carrying them (``by_reference``), so the bytes of
the artifact and background are not pickled into every request; a worker
reads them, hash-checked, once per version it builds.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from xai_gov.explain.engine import ExplainOptions, Progress, VersionExplainers, explain_instance, trial_explanation
from xai_gov.explain.reasons import ReasonMap
from xai_gov.explain.records import ExplanationRecord
from xai_gov.policies.models import Policy
from xai_gov.registry.adapters import adapter_from_spec
from xai_gov.registry.artifacts import ArtifactStore
from xai_gov.registry.models import ModelVersion

#: Explainers built in this process, by version and stored hashes, most recently used last. A batch uses
#: one version; a service worker serves a few, so the last ``KEEP_VERSIONS`` stay built.
_BUILT: OrderedDict[tuple[str, str | None, str], VersionExplainers] = OrderedDict()
_BUILD_LOCK = threading.Lock()
KEEP_VERSIONS = 4
_ONE_THREAD: list[threadpool_limits] = []  # the limit in force in this process, kept alive


def one_thread_per_process() -> None:
    """Numerical libraries (OpenBLAS, OpenMP) use one thread in this process from now on. Called once by
    each worker process: with N workers on N cores, their own threads only compete for the same cores."""
    if not _ONE_THREAD:
        _ONE_THREAD.append(threadpool_limits(limits=1))


#: How much lower a local worker process's CPU priority is than the process it works for (``os.nice``): the
#: lowest there is. A lookup appends to the ledger under its lock, and while it waits for a core, every other
#: appender waits for it; at niceness 5, PostgreSQL's ledger lock waits under fifty users were twice as long
#: (bench/scale_bench.py, fifty users: 2.1-2.4 ms mean, 99% within 50-100 ms; at 19, 1.1-1.2 ms and 25 ms).
WORKER_NICENESS = 19


def yield_to_the_service() -> None:
    """Lower this worker process's CPU priority below the service's (or a batch's writing process): with
    every core computing explanations, the service's own short work (a lineage lookup, reading a record,
    storing a result) would otherwise wait for a time slice behind them. Explanations still take every core
    nothing else wants. Called once by each local worker process (not on Dask, whose machines are its own)."""
    with contextlib.suppress(OSError):  # a platform that refuses: the worker runs at the service's priority
        os.nice(WORKER_NICENESS)


@dataclass(frozen=True)
class DetachedExplainer:
    version: ModelVersion
    artifact: bytes | None
    background: pd.DataFrame
    reason_map: ReasonMap
    policy: Policy
    options: ExplainOptions
    requested_by: str
    #: where a worker reads the artifact and background when they are not carried (``by_reference``)
    files: ArtifactStore | None = None

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.version.ref, self.version.artifact_sha256, self.version.background_sha256)

    def explainers(self) -> VersionExplainers:
        with _BUILD_LOCK:
            built = _BUILT.get(self.key)
            if built is None:
                artifact, background = self._files()
                adapter = adapter_from_spec(self.version.adapter_spec, artifact)
                built = _BUILT[self.key] = VersionExplainers(self.version, adapter, background)
                while len(_BUILT) > KEEP_VERSIONS:
                    _BUILT.popitem(last=False)
            _BUILT.move_to_end(self.key)
            return built

    def explain(self, decision_id: str, instance: dict[str, Any], *, progress: Progress | None = None,
                bank_decision: str | None = None, reasons_asked: bool = False) -> ExplanationRecord:
        """The record for one applicant, not stored."""
        return explain_instance(self.explainers(), instance, options=self.options, decision_id=decision_id,
                                requested_by=self.requested_by, reason_map=self.reason_map, policy=self.policy,
                                progress=progress, bank_decision=bank_decision, reasons_asked=reasons_asked)

    def warm(self) -> None:
        """Build this version's explainers in this process and run one trial explanation (``TRIAL``'s small
        sample counts, not stored), so the first real request finds its libraries imported and every method's
        state built: on the shipped model that is about a second, mostly SHAP's import and tree explainer."""
        trial_explanation(self.explainers(), requested_by=self.requested_by, reason_map=self.reason_map,
                          policy=self.policy)

    def with_request(self, *, options: ExplainOptions, requested_by: str) -> DetachedExplainer:
        """The same version for another request's options and requester (the files are not read again)."""
        return replace(self, options=options, requested_by=requested_by)

    def by_reference(self, files: ArtifactStore) -> DetachedExplainer:
        """This explainer without the artifact and background, naming the store a worker on this machine
        reads them from (only when it has not built the version yet)."""
        return replace(self, artifact=None, background=self.background.iloc[0:0], files=files)

    def _files(self) -> tuple[bytes | None, pd.DataFrame]:
        if self.files is None:
            return self.artifact, self.background
        version = self.version
        artifact = self.files.get(version.artifact_sha256) if version.artifact_sha256 else None
        return artifact, version.schema.read_background(self.files.get(version.background_sha256))


def explain_detached(explainer: DetachedExplainer, decision_id: str, instance: dict[str, Any]) -> ExplanationRecord:
    """A module-level function (picklable by reference) for process pools and Dask."""
    return explainer.explain(decision_id, instance)
