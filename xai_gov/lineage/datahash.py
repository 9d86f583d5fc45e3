"""Canonical SHA-256 of a table of training data.

The same data gives the same hash whether it comes as a DataFrame, a CSV file or
a Parquet file. Exactly what is hashed (scheme ``xai-gov-table-v1``):

1. Columns are sorted by name (Unicode code point order); their order in the
   source does not matter. Row order does: it is kept as given.
2. Every cell becomes text: a missing value (None, NaN, NaT) becomes JSON
   ``null``; a boolean ``true``/``false``; a finite number that is a whole number
   its decimal integer form (``3`` and ``3.0`` are both ``"3"``, so integer
   columns survive a float round trip); any other float Python's shortest
   round-trip ``repr`` (``0.1``, ``inf``); a timestamp ISO 8601; anything else
   ``str(value)``. Types are not hashed, only these texts, because CSV keeps no
   types.
3. The header (the sorted column names) and then each row are written as a
   compact JSON array, one per line, UTF-8, after the line
   ``xai-gov-table-v1``; the hash is the SHA-256 of those bytes.

The result is written ``sha256:<64 hex digits>``.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xai_gov.errors import InvalidInput

SCHEME = "xai-gov-table-v1"


def hash_frame(frame: pd.DataFrame) -> str:
    """Canonical hash of a DataFrame (see the module docstring for what is hashed)."""
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise InvalidInput("the data has duplicate column names; it cannot be hashed canonically", field="columns")
    order = sorted(range(len(names)), key=lambda i: names[i])
    digest = hashlib.sha256()
    digest.update(SCHEME.encode() + b"\n")
    digest.update(_line([names[i] for i in order]))
    columns = [_canonical_column(frame.iloc[:, i]) for i in order]
    for row in zip(*columns, strict=True):
        digest.update(_line(list(row)))
    return "sha256:" + digest.hexdigest()


def hash_file(path: str | Path) -> str:
    """Canonical hash of a CSV or Parquet file, read the way pandas reads it by default."""
    return hash_frame(read_table(path))


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}", field="path") from None
    except Exception as exc:  # pandas and pyarrow raise many kinds for a bad file
        raise InvalidInput(f"cannot read {path} as a table: {exc}", field="path") from exc


def _line(cells: list[str | None]) -> bytes:
    return json.dumps(cells, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _canonical_column(column: pd.Series) -> list[str | None]:
    return [_canonical_cell(value) for value in column.tolist()]


def _canonical_cell(value: Any) -> str | None:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)
