"""Model adapters: anything a bank runs, behind one ``predict_proba(DataFrame) -> ndarray``.

    ModelAdapter
    ├── SklearnAdapter   an estimator or Pipeline, stored as a skops or joblib artifact
    ├── PythonAdapter    an import path ``package.module:function``
    └── HttpAdapter      a model served elsewhere: MLflow, KServe v2, or plain JSON

Each adapter describes itself with a JSON ``spec`` (stored with the model
version, never a secret) from which ``adapter_from_spec`` rebuilds it.
"""

from __future__ import annotations

import email.utils
import importlib
import io
import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx
import numpy as np
import pandas as pd

from xai_gov.errors import InvalidInput, ModelCheckFailed, ModelEndpointError

Serialization = Literal["skops", "joblib"]
HttpProtocol = Literal["mlflow", "kserve", "json"]
PICKLE_FORMATS: frozenset[str] = frozenset({"joblib"})


class ModelAdapter(ABC):
    kind: ClassVar[str]

    @abstractmethod
    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one row per input row, columns in the version's class order."""

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """What it takes to rebuild this adapter, as JSON (the artifact travels separately)."""

    def class_names(self) -> tuple[str, ...] | None:
        """The classes, in column order, where the model itself knows them."""
        return None

    def loads_pickles(self) -> bool:
        """Whether loading this model runs arbitrary code (pickle): only the owner role may register one."""
        return False

    #: Whether every call is a round trip to a model elsewhere, so that fewer, larger calls pay off
    #: (explainers then ask ahead: ``ModelSpace.remembering``).
    remote: ClassVar[bool] = False


# -- scikit-learn ---------------------------------------------------------------


class SklearnAdapter(ModelAdapter):
    kind = "sklearn"

    def __init__(self, estimator: Any, *, serialization: Serialization = "skops",
                 trusted_types: Sequence[str] = (), source: bytes | None = None) -> None:
        if not hasattr(estimator, "predict_proba"):
            raise InvalidInput(f"{type(estimator).__name__} has no predict_proba", field="model")
        if serialization not in ("skops", "joblib"):
            raise InvalidInput(f"unknown serialization {serialization!r}: use skops or joblib", field="serialization")
        self.estimator = estimator
        self.serialization: Serialization = serialization
        self.trusted_types = tuple(sorted(trusted_types))
        self._source = source  # the artifact's bytes when loaded from one, so they are stored as given

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(rows), dtype=float)

    def class_names(self) -> tuple[str, ...] | None:
        classes = getattr(self.estimator, "classes_", None)
        return None if classes is None else tuple(str(c) for c in classes)

    def loads_pickles(self) -> bool:
        return self.serialization in PICKLE_FORMATS

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "serialization": self.serialization, "trusted_types": list(self.trusted_types),
                "estimator": type(self.estimator).__name__}

    def dump(self) -> bytes:
        """The artifact's bytes; a skops dump must load back with only the trusted types."""
        if self._source is not None:
            return self._source
        if self.serialization == "joblib":
            import joblib

            buffer = io.BytesIO()
            joblib.dump(self.estimator, buffer)
            return buffer.getvalue()
        import skops.io

        data = skops.io.dumps(self.estimator)
        _check_skops_types(data, self.trusted_types)
        return data

    @classmethod
    def load(cls, data: bytes, *, serialization: Serialization, trusted_types: Sequence[str] = ()) -> SklearnAdapter:
        """Rebuild from artifact bytes (the caller has already checked their hash)."""
        if serialization == "joblib":
            import joblib

            try:
                estimator = joblib.load(io.BytesIO(data))
            except Exception as exc:  # unpickling raises anything
                raise InvalidInput(f"the joblib artifact does not load: {exc}", field="artifact") from exc
        elif serialization == "skops":
            import skops.io

            _check_skops_types(data, trusted_types)
            try:
                estimator = skops.io.loads(data, trusted=list(trusted_types))
            except Exception as exc:  # skops raises many kinds on a damaged file
                raise InvalidInput(f"the skops artifact does not load: {exc}", field="artifact") from exc
        else:
            raise InvalidInput(f"unknown serialization {serialization!r}: use skops or joblib", field="serialization")
        return cls(estimator, serialization=serialization, trusted_types=trusted_types, source=data)


