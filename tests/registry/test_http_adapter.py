"""The HTTP adapter against a real server in a subprocess, on a free loopback port."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.net import free_port
from tests.servers import model_server
from xai_gov.errors import ModelEndpointError
from xai_gov.registry.adapters import HttpAdapter, adapter_from_spec


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with model_server() as url:
        yield url


@pytest.fixture(autouse=True)
def reset(server: str) -> None:
    httpx.post(f"{server}/reset")


@pytest.fixture
def rows(german_xy: tuple[pd.DataFrame, pd.Series]) -> pd.DataFrame:
    return german_xy[0].head(7)


def expected(rows: pd.DataFrame) -> np.ndarray:
    bad = (rows["credit_amount"] > 5000).to_numpy()
    return np.where(bad[:, None], [[0.8, 0.2]], [[0.2, 0.8]])


@pytest.mark.parametrize(("protocol", "path"), [
    ("mlflow", "/invocations"), ("kserve", "/v2/models/rule/infer"), ("json", "/predict")])
def test_each_protocol_returns_the_models_probabilities_in_batches(server: str, rows: pd.DataFrame, protocol: str,
                                                                   path: str) -> None:
    adapter = HttpAdapter(server + path, protocol=protocol, batch_size=3)  # type: ignore[arg-type]
    np.testing.assert_allclose(adapter.predict_proba(rows), expected(rows))
    assert httpx.get(f"{server}/stats").json()[path] == 3  # 7 rows in batches of 3


def test_spec_rebuilds_the_same_adapter_without_headers(server: str, rows: pd.DataFrame) -> None:
    adapter = HttpAdapter(server + "/predict", headers={"Authorization": "Bearer secret"})
    spec = adapter.spec()
    assert "secret" not in str(spec)
    np.testing.assert_allclose(adapter_from_spec(spec).predict_proba(rows), expected(rows))


def test_server_errors_are_retried_then_succeed(server: str, rows: pd.DataFrame) -> None:
    adapter = HttpAdapter(server + "/flaky", retries=2, backoff=0.01)
    np.testing.assert_allclose(adapter.predict_proba(rows), expected(rows))
    assert httpx.get(f"{server}/stats").json()["/flaky"] == 3


def test_a_failing_endpoint_is_named_after_its_retries(server: str, rows: pd.DataFrame) -> None:
    adapter = HttpAdapter(server + "/fail", retries=1, backoff=0.01)
    with pytest.raises(ModelEndpointError, match=f"model endpoint {server}/fail answered HTTP 500"):
        adapter.predict_proba(rows)
    assert httpx.get(f"{server}/stats").json()["/fail"] == 2


def test_a_slow_endpoint_times_out(server: str, rows: pd.DataFrame) -> None:
    adapter = HttpAdapter(server + "/slow", timeout=0.3, retries=0)
    with pytest.raises(ModelEndpointError, match=r"did not answer within 0\.3 s"):
        adapter.predict_proba(rows)


def test_a_wrong_shape_is_refused(server: str, rows: pd.DataFrame) -> None:
    with pytest.raises(ModelEndpointError, match="returned shape \\(6, 2\\) for 7 rows"):
        HttpAdapter(server + "/wrong-shape").predict_proba(rows)


def test_an_unreachable_endpoint_is_named(rows: pd.DataFrame) -> None:
    url = f"http://127.0.0.1:{free_port()}/predict"
    with pytest.raises(ModelEndpointError, match=f"model endpoint {url} is unreachable") as caught:
        HttpAdapter(url, retries=1, backoff=0.01).predict_proba(rows)
    assert caught.value.code == "model_endpoint_error"


def test_identical_rows_are_sent_once_and_answered_in_place(server: str, rows: pd.DataFrame) -> None:
    doubled = pd.concat([rows, rows.iloc[::-1], rows]).reset_index(drop=True)
    adapter = HttpAdapter(server + "/rows")
    np.testing.assert_allclose(adapter.predict_proba(doubled), expected(doubled))
    stats = httpx.get(f"{server}/stats").json()
    assert {k: v for k, v in stats.items() if k != "cpu_seconds"} == {"/rows": 1, "rows:7": 1}


def test_requests_are_bounded_by_payload_size(server: str, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    many = german_xy[0].head(300)
    adapter = HttpAdapter(server + "/rows", max_request_bytes=20_000, max_in_flight=2)
    np.testing.assert_allclose(adapter.predict_proba(many), expected(many))
    stats = httpx.get(f"{server}/stats").json()
    sizes = [int(k.split(":")[1]) for k in stats if k.startswith("rows:") for _ in range(stats[k])]
    assert sum(sizes) == len(many.drop_duplicates()) and len(sizes) == stats["/rows"] == adapter.requests
    assert len(sizes) > 1 and max(sizes) * 480 <= 20_000 * 1.5  # each request near the byte bound, not over


def test_retry_after_is_honoured(server: str, rows: pd.DataFrame) -> None:
    # the first call is answered 429 with Retry-After: 1, far longer than the adapter's own backoff
    adapter = HttpAdapter(server + "/busy", retries=1, backoff=0.01)
    started = time.perf_counter()
    np.testing.assert_allclose(adapter.predict_proba(rows), expected(rows))
    assert time.perf_counter() - started >= 0.95 and adapter.requests == 2


def test_nan_probabilities_are_refused(server: str, rows: pd.DataFrame) -> None:
    with pytest.raises(ModelEndpointError, match="not a finite number"):
        HttpAdapter(server + "/nan").predict_proba(rows)


def test_bodies_are_what_json_dumps_writes_of_the_rows() -> None:
    """The bodies are joined from values written once per column (for speed); they must be the document
    json.dumps writes of the plain rows: numbers exact, strings escaped, null for missing and non-finite."""
    import json
    import math

    frame = pd.DataFrame({
        "count": np.array([1, -2, 2**40], dtype=np.int64),
        "amount": [0.1, float("nan"), 1e16 + 2.0],
        "ratio": [float("inf"), 1e-5, -0.0],
        "purpose": ["car (new)", 'a "quoted", \\ one', "Bürge"],
        "income": pd.Series([None, 1.5, 3], dtype=object),
        "flag": [True, False, True],
        "grade": pd.Categorical(["A", None, "B"]),
    })

    def plain(value: object) -> object:
        value = value.item() if isinstance(value, np.generic) else value
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return value

    rows = [[plain(v) for v in row] for row in frame.astype(object).where(frame.notna(), None).itertuples(
        index=False)]
    columns = list(frame.columns)
    expected = {"mlflow": {"dataframe_split": {"columns": columns, "data": rows}},
                "json": {"instances": [dict(zip(columns, row, strict=True)) for row in rows]}}
    for protocol, document in expected.items():
        body = HttpAdapter("http://127.0.0.1:1/x", protocol=protocol)._encode(frame)  # type: ignore[arg-type]
        assert body == json.dumps(document, separators=(",", ":")).encode(), protocol
        assert json.loads(body) == json.loads(json.dumps(document))
