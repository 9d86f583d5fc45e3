"""Schemathesis explores /openapi.json with generated requests, every role, both databases: no answer may
be a 5xx."""

from __future__ import annotations

import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sklearn.pipeline import Pipeline

from api.main import create_app
from xai_gov.actors import Actor, Role
from xai_gov.sdk import Client


@pytest.fixture
def fuzzed(client: Client, small_model: Pipeline,
           german_xy: tuple[pd.DataFrame, pd.Series]) -> tuple[schemathesis.BaseSchema, dict[Role, str]]:
    """The API over a store with a model and a key per role, on SQLite and on PostgreSQL (PostgreSQL refuses
    what SQLite stores, NUL in text: the fuzzing must reach both)."""
    X, y = german_xy
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None, alias="staging")
    keys = {role: client.keys.create(name=f"fuzz-{role.value}", role=role, actor=Actor("root", Role.ADMIN))[1]
            for role in Role}
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(client=client)), keys


def test_no_server_errors(fuzzed: tuple[schemathesis.BaseSchema, dict[Role, str]]) -> None:
    """Every operation, with generated parameters and bodies, called with every role's key."""
    schema, keys = fuzzed
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_5xx(case: schemathesis.Case) -> None:
            for role in Role:  # the roles it does not allow must answer 403, not fail
                response = case.call(headers={"Authorization": f"Bearer {keys[role]}"})
                assert response.status_code < 500, (role, case.method, case.path, response.status_code,
                                                    response.content)

        no_5xx()
