"""Metaflow's flow, run, step and task ids, when registration runs inside a Metaflow step.

No dependency on Metaflow: ``metaflow.current`` is read only when the training
code has already imported Metaflow (a step always has), and the environment
variables ``METAFLOW_FLOW_NAME``, ``METAFLOW_RUN_ID``, ``METAFLOW_STEP_NAME``
and ``METAFLOW_TASK_ID`` are read when set (by a scheduler, or the step's
``@environment``). Outside a flow nothing is recorded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

_FIELDS = ("flow_name", "run_id", "step_name", "task_id")


@dataclass(frozen=True)
class MetaflowIds:
    flow_name: str | None
    run_id: str | None
    step_name: str | None
    task_id: str | None
    pathspec: str | None
    read_from: str  # "metaflow.current" or "environment"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def metaflow_ids(environ: Mapping[str, str] | None = None) -> MetaflowIds | None:
    """The ids of the Metaflow task this process runs in, or None outside one."""
    found = _from_current()
    if found is not None:
        return found
    environ = os.environ if environ is None else environ
    values = {name: environ.get(f"METAFLOW_{name.upper()}") or None for name in _FIELDS}
    if values["flow_name"] is None or values["run_id"] is None:
        return None
    return MetaflowIds(**values, pathspec=_pathspec(values), read_from="environment")


def _from_current() -> MetaflowIds | None:
    module = sys.modules.get("metaflow")  # only if already imported: never import Metaflow ourselves
    current = getattr(module, "current", None) if module is not None else None
    if current is None or not getattr(current, "is_running_flow", False):
        return None
    values = {}
    for name in _FIELDS:
        try:
            value = getattr(current, name, None)
        except Exception:  # current raises outside a task for some attributes
            value = None
        values[name] = None if value is None else str(value)
    return MetaflowIds(**values, pathspec=_pathspec(values), read_from="metaflow.current")


def _pathspec(values: Mapping[str, str | None]) -> str | None:
    parts = [values.get(name) for name in _FIELDS]
    known = []
    for part in parts:
        if part is None:
            break
        known.append(part)
    return "/".join(known) if len(known) >= 2 else None
