from __future__ import annotations

import hashlib
from importlib import resources

import pandas as pd

from xai_gov.datasets import GERMAN_CREDIT_LABELS, load_german_credit

SHIPPED_SHA256 = "b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871"  # as in data/ATTRIBUTION.md


def test_the_shipped_file_is_the_one_documented() -> None:
    data = resources.files("xai_gov.datasets").joinpath("data/german.data").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHIPPED_SHA256
    attribution = resources.files("xai_gov.datasets").joinpath("data/ATTRIBUTION.md").read_text()
    assert SHIPPED_SHA256 in attribution and "CC BY 4.0" in attribution


def test_german_credit_has_readable_labels(german: pd.DataFrame) -> None:
    assert german.shape == (1000, 21)
    assert german["credit_risk"].value_counts().to_dict() == {"good": 700, "bad": 300}
    first = german.iloc[0]
    # UCI's first row: A11 6 A34 A43 1169 A65 A75 4 A93 ... 67 ... A201, good
    assert (first["checking_account"], first["duration_months"], first["purpose"], first["credit_amount"],
            first["personal_status_sex"], first["age"], first["foreign_worker"]) == (
        "below 0 DM", 6, "radio or television", 1169, "male, single", 67, "yes")
    assert german["personal_status_sex"].value_counts().to_dict() == {
        "male, single": 548, "female, divorced, separated or married": 310, "male, married or widowed": 92,
        "male, divorced or separated": 50}
    assert set(GERMAN_CREDIT_LABELS) == set(german.columns)
    assert load_german_credit().equals(german)
