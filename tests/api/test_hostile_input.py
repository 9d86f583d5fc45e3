"""The findings of a hostile client (issue 12), each on SQLite and PostgreSQL: a clear 4xx, nothing written,
no explaining started — never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_bad_input import written
from xai_gov.errors import InvalidInput
from xai_gov.validation import check_number, check_text

HUGE = int("9" * 4001)


@pytest.mark.parametrize(("change", "field"), [
    ({"options": {"lime": {"__class__": 1}}}, "parameters.lime.__class__"),
    ({"options": {"anchor": {"__init__": {}}}}, "parameters.anchor.__init__"),
    ({"options": {"lime": {"to_dict": 1}}}, "parameters.lime.to_dict"),
    ({"options": {"lime": {"num_samples": HUGE}}}, "parameters.lime.num_samples"),
    ({"decision_id": "LOAN\x00-1"}, "decision_id"),
    ({"decision_id": "LOAN-1\nINFO forged log line"}, "decision_id"),
    ({"model": "credit-risk@staging\x00"}, "model"),
])
def test_odd_explanation_requests_are_422_before_any_work(api: Api, change: dict[str, Any], field: str) -> None:
    before = written(api)
    api.client.explanations.cache._entries.clear()  # registration's trial explanation left its explainers there
    response = api.explain(**change)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field and response.headers["content-type"] == "application/problem+json"
    assert not api.client.explanations.cache._entries, "explainers were built: work started before the check"
    assert written(api) == before


@pytest.mark.parametrize("digits", [4001, 5001, 20])
def test_a_huge_integer_feature_value_is_422_naming_the_feature(api: Api, digits: int) -> None:
    before = written(api)
    body = ('{"model": "credit-risk@staging", "decision_id": "D-1", "methods": ["lime"], "instance": {'
            + ", ".join(f'"{k}": {v!r}'.replace("'", '"') for k, v in api.applicant.items() if k != "age")
            + f', "age": {"9" * digits}}}')
    response = api.http.post("/v1/explanations", content=body,
                             headers={**api.as_("officer"), "Content-Type": "application/json"})
    assert response.status_code in (400, 422), response.text
    if response.status_code == 422:
        assert response.json()["field"] == "age"
    assert written(api) == before


@pytest.mark.parametrize("url", [
    "/v1/explanations?decision_id=A%00B", "/v1/explanations?model=credit%00risk", "/v1/lineage?trainer=al%00ice",
    "/v1/lineage?decision_id=L%00OAN", "/v1/explanations/abc%00def", "/v1/explanations/abc%0Adef/packet",
    "/v1/lineage/credit-risk%00@1", "/v1/models/credit-risk%0A@1",
])
def test_control_characters_in_query_and_path_are_422(api: Api, url: str) -> None:
    before = written(api)
    response = api.http.get(url, headers=api.as_("auditor"))
    assert response.status_code == 422, (url, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert written(api) == before


def test_control_characters_in_key_names_and_registrations_are_422(api: Api) -> None:
    before = written(api)
    key = api.http.post("/v1/keys", json={"name": "ev\x00e", "role": "officer"}, headers=api.as_("admin"))
    assert key.status_code == 422 and key.json()["field"] == "name"
    moved = api.http.put("/v1/models/credit-risk/aliases/prod%0A", json={"version": 1}, headers=api.as_("owner"))
    assert moved.status_code == 422
    assert written(api) == before


def test_the_core_refuses_the_same_for_the_sdk(api: Api) -> None:
    """Not only the API: the SDK on PostgreSQL used to reach the database with a NUL and fail there."""
    client = api.client
    with pytest.raises(InvalidInput) as nul:
        client.explain("credit-risk@staging", api.applicant, decision_id="A\x00B", methods=["lime"])
    assert nul.value.field == "decision_id"
    with pytest.raises(InvalidInput):
        client.find_explanations(decision_id="A\x00B")
    with pytest.raises(InvalidInput):
        client.lineage_by_trainer("al\x00ice")
    with pytest.raises(InvalidInput):
        client.lineage_by_decision("A\x00B")
    with pytest.raises(InvalidInput):
        client.get_explanation("abc\x00")
    with pytest.raises(InvalidInput) as huge:
        client.explain("credit-risk@staging", {**api.applicant, "age": HUGE}, decision_id="D", methods=["lime"])
    assert huge.value.field == "age"
    with pytest.raises(InvalidInput):
        client.move_alias("credit-risk", "prod\n", 1)


def test_text_and_number_rules() -> None:
    assert check_text("Zürich, 5 rue de l'Église", "x") == "Zürich, 5 rue de l'Église"
    assert check_text("two\nlines\tand a tab", "x", multiline=True)
    for bad in ("a\x00", "a\x1b[31m", "a\x7f", "a\n"):
        with pytest.raises(InvalidInput):
            check_text(bad, "x")
    with pytest.raises(InvalidInput):
        check_text("a\x00", "x", multiline=True)
    assert check_number(2**53, "n") == 2**53
    for bad in (2**53 + 1, -HUGE, float("inf"), 1e300):
        with pytest.raises(InvalidInput):
            check_number(bad, "n")
