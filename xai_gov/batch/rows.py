"""Reading a batch's decisions from CSV: one row per decision, named by its line in the file."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from xai_gov.errors import InvalidInput
from xai_gov.registry.schema import FeatureSchema


@dataclass(frozen=True)
class BatchRow:
    line: int  # the row's line in the file (the header is line 1)
    decision_id: str
    instance: dict[str, Any]


def read_decisions(path: Path, *, schema: FeatureSchema, decision_id_column: str = "decision_id") -> list[BatchRow]:
    """Every row of ``path`` as a decision; a missing column refuses the whole file before any work.

    Cells are read as text and numeric features converted where they parse; a cell that does not parse
    is passed on as written, so the schema's validation names it (and only that row fails). An empty cell
    is a missing value (null). Columns other than the schema's and the decision id are ignored.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}", field="decisions") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} is not a readable CSV file: {exc}", field="decisions") from exc
    missing = [c for c in [decision_id_column, *schema.names] if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                           field=missing[0])
    numeric = {f.name for f in schema.features if f.kind == "numeric"}
    rows = []
    for position, record in enumerate(frame.to_dict(orient="records")):
        instance = {name: _cell(record[name], numeric=name in numeric) for name in schema.names}
        rows.append(BatchRow(line=position + 2, decision_id=str(record[decision_id_column]).strip(),
                             instance=instance))
    return rows


def _cell(text: str, *, numeric: bool) -> Any:
    if text == "":
        return None
    if not numeric:
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number.is_integer() and "." not in text and "e" not in text.lower():
        return int(text)
    return number
