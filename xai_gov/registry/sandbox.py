"""An uploaded pickle (joblib) is first loaded in a separate process, never in the service's.

Unpickling runs arbitrary code, so registration loads a joblib artifact only
after every other check has passed (the role, the schema, the background, the
parent version), and then in a child process: a fresh interpreter (``-I``: no
user site, no current directory on the path) in an empty temporary directory,
with an environment holding no ``XAI_GOV_*`` or ``PG*`` variable (no database
URL, no data directory), no inherited file descriptors, its own process group
killed at the time limit, and CPU and memory limits. It answers with plain JSON
(the estimator's type, its classes and its probabilities on a few background
rows), which the service checks like any model's. What it does not do: stop
code that knows where the store is and runs as the same operating-system user
from reading it — run the service as a user the model's code cannot harm, or
register skops artifacts, which load without running code.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xai_gov.errors import InvalidInput, ModelCheckFailed
from xai_gov.registry.adapters import SklearnAdapter

MAX_RESULT_BYTES = 16 * 2**20

# Runs in the child. Only the standard library, joblib, numpy and pandas are imported before the limits are set.
_CHILD = r"""
import json, resource, sys
from pathlib import Path
work, cpu, memory = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
out = {}
try:
    import joblib, numpy as np, pandas as pd
    rows = pd.read_pickle(work / "rows.pkl")
    model = joblib.load(work / "artifact")
    out["estimator"] = type(model).__name__
    classes = getattr(model, "classes_", None)
    out["classes"] = None if classes is None else [str(c) for c in classes]
    if not hasattr(model, "predict_proba"):
        out["error"] = f"{type(model).__name__} has no predict_proba"
    else:
        out["probabilities"] = np.asarray(model.predict_proba(rows), dtype=float).tolist()
except BaseException as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"[:2000]
(work / "result.json").write_text(json.dumps(out))
"""


@dataclass(frozen=True)
class PickleProbe:
    """What the child process reported of the artifact: plain data only."""

    estimator: str
    class_names: tuple[str, ...] | None
    probabilities: np.ndarray


def probe_pickle(data: bytes, rows: pd.DataFrame, *, seconds: float = 60.0,
                 memory_bytes: int = 4 * 2**30) -> PickleProbe:
    """Load ``data`` with joblib in a child process and call its ``predict_proba`` on ``rows``."""
    with tempfile.TemporaryDirectory(prefix="xai-gov-sandbox-") as directory:
        work = Path(directory)
        (work / "artifact").write_bytes(data)
        rows.to_pickle(work / "rows.pkl")  # the service's own data: the child may read it
        environment = {key: value for key, value in os.environ.items()
                       if key in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")}
        environment.update(HOME=directory, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        command = [sys.executable, "-I", "-c", _CHILD, directory, str(max(1, int(seconds) + 1)), str(memory_bytes)]
        child = subprocess.Popen(command, cwd=directory, env=environment, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True,
                                 start_new_session=True)
        try:
            child.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise ModelCheckFailed(f"the joblib artifact did not load and predict within {seconds:g} s "
                                   "(in a separate process, which was stopped)", code="artifact_timeout",
                                   field="artifact") from None
        finally:
            _kill_group(child)
        return _read_result(work / "result.json", len(rows))


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    """Stop the child and anything it started."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def _read_result(path: Path, n_rows: int) -> PickleProbe:
    if not path.exists() or path.stat().st_size > MAX_RESULT_BYTES:
        raise InvalidInput("the joblib artifact does not load: its process stopped without an answer "
                           "(over its memory or CPU limit, or it exited)", field="artifact")
    try:
        result = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("the joblib artifact's process answered with something that is not JSON",
                           field="artifact") from None
    if not isinstance(result, dict):
        raise InvalidInput("the joblib artifact's process answered with something unexpected", field="artifact")
    if "estimator" not in result:
        raise InvalidInput(f"the joblib artifact does not load: {str(result.get('error'))[:500]}", field="artifact")
    if result.get("error"):
        raise ModelCheckFailed(f"the model's predict_proba failed on {n_rows} background rows: "
                               f"{str(result['error'])[:500]}")
    classes = result.get("classes")
    try:
        probabilities = np.asarray(result["probabilities"], dtype=float)
    except (KeyError, TypeError, ValueError):
        raise ModelCheckFailed("predict_proba did not return a table of numbers") from None
    if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise InvalidInput("the joblib artifact's classes are not a list of names", field="artifact")
    return PickleProbe(estimator=str(result["estimator"])[:200],
                       class_names=None if classes is None else tuple(classes), probabilities=probabilities)


class PickledArtifact(SklearnAdapter):
    """A joblib artifact not loaded yet: registration probes it in a child process as its last check
    (``probed``); until then it has no classes and predicts nothing."""

    def __init__(self, data: bytes, *, seconds: float = 60.0) -> None:  # no estimator: nothing is unpickled
        self.estimator = None
        self.serialization = "joblib"
        self.trusted_types = ()
        self._source = data
        self.seconds = seconds
        self.probe: PickleProbe | None = None
        self._probed_rows = 0

    def probed(self, rows: pd.DataFrame) -> PickledArtifact:
        """Load and call the model on ``rows`` in a child process (raises if it does not load or predict)."""
        self.probe = probe_pickle(self._source or b"", rows, seconds=self.seconds)
        self._probed_rows = len(rows)
        return self

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        # Registration's check_predictions gets the child's answer for the rows it was probed on.
        if self.probe is None or len(rows) != self._probed_rows:
            raise ModelCheckFailed("the joblib artifact has not been probed on these rows")
        return self.probe.probabilities

    def class_names(self) -> tuple[str, ...] | None:
        return None if self.probe is None else self.probe.class_names

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "serialization": self.serialization, "trusted_types": [],
                "estimator": self.probe.estimator if self.probe else None}

    def loaded(self) -> SklearnAdapter:
        """The model loaded in this process: only once its probe in a separate process answered well."""
        if self.probe is None:
            raise ModelCheckFailed("the joblib artifact has not been probed in a separate process")
        return SklearnAdapter.load(self._source or b"", serialization="joblib")

    def dump(self) -> bytes:
        return self._source or b""
