"""Fair use (issue 12): an officer's request within the policy's caps, a per-key rate with 429 and
Retry-After; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_bad_input import written
from xai_gov.errors import InvalidInput, RateLimited
from xai_gov.policies.fair_use import RateLimiter, check_explanation_cost
from xai_gov.policies.models import cost_parameters, load_policy

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "policies" / "default.yaml"


@pytest.mark.parametrize(("options", "field", "cap"), [
    ({"lime": {"num_samples": 50_000}}, "parameters.lime.num_samples", 5000),
    ({"lime": {"num_samples": 300, "repeats": 20}}, "parameters.lime.repeats", 5),
    ({"anchor": {"repeats": 20}}, "parameters.anchor.repeats", 3),
    ({"anchor": {"fresh_samples": 100_000}}, "parameters.anchor.fresh_samples", 2000),
    ({"anchor": {"batch_size": 10_000}}, "parameters.anchor.batch_size", 200),
    ({"anchor": {"beam_size": 10}}, "parameters.anchor.beam_size", 1),
])
def test_an_officer_over_a_cap_is_refused_naming_it_before_any_work(api: Api, options: dict[str, Any], field: str,
                                                                    cap: int) -> None:
    before = written(api)
    api.client.explanations.cache._entries.clear()  # registration's trial explanation left its explainers there
    response = api.explain(options=options)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["code"], problem["field"]) == ("over_cost_cap", field)
    assert f"officer role's cap of {cap}" in problem["detail"]
    assert response.headers["content-type"] == "application/problem+json"
    assert written(api) == before and not api.client.explanations.cache._entries


def test_an_officer_at_the_caps_is_served(api: Api) -> None:
    at_caps = {"lime": {"num_samples": 300, "repeats": 2}, "anchor": {"repeats": 1, "fresh_samples": 2000,
                                                                       "batch_size": 200, "beam_size": 1}}
    response = api.explain(options=at_caps, methods=["anchor"])
    assert response.status_code == 201, response.text
    assert response.json()["parameters"]["anchor"]["fresh_samples"] == 2000


def test_the_sdk_without_a_role_is_not_capped_and_with_one_is() -> None:
    policy = load_policy(DEFAULT_POLICY)
    heavy = {"lime": {"num_samples": 50_000, "repeats": 20}, "anchor": {}}
    check_explanation_cost(policy, None, heavy)  # the bank's own machine: only the service's bounds
    check_explanation_cost(policy, "auditor", heavy)  # a role without caps
    with pytest.raises(InvalidInput) as refused:
        check_explanation_cost(policy, "officer", heavy)
    assert refused.value.field == "parameters.lime.num_samples"


def test_the_default_policy_caps_allow_the_defaults() -> None:
    caps = load_policy(DEFAULT_POLICY).document.fair_use.explanation_caps["officer"]
    assert set(caps) == set(cost_parameters())  # every method's cost parameters are capped for officers
    assert all(caps[name] >= default for name, default in cost_parameters().items())


@pytest.mark.parametrize(("caps", "words"), [
    ("    officer:\n      lime.num_samples: 100\n", "lime.num_samples cap 100 is below its default 5000"),
    ("    officer:\n      lime.kernel_width: 3\n", "unknown cost parameter 'lime.kernel_width'"),
    ("    teller:\n      lime.repeats: 5\n", "unknown role 'teller'"),
])
def test_a_policy_with_a_bad_cap_does_not_load(tmp_path: Path, caps: str, words: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("name: p\nversion: 1\nfair_use:\n  explanation_caps:\n" + caps)
    with pytest.raises(InvalidInput) as refused:
        load_policy(path)
    assert refused.value.code == "policy_invalid" and words in refused.value.message and "line" in refused.value.message


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_over_its_rate_gets_429_with_retry_after(api: Api) -> None:
    clock = Clock()
    api.http.app.state.rate_limiter = RateLimiter(3, clock=clock)  # type: ignore[attr-defined]
    for _ in range(3):
        assert api.http.get("/v1/models", headers=api.as_("officer")).status_code == 200
    refused = api.http.get("/v1/models", headers=api.as_("officer"))
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "20" and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited" and refused.json()["retry_after"] == 20
    # Another key has its own bucket; the refused one is served again once the wait has passed.
    assert api.http.get("/v1/models", headers=api.as_("officer2")).status_code == 200
    clock.now += 19
    assert api.http.get("/v1/models", headers=api.as_("officer")).status_code == 429
    clock.now += 1
    assert api.http.get("/v1/models", headers=api.as_("officer")).status_code == 200
    # An unknown key is refused as unauthenticated, not counted against anyone.
    assert api.http.get("/v1/models", headers={"Authorization": "Bearer xg_00000000_nope"}).status_code == 401


def test_the_rate_limiter_counts_per_key_and_can_be_off() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    for _ in range(60):
        limiter.check("a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.retry_after == 1
    limiter.check("b")
    clock.now += 1.0
    limiter.check("a")
    off = RateLimiter(0)
    for _ in range(10_000):
        off.check("a")