def _check_skops_types(data: bytes, trusted_types: Sequence[str]) -> None:
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as exc:
        raise InvalidInput(f"the artifact is not a readable skops file: {exc}", field="artifact") from exc
    refused = sorted(set(untrusted) - set(trusted_types))
    if refused:
        raise InvalidInput(
            "the skops artifact holds types that are not trusted by default: "
            f"{', '.join(refused)}. If you have reviewed them and trust this model, pass them as trusted types "
            "(--trust TYPE on the command line, trusted_types=[...] in the SDK)",
            code="untrusted_types", field="trusted_types")


# -- Python callable ------------------------------------------------------------


class PythonAdapter(ModelAdapter):
    """A function ``f(rows: DataFrame) -> probabilities`` found by its import path."""

    kind = "python"

    def __init__(self, target: str) -> None:
        self.target = target
        self._function = resolve_import_path(target)

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        return np.asarray(self._function(rows), dtype=float)

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target}


def resolve_import_path(target: str) -> Callable[..., Any]:
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidInput(f"{target!r} is not an import path of the form package.module:function", field="target")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(f"cannot import module {module_name!r} for {target!r}: {exc}", field="target") from exc
    found: Any = module
    for part in attribute.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise InvalidInput(f"module {module_name!r} has no {attribute!r}", field="target")
    if not callable(found):
        raise InvalidInput(f"{target!r} is not callable", field="target")
    return found


# -- HTTP -----------------------------------------------------------------------


