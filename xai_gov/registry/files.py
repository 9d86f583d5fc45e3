"""Reading what a model owner hands over as files, with errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from xai_gov.errors import InvalidInput
from xai_gov.lineage.datahash import read_table
from xai_gov.registry.intake import parse_schema
from xai_gov.registry.schema import FeatureSchema


def read_json_file(path: Path, *, field: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}", field=field) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", field=field) from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}", field=field) from exc


def read_json_object(path: Path | None, *, field: str) -> dict[str, Any] | None:
    if path is None:
        return None
    data = read_json_file(path, field=field)
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold a JSON object", field=field)
    return data


def read_schema(path: Path) -> FeatureSchema:
    return parse_schema(read_bytes(path, field="schema"), source=str(path))


def read_bytes(path: Path, *, field: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}", field=field) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", field=field) from exc


def split_target(frame: pd.DataFrame, target: str | None, *, path: Path) -> tuple[pd.DataFrame, pd.Series | None]:
    if target is None:
        return frame, None
    if target not in frame.columns:
        raise InvalidInput(f"{path} has no column {target!r}", field="target")
    return frame.drop(columns=[target]), frame[target]


def infer_schema_file(path: Path, *, target: str | None, adverse_class: str | None) -> FeatureSchema:
    features, labels = split_target(read_table(path), target, path=path)
    return FeatureSchema.infer(features, labels, adverse_class=adverse_class, target=target)
