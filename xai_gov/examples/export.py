"""Write a shipped example's files, as a model owner would have them, for registration from files.

``xai-gov examples export DIR [--example german|synthetic]`` writes:

- ``model.skops``: the fitted pipeline (skops; the types to ``--trust`` are printed);
- ``train.csv``: the training rows with the label column; ``background.csv``: 200 of them, features only;
- ``schema.json``: the inferred feature schema with the labels, classes and adverse class;
- ``metrics.json``: the held-out AUC; ``applicant.json``: one held-out applicant as entered;
- ``reason_codes.yaml`` (the synthetic example): its reason-code map.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import skops.io

from xai_gov.registry.schema import FeatureSchema

BACKGROUND_ROWS = 200


@dataclass(frozen=True)
class ExportedExample:
    directory: Path
    files: tuple[str, ...]
    trusted_types: tuple[str, ...]
    adverse_class: str
    protected: tuple[str, ...]


def export_example(directory: Path, example: str = "german") -> ExportedExample:
    """Train the example (fixed seeds) and write its files into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    if example == "german":
        from xai_gov.datasets.german_credit import BAD, TARGET
        from xai_gov.examples.credit_model import TRUSTED_TYPES, trained

        model: Any = trained()
        trusted: tuple[str, ...] = TRUSTED_TYPES
        protected: tuple[str, ...] = ()
        adverse, target = BAD, TARGET
        labels: dict[str, str] = {}
        class_labels = None
    elif example == "synthetic":
        from xai_gov.datasets.synthetic_credit import LABELS, TARGET
        from xai_gov.examples import synthetic_model

        model = synthetic_model.trained()
        adverse, target, trusted = synthetic_model.ADVERSE_CLASS, TARGET, synthetic_model.TRUSTED_TYPES
        protected, labels, class_labels = synthetic_model.PROTECTED, LABELS, synthetic_model.CLASS_LABELS
        shutil.copyfile(synthetic_model.reason_codes_path(), directory / "reason_codes.yaml")
    else:
        raise ValueError(f"unknown example {example!r}: german or synthetic")
    X, y = model.X_train, model.y_train.astype(str)
    (directory / "model.skops").write_bytes(skops.io.dumps(model.pipeline))
    X.assign(**{target: y}).to_csv(directory / "train.csv", index=False)
    X.sample(n=min(BACKGROUND_ROWS, len(X)), random_state=0).sort_index().to_csv(directory / "background.csv",
                                                                                 index=False)
    schema = FeatureSchema.infer(X, y, adverse_class=adverse, labels=labels, target=target)
    document = schema.to_dict() | ({"class_labels": class_labels} if class_labels else {})
    (directory / "schema.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    (directory / "metrics.json").write_text(json.dumps({"auc": round(model.auc, 4)}) + "\n", encoding="utf-8")
    row = model.X_test.iloc[0]
    applicant = {k: (None if isinstance(v, float) and np.isnan(v) else v.item() if hasattr(v, "item") else v)
                 for k, v in row.items()}
    (directory / "applicant.json").write_text(json.dumps(applicant, indent=2) + "\n", encoding="utf-8")
    files = tuple(sorted(p.name for p in directory.iterdir()))
    return ExportedExample(directory, files, tuple(trusted), adverse, tuple(protected))


__all__ = ["ExportedExample", "export_example"]
