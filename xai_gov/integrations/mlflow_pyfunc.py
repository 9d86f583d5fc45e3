"""An MLflow ``python_function`` model as an adapter: the model's directory stored as one zip artifact.

A pyfunc model is cloudpickled Python: loading it runs arbitrary code, so only
the roles that may load pickles register one (the registry checks
``loads_pickles``). The zip is written deterministically (sorted entries, fixed
timestamps) so the same model directory always stores as the same artifact.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from xai_gov.errors import InvalidInput
from xai_gov.registry.adapters import ModelAdapter

_EPOCH = (1980, 1, 1, 0, 0, 0)


class MlflowPyfuncAdapter(ModelAdapter):
    """``mlflow.pyfunc.load_model(dir).predict(rows)``, which must return class probabilities."""

    kind: ClassVar[str] = "mlflow_pyfunc"
    SERIALIZATION: ClassVar[str] = "mlflow-pyfunc-zip"

    def __init__(self, archive: bytes) -> None:
        import mlflow.pyfunc

        self._archive = archive
        try:
            # The files are needed only while loading: pyfunc loaders read them into memory (load_context).
            with tempfile.TemporaryDirectory(prefix="xai-gov-pyfunc-") as directory, \
                    zipfile.ZipFile(io.BytesIO(archive)) as bundle:
                _safe_extract(bundle, Path(directory))
                self._model = mlflow.pyfunc.load_model(directory)
        except InvalidInput:
            raise
        except Exception as exc:  # unpickling and MLflow's loaders raise anything
            raise InvalidInput(f"the MLflow pyfunc model does not load: {type(exc).__name__}: {exc}",
                               field="artifact") from exc

    @classmethod
    def from_directory(cls, directory: Path) -> MlflowPyfuncAdapter:
        return cls(zip_directory(directory))

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        answer = self._model.predict(rows)
        values = np.asarray(answer.to_numpy() if isinstance(answer, (pd.DataFrame, pd.Series)) else answer)
        if values.ndim != 2:
            raise InvalidInput("the pyfunc model returns one value per row, not class probabilities: log it so "
                               "that predict returns one probability column per class (for scikit-learn: "
                               "pyfunc_predict_fn='predict_proba')", field="model")
        return values.astype(float)

    def loads_pickles(self) -> bool:
        return True

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "serialization": self.SERIALIZATION}

    def dump(self) -> bytes:
        return self._archive


def zip_directory(directory: Path) -> bytes:
    """The directory's files in a zip whose bytes depend only on their names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            bundle.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _safe_extract(bundle: zipfile.ZipFile, target: Path) -> None:
    root = target.resolve()
    for member in bundle.infolist():
        destination = (root / member.filename).resolve()
        if root not in destination.parents:
            raise InvalidInput(f"the pyfunc archive has an entry outside its directory: {member.filename}",
                               field="artifact")
    bundle.extractall(root)