class HttpAdapter(ModelAdapter):
    """A model served over HTTP, called in batches with a timeout and retries.

    Protocols:
    - ``mlflow``: POST the URL (MLflow's ``/invocations``) with
      ``{"dataframe_split": {"columns": [...], "data": [[...]]}}``; the answer's
      ``predictions`` is a list of probability rows.
    - ``kserve``: the KServe v2 inference protocol; POST the URL
      (``/v2/models/<name>/infer``) with one BYTES or FP64 input per column; the
      first output (or ``output_name``) holds the probabilities, shape [n, k].
    - ``json``: POST ``{"instances": [{column: value, ...}, ...]}``; the answer is
      ``{"probabilities": [[...]]}`` (or ``predictions``).

    Cost: explainers send tens of thousands of rows per step, so rows go in few,
    large requests: each request holds at most ``batch_size`` rows and about
    ``max_request_bytes`` of JSON (the rows per request are estimated from the
    encoded size of the first rows); identical rows are sent once; at most
    ``max_in_flight`` requests are outstanding at a time.

    Connection errors, time-outs, 429 and 5xx answers are retried ``retries``
    times with a doubling pause, or after the pause a ``Retry-After`` header asks
    for (seconds or an HTTP date, at most ``MAX_RETRY_AFTER`` s); anything else
    fails at once. An answer with the wrong number of rows or a probability that is
    not a finite number is refused. Every error names the endpoint.
    """

    kind = "http"
    remote = True
    RETRY_STATUSES: ClassVar[frozenset[int]] = frozenset({429, 500, 502, 503, 504})
    MAX_RETRY_AFTER: ClassVar[float] = 30.0

    def __init__(self, url: str, *, protocol: HttpProtocol = "json", batch_size: int = 100_000,
                 timeout: float = 30.0, retries: int = 2, backoff: float = 0.2, output_name: str | None = None,
                 max_request_bytes: int = 16_000_000, max_in_flight: int = 4,
                 headers: Mapping[str, str] | None = None, transport: httpx.BaseTransport | None = None) -> None:
        if protocol not in ("mlflow", "kserve", "json"):
            raise InvalidInput(f"unknown HTTP protocol {protocol!r}: use mlflow, kserve or json", field="protocol")
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(f"endpoint {url!r} is not an http(s) URL", field="url")
        if batch_size < 1 or timeout <= 0 or retries < 0 or max_request_bytes < 1000 or not 1 <= max_in_flight <= 64:
            raise InvalidInput("batch_size and timeout must be positive, retries not negative, max_request_bytes at "
                               "least 1000 and max_in_flight 1 to 64", field="http")
        self.url, self.protocol = url, protocol
        self.batch_size, self.timeout, self.retries, self.backoff = batch_size, timeout, retries, backoff
        self.max_request_bytes, self.max_in_flight = max_request_bytes, max_in_flight
        self.requests = 0  # requests sent (retries included), for benchmarks
        self.output_name = output_name
        # Headers (e.g. a bearer token) are used but never stored in the spec.
        self._client = httpx.Client(timeout=timeout, headers=dict(headers or {}), transport=transport)

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "protocol": self.protocol, "batch_size": self.batch_size,
                "timeout": self.timeout, "retries": self.retries, "output_name": self.output_name,
                "max_request_bytes": self.max_request_bytes, "max_in_flight": self.max_in_flight}

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        if rows.empty:
            return np.empty((0, 0))
        rows = rows.reset_index(drop=True)
        keys = pd.util.hash_pandas_object(rows, index=False).to_numpy()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        unique = rows.iloc[first]  # identical rows are sent once
        step = self._rows_per_request(unique)
        batches = [unique.iloc[start:start + step] for start in range(0, len(unique), step)]
        if len(batches) == 1:
            parts = [self._predict_batch(batches[0])]
        else:
            with ThreadPoolExecutor(max_workers=min(self.max_in_flight, len(batches))) as pool:
                parts = list(pool.map(self._predict_batch, batches))
        return np.vstack(parts)[inverse.reshape(-1)]

    def _rows_per_request(self, rows: pd.DataFrame) -> int:
        """At most ``batch_size`` rows and about ``max_request_bytes`` of JSON per request."""
        probe = rows.head(20)
        per_row = len(self._encode(probe)) / max(len(probe), 1) * 1.2 + 1
        return int(max(1, min(self.batch_size, self.max_request_bytes // per_row)))

    def _predict_batch(self, batch: pd.DataFrame) -> np.ndarray:
        return self._decode(self._post(self._encode(batch)), len(batch))

    def _post(self, content: bytes) -> Any:
        pause = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            wait = pause
            try:
                self.requests += 1
                response = self._client.post(self.url, content=content,
                                             headers={"Content-Type": "application/json"})
            except httpx.TimeoutException as exc:
                if last:
                    raise ModelEndpointError(f"model endpoint {self.url} did not answer within {self.timeout} s "
                                             f"({self.retries + 1} attempts)", field="url") from exc
            except httpx.TransportError as exc:
                if last:
                    raise ModelEndpointError(f"model endpoint {self.url} is unreachable: {exc} "
                                             f"({self.retries + 1} attempts)", field="url") from exc
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise ModelEndpointError(f"model endpoint {self.url} answered with something not JSON",
                                                 field="url") from exc
                if response.status_code not in self.RETRY_STATUSES or last:
                    raise ModelEndpointError(
                        f"model endpoint {self.url} answered HTTP {response.status_code}: {response.text[:200]}",
                        field="url")
                wait = _retry_after(response.headers.get("Retry-After"), pause, self.MAX_RETRY_AFTER)
            time.sleep(wait)
            pause *= 2
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def _encode(self, batch: pd.DataFrame) -> bytes:
        """The request body for these rows. Missing values and non-finite numbers travel as JSON null."""
        columns = [str(c) for c in batch.columns]
        if self.protocol == "kserve":
            return json.dumps({"inputs": [_kserve_input(column, batch[column]) for column in columns]}).encode()
        # Row-major bodies are joined from each column's values already written as JSON: the same document
        # json.dumps writes (tests/registry/test_http_adapter.py checks it), without a Python object per value.
        tokens = [_json_tokens(batch[c]) for c in batch.columns]
        if self.protocol == "mlflow":
            rows = ",".join("[" + ",".join(row) + "]" for row in zip(*tokens, strict=True))
            names = json.dumps(columns, separators=(",", ":"))
            return ('{"dataframe_split":{"columns":' + names + ',"data":[' + rows + "]}}").encode()
        keys = [json.dumps(c) + ":" for c in columns]
        rows = ",".join("{" + ",".join(k + v for k, v in zip(keys, row, strict=True)) + "}"
                        for row in zip(*tokens, strict=True))
        return ('{"instances":[' + rows + "]}").encode()

    def _decode(self, answer: Any, rows: int) -> np.ndarray:
        try:
            if self.protocol == "kserve":
                outputs = answer["outputs"]
                chosen = next((o for o in outputs if o.get("name") == self.output_name), None) \
                    if self.output_name else outputs[0]
                if chosen is None:
                    raise KeyError(self.output_name)
                shape = chosen.get("shape") or [rows, -1]
                data = np.asarray(chosen["data"], dtype=float).reshape([rows, -1] if len(shape) < 2 else shape)
            else:
                key = "probabilities" if isinstance(answer, dict) and "probabilities" in answer else "predictions"
                data = np.asarray(answer[key] if isinstance(answer, dict) else answer, dtype=float)
        except (KeyError, IndexError, TypeError, ValueError, StopIteration) as exc:
            raise ModelEndpointError(
                f"model endpoint {self.url} answered in a form the {self.protocol} protocol does not allow: "
                f"{str(answer)[:200]}", field="url") from exc
        if data.ndim != 2 or data.shape[0] != rows:
            raise ModelEndpointError(
                f"model endpoint {self.url} returned shape {data.shape} for {rows} rows", field="url")
        if not np.all(np.isfinite(data)):
            raise ModelEndpointError(f"model endpoint {self.url} returned a probability that is not a finite number "
                                     "(NaN or infinite)", field="url")
        return data


def _retry_after(header: str | None, default: float, cap: float) -> float:
    """The pause a Retry-After header asks for (delay-seconds or an HTTP date), capped; else ``default``."""
    if not header:
        return default
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return default
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), cap)


def _json_tokens(values: pd.Series) -> list[str]:
    """A column's values written as JSON, one per row: numbers as json.dumps writes them (shortest round
    trip), strings quoted, null for a missing value or a non-finite number. Distinct values of a column that
    is not numeric are written once each."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        return [str(v) for v in values.to_numpy().tolist()]
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f":
        return [float.__repr__(v) if math.isfinite(v) else "null" for v in values.to_numpy().tolist()]
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    written = [json.dumps(_json_value(v)) for v in uniques.tolist()] + ["null"]  # code -1: missing
    return [written[c] for c in codes.tolist()]


def _kserve_input(column: str, values: pd.Series) -> dict[str, Any]:
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    return {"name": column, "shape": [len(values)], "datatype": "FP64" if numeric else "BYTES",
            "data": [(float(v) if math.isfinite(float(v)) else None) if numeric else
                     (None if pd.isna(v) else str(v)) for v in values]}


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- building from what is stored -----------------------------------------------


def adapter_from_spec(spec: Mapping[str, Any], artifact: bytes | None = None,
                      *, headers: Mapping[str, str] | None = None) -> ModelAdapter:
    kind = spec.get("kind")
    if kind == SklearnAdapter.kind:
        if artifact is None:
            raise InvalidInput("an sklearn model version needs its artifact", field="artifact")
        return SklearnAdapter.load(artifact, serialization=spec["serialization"],
                                   trusted_types=spec.get("trusted_types") or ())
    if kind == PythonAdapter.kind:
        return PythonAdapter(spec["target"])
    if kind == "mlflow_pyfunc":
        if artifact is None:
            raise InvalidInput("an MLflow pyfunc model version needs its artifact", field="artifact")
        from xai_gov.integrations.mlflow_pyfunc import MlflowPyfuncAdapter  # needs the mlflow extra

        return MlflowPyfuncAdapter(artifact)
    if kind == HttpAdapter.kind:
        return HttpAdapter(spec["url"], protocol=spec["protocol"], batch_size=spec["batch_size"],
                           timeout=spec["timeout"], retries=spec["retries"], output_name=spec.get("output_name"),
                           max_request_bytes=spec.get("max_request_bytes", 16_000_000),
                           max_in_flight=spec.get("max_in_flight", 4), headers=headers)
    raise InvalidInput(f"unknown adapter kind {kind!r}", field="kind")


def check_predictions(adapter: ModelAdapter, rows: pd.DataFrame, n_classes: int) -> np.ndarray:
    """Call the model on a few rows and insist on one probability row per input row, summing to 1."""
    try:
        probabilities = adapter.predict_proba(rows)
    except ModelEndpointError:
        raise
    except Exception as exc:
        raise ModelCheckFailed(f"the model's predict_proba failed on {len(rows)} background rows: "
                               f"{type(exc).__name__}: {exc}") from exc
    if probabilities.shape != (len(rows), n_classes):
        raise ModelCheckFailed(f"predict_proba returned shape {probabilities.shape} for {len(rows)} rows; "
                               f"expected ({len(rows)}, {n_classes}): one column per class")
    if not np.all(np.isfinite(probabilities)) or probabilities.min() < 0 or probabilities.max() > 1:
        raise ModelCheckFailed("predict_proba returned values outside [0, 1] or not finite")
    sums = probabilities.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        worst = int(np.argmax(np.abs(sums - 1)))
        raise ModelCheckFailed(f"predict_proba rows must sum to 1; row {worst} sums to {sums[worst]:.6f}")
    return probabilities
