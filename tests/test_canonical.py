"""Canonical JSON: the one form every stored hash is computed over (xai_gov.canonical)."""

from __future__ import annotations

import math

import pytest

from xai_gov.canonical import canonical_json, sha256_json


def test_canonical_json_sorts_keys_without_spaces_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é", None]}) == '{"a":[1.5,"é",null],"b":1}'


def test_sha256_json_known_answer() -> None:
    # sha256('{"a":[1.5,"é",null],"b":1}' in UTF-8), computed independently: every stored hash depends on it.
    assert sha256_json({"b": 1, "a": [1.5, "é", None]}) == (
        "a9774dee93966d7a84d5d046d982c52c79aeb1d8c233bed52df697b2bebf09ba")


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})
