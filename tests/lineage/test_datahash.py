from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xai_gov.errors import InvalidInput
from xai_gov.lineage.datahash import hash_file, hash_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"amount": [1000, 2500, 700], "rate": [0.1, 2.5, 1e-7], "housing": ["own", "rent", None],
                         "risk": ["good", "bad", "good"]})


def test_same_data_same_hash_from_dataframe_csv_and_parquet(frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.to_parquet(tmp_path / "train.parquet", index=False)
    expected = hash_frame(frame)
    assert hash_file(tmp_path / "train.csv") == expected
    assert hash_file(tmp_path / "train.parquet") == expected


def test_the_german_data_hashes_the_same_through_csv_and_parquet(german: pd.DataFrame, tmp_path: Path) -> None:
    german.to_csv(tmp_path / "german.csv", index=False)
    german.astype({"housing": "category"}).to_parquet(tmp_path / "german.parquet")
    assert hash_file(tmp_path / "german.csv") == hash_frame(german) == hash_file(tmp_path / "german.parquet")


def test_column_order_does_not_matter_but_row_order_and_values_do(frame: pd.DataFrame) -> None:
    digest = hash_frame(frame)
    assert hash_frame(frame[["risk", "housing", "rate", "amount"]]) == digest
    assert hash_frame(frame.iloc[::-1]) != digest
    assert hash_frame(frame.assign(amount=[1000, 2500, 701])) != digest
    assert hash_frame(frame.rename(columns={"risk": "label"})) != digest


def test_whole_floats_hash_like_integers_and_missing_values_alike(frame: pd.DataFrame) -> None:
    assert hash_frame(frame.astype({"amount": float})) == hash_frame(frame)
    assert hash_frame(frame.assign(housing=["own", "rent", np.nan])) == hash_frame(frame)
    assert hash_frame(frame.astype({"housing": "category"})) == hash_frame(frame)


def test_hash_is_of_exactly_the_documented_bytes() -> None:
    # Anyone can recompute the hash from the scheme in xai_gov.lineage.datahash's docstring.
    tiny = pd.DataFrame({"b": [1.5, 2.0], "a": ["x", None]})
    documented = b'xai-gov-table-v1\n["a","b"]\n["x","1.5"]\n[null,"2"]\n'
    assert hash_frame(tiny) == "sha256:" + hashlib.sha256(documented).hexdigest()
    assert hash_frame(tiny) == "sha256:c6816288630bee188026165ce93bc714a004ac4bf558951d5145aa750bd68116"


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        hash_file(tmp_path / "absent.csv")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(InvalidInput, match=r"cannot read .*broken\.parquet"):
        hash_file(tmp_path / "broken.parquet")
